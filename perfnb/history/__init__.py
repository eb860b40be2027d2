"""Performance history: every run's key numbers in a database, trends and steps across runs, a CI gate.

``perfnb report`` and ``perfnb run`` record each run into ``<output-dir>/history.sqlite`` (or the
PostgreSQL database named by ``--history-url-env``); ``perfnb history`` prints the series and their steps;
the ``history-regression`` rule (HI001) fails CI when the newest runs sit after a real step.

Entry points: :class:`History`, :class:`HistorySeries`, :class:`Measurement`.
"""

from __future__ import annotations

from perfnb.history.measure import Measurement
from perfnb.history.series import HistorySeries
from perfnb.history.store import History, RecordResult

__all__ = ["History", "HistorySeries", "Measurement", "RecordResult"]
