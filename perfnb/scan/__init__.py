"""Streaming and Dask scans of large inputs: :func:`scan_loadtest` and :func:`scan_metrics`.

This layer sits above :mod:`perfnb.io` (it reads partitions with the readers' helpers) and
:mod:`perfnb.analysis` (it builds mergeable aggregates), below rules, plots and reports.
"""

from __future__ import annotations
