"""Readers for memory profiles: memray ``stats --json`` and ``transform csv``, memory_profiler ``mprof`` ``.dat``.

memray outputs become allocation tables (:data:`MEMORY_ALLOCATIONS`: one row per allocation site, bytes and
allocation counts); ``mprof run`` output becomes a memory-over-time table (:data:`MEMORY_USAGE`). memray's
CSV stack traces are leaf first (``func;file;line|…``); the ``stack`` column is written root first, like the
CPU ``stacks`` table.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import (
    BadLines,
    OnBadLines,
    ensure_path,
    guard_reader,
    head_bytes,
    read_text,
    register_format,
)
from perfnb.io.profiles._json import get, load_json
from perfnb.model.profile import profile_run_label
from perfnb.schema import PROVENANCE, Column, Schema, register

__all__ = ["MEMORY_ALLOCATIONS", "MEMORY_USAGE", "read_memray", "read_mprof"]

MEMORY_ALLOCATIONS = register(
    Schema(
        "memory_allocations",
        (
            Column("function", "string", doc="Function at the allocation site (leaf)."),
            Column("file", "string", doc="Its file."),
            Column("line", "Int64", doc="Its line."),
            Column("size_bytes", "float64", unit="bytes", doc="Bytes allocated at this site."),
            Column("allocations", "Int64", doc="Number of allocations at this site."),
            Column("size_ratio", "float64", unit="ratio", doc="Share of all bytes allocated."),
            Column("allocator", "category", required=False, doc="malloc, calloc, realloc, mmap …"),
            Column("thread", "category", required=False, doc="Thread name."),
            Column("stack", "string", required=False, doc="Call stack, root first, ';'-joined."),
            *PROVENANCE,
        ),
        doc="Allocation sites from memray (stats --json top sites, or transform csv).",
    )
)

MEMORY_USAGE = register(
    Schema(
        "memory_usage",
        (
            Column("timestamp", "timestamp", doc="Sample time (UTC)."),
            Column("elapsed_s", "float64", unit="s", doc="Seconds since the first sample."),
            Column("memory_bytes", "float64", unit="bytes", doc="Resident memory."),
            *PROVENANCE,
        ),
        doc="Memory over time from memory_profiler's mprof run (.dat).",
    )
)

_MIB = 1024.0 * 1024.0


def _split_location(loc: str) -> tuple[str, str, int | None]:
    """``func:file:line`` (file may hold ':') → parts."""
    func, _, rest = loc.partition(":")
    file, _, line = rest.rpartition(":")
    if not file:
        return func, rest, None
    return func, file, int(line) if line.isdigit() else None


def _sniff_memray_json(path: Path, head: bytes) -> bool:
    return head.lstrip()[:1] == b"{" and b'"total_num_allocations"' in head


def _sniff_memray_csv(path: Path, head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"allocator,num_allocations,size,")


@register_format(
    "memray_stats",
    description="memray stats --json",
    kind="profile",
    sniff=_sniff_memray_json,
    priority=30,
)
@guard_reader
def _read_memray_stats(
    path: str | os.PathLike[str], *, run: str | None = None, on_bad_lines: OnBadLines = "error"
) -> pd.DataFrame:
    p = ensure_path(path)
    doc, _ = load_json(p, what="memray stats JSON")
    if not isinstance(doc, dict):
        raise FormatError("not memray stats (top level is not an object)", path=p)
    total = get(doc, "total_bytes_allocated", (int, float), path=p, key="$")
    sites: dict[str, dict[str, Any]] = {}
    for name, field in (("top_allocations_by_size", "size"), ("top_allocations_by_count", "count")):
        items = get(doc, name, list, path=p, key="$")
        for i, item in enumerate(items):
            key = f"$.{name}[{i}]"
            loc = get(item, "location", str, path=p, key=key)
            value = get(item, field, (int, float), path=p, key=key)
            if not 0 <= value < 2**63:  # also NaN, ±inf and 1e999
                raise FormatError(
                    "{found} is not a size or count",
                    path=p,
                    key=f"{key}.{field}",
                    found=value,
                    expected="a whole number ≥ 0",
                )
            sites.setdefault(loc, {})[field] = value
    rows = []
    for loc, vals in sites.items():
        func, file, line = _split_location(loc)
        rows.append(
            {
                "function": func,
                "file": file,
                "line": line,
                "size_bytes": vals.get("size"),
                "allocations": vals.get("count"),
            }
        )
    if not rows:
        raise EmptyInputError("memray stats list no allocation sites", path=p)
    df = pd.DataFrame(rows)
    df["size_ratio"] = df["size_bytes"] / total if total else float("nan")
    df["source"] = "memray"
    df["run"] = profile_run_label(p, run)
    out = MEMORY_ALLOCATIONS.conform(df)
    out.attrs["perfnb"] = {
        "total_bytes_allocated": total,
        "total_num_allocations": doc.get("total_num_allocations"),
    }
    return out


@register_format(
    "memray_csv",
    description="memray transform csv",
    kind="profile",
    sniff=_sniff_memray_csv,
    priority=30,
)
@guard_reader
def _read_memray_csv(
    path: str | os.PathLike[str], *, run: str | None = None, on_bad_lines: OnBadLines = "error"
) -> pd.DataFrame:
    p = ensure_path(path)
    text = read_text(p)
    bad = BadLines(on_bad_lines, path=p)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    need = {"allocator", "num_allocations", "size", "stack_trace"}
    if not need <= set(reader.fieldnames or ()):
        raise FormatError(
            "not a memray CSV", path=p, line=1, expected="columns " + ", ".join(sorted(need))
        )
    rows = []
    line = 2
    records = iter(reader)
    while True:
        try:
            rec = next(records)
        except StopIteration:
            break
        except csv.Error as err:  # a field over 128 KiB, a stray quote
            raise FormatError(f"not a valid CSV row ({err})", path=p, line=line) from err
        n, line = line, reader.line_num + 1
        try:
            if None in rec or any(v is None for v in rec.values()):
                raise ValueError("wrong number of fields")
            frames = [f.split(";") for f in (rec["stack_trace"] or "").split("|") if f]
            leaf = frames[0] if frames else ["<unknown>", "", ""]
            size = float(rec["size"])
            count = int(rec["num_allocations"])
            if not (0 <= size < float("inf")) or not 0 <= count < 2**63:
                raise ValueError(f"size {rec['size']!r} or count {rec['num_allocations']!r}")
            rows.append(
                {
                    "function": leaf[0],
                    "file": leaf[1] if len(leaf) > 1 else "",
                    "line": int(leaf[2]) if len(leaf) > 2 and leaf[2].isdigit() else None,
                    "size_bytes": size,
                    "allocations": count,
                    "allocator": rec["allocator"],
                    "thread": rec.get("thread_name") or "",
                    "stack": ";".join(f[0] for f in reversed(frames)),
                }
            )
        except (ValueError, TypeError, AttributeError, OverflowError) as err:
            bad.add(n, f"bad memray CSV row ({err})", expected="size ≥ 0 and a whole count")
    if not rows:
        raise EmptyInputError("memray CSV has no allocation rows", path=p)
    df = pd.DataFrame(rows)
    total = df["size_bytes"].sum()
    df["size_ratio"] = df["size_bytes"] / total if total else 0.0
    df["source"] = "memray"
    df["run"] = profile_run_label(p, run)
    out = MEMORY_ALLOCATIONS.conform(df)
    bad.finish(out)
    return out


@guard_reader
def read_memray(
    path: str | os.PathLike[str], *, run: str | None = None, on_bad_lines: OnBadLines = "error"
) -> pd.DataFrame:
    """Read memray ``stats --json`` or ``transform csv`` output into :data:`MEMORY_ALLOCATIONS`.

    ``on_bad_lines`` applies to the CSV's rows (the JSON has none): ``"warn"``/``"skip"`` drop a row
    with a bad size or count and count it in ``df.attrs["perfnb"]["skipped_rows"]``.
    """
    p = ensure_path(path)
    head = head_bytes(p, 4096)
    if _sniff_memray_csv(p, head):
        return _read_memray_csv(p, run=run, on_bad_lines=on_bad_lines)
    return _read_memray_stats(p, run=run, on_bad_lines=on_bad_lines)


def _sniff_mprof(path: Path, head: bytes) -> bool:
    return head.startswith((b"CMDLINE ", b"MEM ")) and b"\nMEM " in head


@register_format(
    "mprof",
    description="memory_profiler mprof run (.dat)",
    kind="profile",
    sniff=_sniff_mprof,
    priority=30,
)
@guard_reader
def read_mprof(
    path: str | os.PathLike[str], *, run: str | None = None, on_bad_lines: OnBadLines = "error"
) -> pd.DataFrame:
    """Read ``mprof run`` output (``MEM <MiB> <unix time>`` lines) into :data:`MEMORY_USAGE`.

    A ``MEM`` line without a finite, non-negative size and a time between 1970 and 2262 is a bad row
    (``on_bad_lines``), counted in ``df.attrs["perfnb"]["skipped_rows"]`` when skipped.
    """
    p = ensure_path(path)
    text = read_text(p)
    bad = BadLines(on_bad_lines, path=p)
    mem: list[float] = []
    ts: list[float] = []
    cmd = ""
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("CMDLINE "):
            cmd = line[8:]
        elif line.startswith("MEM "):
            parts = line.split()
            try:
                size, t = float(parts[1]), float(parts[2])
            except (ValueError, IndexError):
                size = t = float("nan")
            if not (0 <= size < float("inf") and 0 <= t < 9.2e9):
                bad.add(n, "bad MEM line {found}", found=line, expected="MEM <MiB ≥ 0> <unix time>")
                continue
            mem.append(size * _MIB)
            ts.append(t)
    if not mem:
        raise EmptyInputError("no MEM samples", path=p, expected="'MEM <MiB> <unix time>' lines")
    stamps = pd.to_datetime(np.round(np.asarray(ts) * 1e6).astype("int64"), unit="us", utc=True)
    df = pd.DataFrame(
        {
            "timestamp": stamps,
            "elapsed_s": [t - ts[0] for t in ts],
            "memory_bytes": mem,
            "source": "mprof",
            "run": profile_run_label(p, run),
        }
    )
    out = MEMORY_USAGE.conform(df)
    out.attrs["perfnb"] = {"cmdline": cmd}
    bad.finish(out)
    return out
