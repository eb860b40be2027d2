"""perfnb: performance evidence from every common tool, in pandas, with findings and notebook reports.

``perfnb.read(path)`` sniffs any supported file (profiles, query plans, load tests, metrics, web vitals,
caches) and returns a loaded object; ``perfnb.check(obj)`` runs every rule that applies and returns
:class:`Findings`. Per-format readers (``perfnb.read_pstats`` …) are re-exported here; analyses live in
``perfnb.analysis``, figures in ``perfnb.plot``, notebook running and rendering in ``perfnb.report``, live
sources in ``perfnb.postgres``, ``perfnb.prometheus`` and ``perfnb.cache``.
"""

from __future__ import annotations

from perfnb import _moved, cache, errors, postgres, prometheus, report
from perfnb._version import __version__
from perfnb.analysis.compare import compare_loadtests, compare_plans, compare_profiles
from perfnb.analysis.trends import change_points
from perfnb.analysis.vitals import VitalsAssessment
from perfnb.errors import PerfnbError
from perfnb.findings import Finding, Findings, Severity, check
from perfnb.io._common import read
from perfnb.io.auto_explain import read_auto_explain
from perfnb.io.crux import read_crux
from perfnb.io.explain import Plan, read_explain, read_plan, read_plans
from perfnb.io.gatling import read_gatling
from perfnb.io.grafana import read_grafana
from perfnb.io.jmeter import read_jmeter
from perfnb.io.k6 import read_k6
from perfnb.io.lighthouse import LighthouseReport, read_lighthouse
from perfnb.io.loadtests import read_loadtest
from perfnb.io.locust import read_locust
from perfnb.io.memcached import read_memcached_stats
from perfnb.io.pg_stat_statements import read_pg_stat_statements
from perfnb.io.profiles import (
    Profile,
    read_chrome_trace,
    read_folded,
    read_line_profile,
    read_line_profile_text,
    read_memray,
    read_mprof,
    read_profile,
    read_pstats,
    read_pyinstrument,
    read_speedscope,
)
from perfnb.io.prometheus import Metrics, read_exposition, read_prometheus
from perfnb.io.redis import CacheStats, read_redis_info
from perfnb.io.rum import read_rum
from perfnb.io.tidy_metrics import read_metrics, read_tidy_metrics
from perfnb.model.loadtest import LoadTest, concat_loadtests
from perfnb.scan.loadtest import scan_loadtest
from perfnb.scan.metrics import scan_metrics
from perfnb.scan.plans import scan_auto_explain

__all__ = [
    "CacheStats",
    "Finding",
    "Findings",
    "LighthouseReport",
    "LoadTest",
    "Metrics",
    "PerfnbError",
    "Plan",
    "Profile",
    "Severity",
    "VitalsAssessment",
    "__version__",
    "cache",
    "change_points",
    "check",
    "compare_loadtests",
    "compare_plans",
    "compare_profiles",
    "concat_loadtests",
    "errors",
    "load_ipython_extension",
    "postgres",
    "prometheus",
    "read",
    "read_auto_explain",
    "read_chrome_trace",
    "read_crux",
    "read_explain",
    "read_exposition",
    "read_folded",
    "read_gatling",
    "read_grafana",
    "read_jmeter",
    "read_k6",
    "read_lighthouse",
    "read_line_profile",
    "read_line_profile_text",
    "read_loadtest",
    "read_locust",
    "read_memcached_stats",
    "read_memray",
    "read_metrics",
    "read_mprof",
    "read_pg_stat_statements",
    "read_plan",
    "read_plans",
    "read_profile",
    "read_prometheus",
    "read_pstats",
    "read_pyinstrument",
    "read_redis_info",
    "read_rum",
    "read_speedscope",
    "read_tidy_metrics",
    "report",
    "scan_auto_explain",
    "scan_loadtest",
    "scan_metrics",
]


# the models' conveniences (profile.hotspots(), plan.plot(), lt.check() …), bound from above
from perfnb import _bind


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext perfnb``: register perfnb's IPython helpers (imported lazily)."""
    from perfnb.ipython import load

    load(ipython)
