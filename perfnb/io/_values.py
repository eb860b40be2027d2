"""Checking the values readers convert: finite numbers, durations that cannot be negative, timestamps in range.

Library conversions fail on edge values in ways that name neither file nor line (``OverflowError`` for a
40-digit integer, ``OutOfBoundsDatetime`` for an epoch in the year 8 million, ``IntCastingNaNError`` for
``inf``) or, worse, accept them (a response time of ``-351`` ms, ``NaN``). These helpers convert with
``errors="coerce"`` and then report every value that is not usable as a bad row of
:class:`~perfnb.io._common.BadLines`, so ``on_bad_lines`` decides: raise with file and line, or skip and
count the row with its real line number.

Entry points: :func:`numbers`, :func:`epoch_to_utc`, :func:`drop_bad_requests`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import BadLines

__all__ = [
    "bad_numbers",
    "counts",
    "csv_rows",
    "drop_bad_requests",
    "drop_rows",
    "epoch_to_utc",
    "numbers",
]

#: pandas' ``datetime64[ns]`` ends in April 2262; a tool's clock never starts before 1970.
_EPOCH_MAX_S = 9.2e9
_UNIT_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def numbers(values: Any) -> np.ndarray:
    """*values* as float64, anything unreadable (text, ``1e999`` overflow is kept as ``inf``) as NaN."""
    out = pd.to_numeric(pd.Series(values, copy=False), errors="coerce")
    return np.asarray(out, dtype="float64")


def counts(values: Any) -> pd.Series:
    """Whole numbers (bytes, users) as nullable ``Int64``: text, ±inf, NaN, negative or > 2⁵³ become NA.

    ``astype("Int64")`` raises ``TypeError``/``IntCastingNaNError`` for ``1e999`` or a 40-digit value;
    an optional count that cannot be one is missing, not a reason to reject the row.
    """
    num = numbers(values)
    ok = np.isfinite(num) & (num >= 0) & (num < 2.0**53)
    return pd.Series(
        pd.arrays.IntegerArray(np.where(ok, np.round(np.where(ok, num, 0)), 0).astype("int64"), ~ok)
    )


def epoch_to_utc(values: Any, unit: Literal["s", "ms", "us", "ns"]) -> pd.Series:
    """Epoch numbers in *unit* as UTC timestamps; NaN, infinite and out-of-range values become NaT.

    ``pd.to_datetime(unit=...)`` raises ``OutOfBoundsDatetime`` for one value past 2262; here that row
    becomes NaT, which :func:`drop_bad_requests` reports with its line.
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":  # exact: integer milliseconds stay exact nanoseconds
        factor = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
        ok = (arr >= 0) & (arr < int(_EPOCH_MAX_S * 1e9) // factor)
        ns = np.where(ok, arr, 0).astype("int64") * factor
    else:
        seconds = numbers(values) * _UNIT_S[unit]
        ok = np.isfinite(seconds) & (seconds >= 0) & (seconds < _EPOCH_MAX_S)
        ns = np.where(ok, np.round(np.where(ok, seconds, 0) * 1e9), 0).astype("int64")
    ts = pd.to_datetime(ns, unit="ns", utc=True)
    return pd.Series(ts, copy=False).where(ok)


def drop_bad_requests(
    df: pd.DataFrame,
    bad: BadLines,
    lines: Sequence[int] | np.ndarray | Callable[[int], int] | None = None,
    *,
    first_line: int = 2,
) -> pd.DataFrame:
    """Report rows of a ``loadtest_requests`` frame whose timestamp or response time is unusable.

    A missing or out-of-range timestamp, and a response time that is NaN, infinite or negative
    (JMeter ``elapsed=-351``) are bad rows: :class:`FormatError` in ``"error"`` mode, otherwise skipped
    and recorded with their line number. *lines* gives the line of each row; without it row *i* is
    line ``first_line + i``; a callable maps the row index to its line.

    Returns
    -------
    DataFrame
        *df* without the bad rows (the same object when there are none).
    """
    rt = np.asarray(df["response_time_s"], dtype="float64")
    ts_missing = np.asarray(df["timestamp"].isna())
    rt_bad = ~np.isfinite(rt) | (rt < 0)
    mask = ts_missing | rt_bad
    if not mask.any():
        return df
    where = np.flatnonzero(mask)
    for i in (int(k) for k in where):
        if lines is None:
            line = first_line + i
        else:
            line = int(lines(i)) if callable(lines) else int(lines[i])
        if ts_missing[i]:
            bad.add(
                line,
                "timestamp is missing or out of range",
                expected="a time between 1970 and 2262",
            )
        else:
            bad.add(
                line,
                "response time is not a finite, non-negative number",
                found=float(rt[i] * 1000.0),
                expected="milliseconds ≥ 0",
            )
    out: pd.DataFrame = df[~mask].reset_index(drop=True)
    return out


def csv_rows(
    text: str, path: Path, bad: BadLines, *, delimiter: str = ",", what: str = "a CSV file"
) -> pd.DataFrame:
    """The rows of a CSV text as text columns, indexed by the line each row starts on.

    A row with more or fewer fields than the header is a bad row (``on_bad_lines``) with its real line
    number: never padded with NaN, never dropped uncounted. Blank lines are skipped; CR-only line ends
    are line ends; a field over the csv module's limit is a :class:`FormatError` with its line.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise EmptyInputError("file is empty", path=path, expected=what)
        start = reader.line_num + 1
        rows: list[list[str]] = []
        lines: list[int] = []
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or row == [""]:
                continue
            if len(row) != len(header):
                bad.add(
                    line,
                    f"row has {len(row)} fields, the header {len(header)}",
                    found=delimiter.join(row),
                )
                continue
            rows.append(row)
            lines.append(line)
    except csv.Error as err:
        raise FormatError(f"not a valid CSV row ({err})", path=path, line=start) from err
    if rows:
        df = pd.DataFrame(rows, columns=header, dtype=object)
    else:
        df = pd.DataFrame(columns=header, dtype=object)
    df.index = pd.Index(lines, dtype="int64")
    return df


def bad_numbers(
    df: pd.DataFrame,
    column: str,
    bad: BadLines,
    *,
    nonnegative: bool = True,
    na: tuple[str, ...] = ("", "N/A", "NaN", "nan", "null", "NULL"),
    unit: str = "",
) -> np.ndarray:
    """Mask of the rows whose *column* holds garbage, ±inf or (with *nonnegative*) a negative number.

    Each is reported to *bad* with its line (the frame's index, as :func:`csv_rows` makes it). Cells in
    *na* are missing values, not garbage.
    """
    raw = df[column].astype("string").str.strip()
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    missing = raw.isna().to_numpy() | raw.isin(na).fillna(False).to_numpy(dtype=bool)
    garbage = np.isnan(num) & ~missing
    edge = np.isinf(num) | (num < 0 if nonnegative else np.zeros(len(num), dtype=bool))
    mask: np.ndarray = np.asarray(garbage | edge, dtype=bool)
    for i in np.flatnonzero(mask):
        bad.add(
            int(df.index[int(i)]),
            f"column {column!r} is {'not a number' if garbage[i] else 'out of range'}",
            found=raw.iloc[int(i)],
            expected=("a finite number ≥ 0" if nonnegative else "a finite number") + unit,
        )
    return mask


def drop_rows(df: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """*df* without the rows of *mask* (the same object when none)."""
    if not mask.any():
        return df
    out: pd.DataFrame = df[~mask]
    return out
