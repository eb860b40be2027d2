"""perfnb: performance evidence from every common tool, in pandas, with findings and notebook reports.

``perfnb.read(path)`` sniffs any supported file (profiles, query plans, load tests, metrics, web vitals,
caches) and returns a loaded object; ``perfnb.check(obj)`` runs every rule that applies and returns
:class:`Findings`. Per-format readers (``perfnb.read_pstats`` …) are re-exported here; analyses live in
``perfnb.analysis``, figures in ``perfnb.plot``, notebook running and rendering in ``perfnb.report``.
"""

from __future__ import annotations

from perfnb import errors, report
from perfnb._version import __version__
from perfnb.errors import PerfnbError
from perfnb.findings import Finding, Findings, Severity, check
from perfnb.io._common import read

_core_all = [
    "Finding",
    "Findings",
    "PerfnbError",
    "Severity",
    "__version__",
    "check",
    "errors",
    "load_ipython_extension",
    "read",
    "report",
]

# Each data source adds one block below: its imports and a `_<domain>_all` list of the names it exports.
# (One block per domain keeps the source issues' edits apart.)

# --- profiles -------------------------------------------------------------------------------------
_profiles_all: list[str] = []

# --- query plans ----------------------------------------------------------------------------------
_plans_all: list[str] = []

# --- load tests -----------------------------------------------------------------------------------
_loadtests_all: list[str] = []

# --- metrics --------------------------------------------------------------------------------------
_metrics_all: list[str] = []

# --- web vitals and caches ------------------------------------------------------------------------
_vitals_all: list[str] = []

__all__ = sorted(
    [*_core_all, *_profiles_all, *_plans_all, *_loadtests_all, *_metrics_all, *_vitals_all]
)


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext perfnb``: register perfnb's IPython helpers (imported lazily)."""
    from perfnb.ipython import load

    load(ipython)
