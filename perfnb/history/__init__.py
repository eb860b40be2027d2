"""Performance history: every run's key numbers in a database, trends and steps across runs, a CI gate.

``perfnb report`` and ``perfnb run`` record each run into ``<output-dir>/history.sqlite`` (or the
PostgreSQL database named by ``--history-url-env``); ``perfnb history`` prints the series and their steps;
the ``history-regression`` rule (HI001) fails CI when the newest runs sit after a real step.

Modules: :mod:`~perfnb.history.series` (one measurement across runs; what the rule reads, analysis
level), :mod:`~perfnb.history.measure` (what a run records), :mod:`~perfnb.history.db` (schema and
migrations), :mod:`~perfnb.history.store` (:class:`History`), :mod:`~perfnb.history.importer` (report
folders), :mod:`~perfnb.history.views` (index sparklines, Plotly figure), :mod:`~perfnb.history.cli`.
The names below load on first use, so the rule module can import :mod:`~perfnb.history.series` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfnb.history.measure import Measurement
    from perfnb.history.series import HistorySeries
    from perfnb.history.store import History, RecordResult

__all__ = ["History", "HistorySeries", "Measurement", "RecordResult"]

_WHERE = {
    "History": "perfnb.history.store",
    "RecordResult": "perfnb.history.store",
    "HistorySeries": "perfnb.history.series",
    "Measurement": "perfnb.history.measure",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'perfnb.history' has no attribute {name!r}")
