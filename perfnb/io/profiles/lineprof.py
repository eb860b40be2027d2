"""Readers for line_profiler output: the ``.lprof`` pickle (``kernprof -l``) and its text report.

Both give one row per profiled line (:data:`PROFILE_LINES`). ``.lprof`` files are pickles; they are read
with a restricted unpickler that only rebuilds ``line_profiler``'s ``LineStats`` from plain data and refuses
any other class, so opening an untrusted file cannot run code. line_profiler itself is not needed. The text
report (``python -m line_profiler file.lprof``, without ``-r``) also carries the source of each line.
"""

from __future__ import annotations

import io
import os
import pickle
import re
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from perfnb.errors import EmptyInputError, FormatError, InputError
from perfnb.io._common import (
    ensure_path,
    guard_reader,
    read_bytes,
    read_text,
    register_format,
)
from perfnb.model.profile import profile_run_label
from perfnb.schema import PROVENANCE, Column, Schema, register

__all__ = ["PROFILE_LINES", "read_line_profile", "read_line_profile_text"]

PROFILE_LINES = register(
    Schema(
        "profile_lines",
        (
            Column("file", "string", doc="Source file."),
            Column("function", "string", doc="Profiled function."),
            Column("function_line", "Int64", doc="The function's first line."),
            Column("line", "int64", doc="Line number."),
            Column("hits", "int64", doc="Times the line ran."),
            Column("time_s", "float64", unit="s", doc="Time on this line."),
            Column("per_hit_s", "float64", unit="s", doc="time_s / hits."),
            Column("time_ratio", "float64", unit="ratio", doc="Share of the function's time."),
            Column("total_ratio", "float64", unit="ratio", doc="Share of all profiled time."),
            Column("contents", "string", required=False, doc="Source text (text reports only)."),
            *PROVENANCE,
        ),
        doc="line_profiler (kernprof -l) results, one row per line that ran.",
    )
)


class _LineStats:
    """Stand-in for ``line_profiler.LineStats``: only its data (``timings``, ``unit``)."""

    timings: dict[Any, Any]
    unit: float


class _Unpickler(pickle.Unpickler):
    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("line_profiler.line_profiler", "LineStats"),
        ("line_profiler", "LineStats"),
        ("line_profiler._line_profiler", "LineStats"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return _LineStats
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _frame(rows: list[dict[str, Any]], label: str) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    total = df["time_s"].sum()
    func_total = df.groupby(["file", "function", "function_line"], dropna=False)[
        "time_s"
    ].transform("sum")
    df["per_hit_s"] = df["time_s"] / df["hits"].where(df["hits"] > 0)
    df["time_ratio"] = (df["time_s"] / func_total.where(func_total > 0)).fillna(0.0)
    df["total_ratio"] = df["time_s"] / total if total > 0 else 0.0
    df["source"] = "line_profiler"
    df["run"] = label
    return PROFILE_LINES.conform(df)


def _sniff_lprof(path: Path, head: bytes) -> bool:
    return head[:1] == b"\x80" and b"line_profiler" in head[:200] and b"LineStats" in head[:200]


@register_format(
    "line_profiler",
    description="line_profiler .lprof (kernprof -l)",
    kind="profile",
    sniff=_sniff_lprof,
    priority=25,
)
@guard_reader
def read_line_profile(path: str | os.PathLike[str], *, run: str | None = None) -> pd.DataFrame:
    """Read a ``.lprof`` file into a per-line table (:data:`PROFILE_LINES`).

    Raises
    ------
    FormatError
        If the file is not a line_profiler pickle (other classes are refused, never instantiated).
    """
    p = ensure_path(path)
    try:
        data = read_bytes(p, text=False)
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror}", path=p) from err
    if not data:
        raise EmptyInputError("file is empty", path=p, expected="a .lprof file")
    try:
        stats = _Unpickler(io.BytesIO(data)).load()
        timings = stats.timings
        unit = float(stats.unit)
        rows = []
        for (file, fline, func), lines in timings.items():
            for lineno, hits, t in lines:
                rows.append(
                    {
                        "file": str(file),
                        "function": str(func),
                        "function_line": int(fline),
                        "line": int(lineno),
                        "hits": int(hits),
                        "time_s": float(t) * unit,
                    }
                )
    except Exception as err:  # pickle can raise nearly anything on corrupt input
        raise FormatError(
            f"not a line_profiler .lprof file ({type(err).__name__}: {err})",
            path=p,
            expected="the output of kernprof -l",
        ) from err
    if not rows:
        raise EmptyInputError("no profiled line ran", path=p)
    return _frame(rows, profile_run_label(p, run))


_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+([-+\d.eE]+)\s+([-+\d.eE]+)\s+([\d.]+)\s?(.*)$")


def _sniff_text(path: Path, head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"Timer unit:") and b"Line #" in head


@register_format(
    "line_profiler_text",
    description="line_profiler text report",
    kind="profile",
    sniff=_sniff_text,
    priority=25,
)
@guard_reader
def read_line_profile_text(path: str | os.PathLike[str], *, run: str | None = None) -> pd.DataFrame:
    """Read a line_profiler text report (``python -m line_profiler x.lprof``) into :data:`PROFILE_LINES`."""
    p = ensure_path(path)
    text = read_text(p)
    unit: float | None = None
    file = func = ""
    fline = 0
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("Timer unit:"):
            try:
                unit = float(line.split(":", 1)[1].split()[0])
            except (ValueError, IndexError) as err:
                raise FormatError("bad timer unit {found}", path=p, line=n, found=line) from err
        elif line.startswith("File:"):
            file = line[5:].strip()
        elif line.startswith("Function:"):
            m = re.match(r"Function:\s*(.*?) at line (\d+)", line)
            if m is None:
                raise FormatError("bad function line {found}", path=p, line=n, found=line)
            func, fline = m.group(1), int(m.group(2))
        else:
            m = _ROW.match(line)
            if m is None or not func:
                continue
            if unit is None:
                raise FormatError("row before 'Timer unit:'", path=p, line=n)
            rows.append(
                {
                    "file": file,
                    "function": func,
                    "function_line": fline,
                    "line": int(m.group(1)),
                    "hits": int(m.group(2)),
                    "time_s": float(m.group(3)) * unit,
                    "contents": m.group(6),
                }
            )
    if unit is None:
        raise FormatError(
            "not a line_profiler report", path=p, expected="a first line 'Timer unit: …'"
        )
    if not rows:
        raise EmptyInputError("no profiled line ran", path=p)
    return _frame(rows, profile_run_label(p, run))
