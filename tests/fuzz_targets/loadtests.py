"""Fuzz targets for the load-test readers (Locust CSV/JSON/request log, JMeter CSV/XML, k6, Gatling).

Locust and k6 samples are real runs made here (data/samples/loadtests); JMeter and Gatling cannot run on
this machine, so their targets use the real files of the shared corpus (skipped when it is absent). The
streaming engine (``scan_loadtest`` in small partitions) and the lazy JMeter read are fuzzed too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfnb.io import jmeter
from perfnb.io.gatling import read_gatling
from perfnb.io.jmeter import read_jmeter
from perfnb.io.k6 import read_k6_csv, read_k6_json, read_k6_summary
from perfnb.io.locust import read_locust, read_locust_json, read_locust_requests
from perfnb.io.scan import scan_loadtest
from tests.conftest import CORPUS, SAMPLES
from tests.fuzz_targets._base import FuzzTarget

LT = SAMPLES / "loadtests"
C = CORPUS / "loadtests"


def _streamed(path: Path, **kw: Any) -> None:
    """The streaming engine in 4 kB partitions: summary and intervals of the mutated file."""
    lt = scan_loadtest(path, chunk_bytes=4096, **kw)
    lt.summary()
    lt.intervals()


def _lazy_jmeter(path: Path, **kw: Any) -> None:
    """read_jmeter's large-file path (summary columns first, the rest on access)."""
    old, jmeter.LAZY_BYTES = jmeter.LAZY_BYTES, 0
    try:
        lt = read_jmeter(path, **kw)
        lt.summary()
        _ = lt.requests
    finally:
        jmeter.LAZY_BYTES = old


TARGETS = [
    FuzzTarget(
        format="locust_csv",
        reader=read_locust,
        samples=(LT / "step" / "run_stats.csv", LT / "steady" / "run_stats_history.csv"),
    ),
    FuzzTarget(
        format="locust_dir", reader=read_locust, samples=(LT / "slow" / "run_stats_history.csv",)
    ),
    FuzzTarget(
        format="locust_requests",
        reader=read_locust_requests,
        samples=(LT / "steady" / "run_requests.csv",),
    ),
    FuzzTarget(format="locust_json", reader=read_locust_json, samples=(LT / "step" / "run.json",)),
    FuzzTarget(
        format="jmeter_csv",
        reader=read_jmeter,
        samples=(
            C / "jmeter" / "apache_jmeter_HTMLReportTestFile.csv",
            C / "jmeter" / "defra_rcr_result_datefmt.jtl",
        ),
    ),
    FuzzTarget(
        format="jmeter_xml",
        reader=read_jmeter,
        samples=(C / "jmeter" / "apache_jmeter_sample_log1c_xml.jtl",),
    ),
    FuzzTarget(
        format="k6_csv",
        reader=read_k6_csv,
        samples=(C / "k6" / "finance_2024_csv_and_json" / "k6-results.csv", LT / "k6" / "run.csv"),
    ),
    FuzzTarget(
        format="k6_json",
        reader=read_k6_json,
        samples=(
            C / "k6" / "finance_2024_csv_and_json" / "k6-results.json",
            LT / "k6" / "run.json",
        ),
    ),
    FuzzTarget(
        format="k6_summary",
        reader=read_k6_summary,
        samples=(C / "k6" / "qr_code_generator_summary-export_custom_trendstats.json",),
    ),
    FuzzTarget(
        format="gatling_log",
        reader=read_gatling,
        samples=(
            C / "gatling" / "gatling_3.9.5_text_with_assertions_simulation.log",
            C / "gatling" / "gatling_3.14.3_binary" / "simulation.log",
        ),
    ),
    FuzzTarget(
        format="jmeter_csv",
        reader=_lazy_jmeter,
        samples=(C / "jmeter" / "apache_jmeter_HTMLReportTestFile.csv",),
    ),
    *(
        FuzzTarget(format=fmt, reader=_streamed, samples=samples)
        for fmt, samples in (
            ("jmeter_csv", (C / "jmeter" / "apache_jmeter_HTMLReportTestFile.csv",)),
            ("k6_csv", (LT / "k6" / "run.csv",)),
            ("k6_json", (LT / "k6" / "run.json",)),
        )
    ),
]
