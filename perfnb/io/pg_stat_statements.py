"""pg_stat_statements exports and table/index usage: normalised frames and the objects rules apply to.

Entry points: :func:`read_pg_stat_statements` (a CSV export of the view: ``COPY (SELECT * FROM
pg_stat_statements) TO STDOUT CSV HEADER``), :func:`normalize_statements` (also used by the live
:func:`perfnb.postgres.top_statements`), :class:`StatementStats`, :class:`TableUsage`.

Column names differ by version (pg_stat_statements 1.8 / PG13 renamed ``total_time`` to
``total_exec_time`` and added planning columns; 1.11 / PG17 renamed ``blk_read_time`` to
``shared_blk_read_time``). They are detected and normalised: ``total_time_s = total_exec_time +
total_plan_time`` (or the old ``total_time``), ``mean_time_s = total_time_s / calls``, ``read_time_s``
from whichever block read time exists. Values are converted from ms to seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import (
    BadLines,
    OnBadLines,
    ensure_path,
    guard_reader,
    read_text,
    register_format,
    run_label,
)
from perfnb.io._values import bad_numbers, csv_rows, drop_rows
from perfnb.model.statements import StatementStats, TableUsage

__all__ = ["StatementStats", "TableUsage", "normalize_statements", "read_pg_stat_statements"]

_NUMERIC = frozenset({"calls", "rows", "plans", "temp_blks_written", "temp_blks_read",
                      "local_blks_hit", "local_blks_read", "wal_records", "wal_bytes"})  # fmt: skip
_OUT = ["queryid", "query", "calls", "rows", "total_time_s", "mean_time_s", "exec_time_s",
        "plan_time_s", "shared_blks_hit", "shared_blks_read", "temp_blks_written", "read_time_s",
        "time_ratio"]  # fmt: skip


def _num(df: pd.DataFrame, *names: str) -> pd.Series | None:
    for n in names:
        if n in df.columns:
            return pd.to_numeric(df[n], errors="coerce")
    return None


def normalize_statements(
    raw: pd.DataFrame, *, path: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """Normalise a pg_stat_statements frame of any version to the columns in ``_OUT`` (seconds).

    Raises
    ------
    FormatError
        When ``query``/``calls`` or every total-time column is missing.
    """
    cols = set(raw.columns)
    for need in ("query", "calls"):
        if need not in cols:
            raise FormatError(
                f"missing column {need!r}",
                path=path,
                key=need,
                expected="pg_stat_statements columns",
            )
    exec_ms = _num(raw, "total_exec_time", "total_time")
    if exec_ms is None:
        raise FormatError(
            "missing 'total_exec_time' (or 'total_time' before PG13)",
            path=path,
            expected="pg_stat_statements columns",
        )
    plan_ms = _num(raw, "total_plan_time")
    out = pd.DataFrame()
    out["queryid"] = raw["queryid"].astype("string") if "queryid" in cols else pd.NA
    out["query"] = raw["query"].astype("string")
    out["calls"] = pd.to_numeric(raw["calls"], errors="coerce").astype("float64")
    rows = _num(raw, "rows")
    out["rows"] = rows if rows is not None else float("nan")
    out["exec_time_s"] = exec_ms * 1e-3
    out["plan_time_s"] = plan_ms.fillna(0) * 1e-3 if plan_ms is not None else 0.0
    out["total_time_s"] = out["exec_time_s"] + out["plan_time_s"]
    out["mean_time_s"] = out["total_time_s"] / out["calls"].where(out["calls"] > 0)
    for name in ("shared_blks_hit", "shared_blks_read", "temp_blks_written"):
        s = _num(raw, name)
        out[name] = s if s is not None else float("nan")
    rt = _num(raw, "shared_blk_read_time", "blk_read_time")
    out["read_time_s"] = rt * 1e-3 if rt is not None else float("nan")
    total = float(out["total_time_s"].sum())
    out["time_ratio"] = out["total_time_s"] / total if total > 0 else float("nan")
    return out[_OUT].reset_index(drop=True)


def _sniff(path: Path, head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return b"queryid" in first and b"calls" in first and b"query" in first


@register_format(
    "pg_stat_statements",
    description="CSV export of the pg_stat_statements view",
    kind="statements",
    sniff=_sniff,
    priority=20,
)
@guard_reader
def read_pg_stat_statements(
    path: str | os.PathLike[str],
    *,
    run: str | None = None,
    encoding: str | None = None,
    on_bad_lines: OnBadLines = "error",
) -> StatementStats:
    """Read a CSV export of pg_stat_statements (any version's columns).

    A row with the wrong number of fields, or a count/time column holding text, ±inf or a negative
    number, is a bad row (``on_bad_lines="error"`` raises with its line; ``"warn"``/``"skip"`` drop it
    and count it in ``frame.attrs["perfnb"]["skipped_rows"]``).

    Raises
    ------
    FormatError
        Not a CSV, or without the needed columns.
    EmptyInputError
        No statement rows.

    Examples
    --------
    >>> stats = read_pg_stat_statements("data/samples/plans/pg_stat_statements.csv")
    >>> "total_time_s" in stats.frame.columns
    True
    """
    p = ensure_path(path)
    text = read_text(p, encoding=encoding)
    bad = BadLines(on_bad_lines, path=p)
    raw = csv_rows(text, p, bad, what="a pg_stat_statements CSV export")
    # every numeric column is a count or a time: garbage, ±inf or negative is a bad row, never NaN
    mask = np.zeros(len(raw), dtype=bool)
    for col in raw.columns:
        if col in _NUMERIC or str(col).endswith(("_time", "_blks_hit", "_blks_read")):
            mask |= bad_numbers(raw, col, bad)
    raw = drop_rows(raw, mask)
    if raw.empty:
        raise EmptyInputError("no statement rows", path=p, expected="pg_stat_statements rows")
    raw = raw.replace({"": np.nan}).reset_index(drop=True)
    frame = normalize_statements(raw, path=p)
    stats = StatementStats(
        frame, run=run_label(p, run), columns_found=[str(c) for c in raw.columns]
    )
    bad.finish(frame)
    return stats
