"""Gatling ``simulation.log`` reader (text format, tab-separated, Gatling 2.x–3.12).

Records: ``RUN``, ``USER`` (START/END, for the active-user count), ``REQUEST <groups> <name> <start> <end>
OK|KO <message>``, ``GROUP``, ``ERROR``, ``ASSERTION``. Response time = end − start (ms). Gatling ≥ 3.13
writes a **binary** log; it is recognised and refused with a clear error (its layout changes with every
Gatling version; generate the HTML report with the same Gatling version instead).
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
    head_bytes,
    read_bytes,
    register_format,
    run_label,
)
from perfnb.model.loadtest import REQUESTS, LoadTest

__all__ = ["read_gatling"]


def _is_binary(head: bytes) -> bool:
    return len(head) > 6 and head[0] == 0 and head[1:4] == b"\x00\x00\x00" and b"\x00" in head[:64]


def _sniff(path: Path, head: bytes) -> bool:
    if (_is_binary(head) and b"Simulation" in head[:400]) or (
        _is_binary(head) and path.name == "simulation.log"
    ):
        return True
    first = head.split(b"\n", 1)[0]
    return first.startswith((b"RUN\t", b"ASSERTION\t")) or b"\tRUN\t" in first


def _blank_na(s: pd.Series) -> pd.Series:
    return s.mask(s == "")


#: Gatling writes epoch milliseconds; pandas' datetime64[ns] ends in April 2262.
_EPOCH_MAX_MS = 9_200_000_000_000


@register_format(
    "gatling_log",
    description="Gatling simulation.log (text, ≤ 3.12)",
    kind="loadtest",
    sniff=_sniff,
    priority=20,
)
@guard_reader
def read_gatling(
    path: str | os.PathLike[str], *, run: str | None = None, on_bad_lines: OnBadLines = "error"
) -> LoadTest:
    """Read a Gatling text ``simulation.log`` into a :class:`LoadTest`.

    Raises
    ------
    FormatError
        For a binary log (Gatling ≥ 3.13), or a malformed REQUEST record (``on_bad_lines``).
    """
    p = ensure_path(path)
    head = head_bytes(p)
    if not head.strip():
        raise EmptyInputError("file is empty", path=p, expected="a Gatling simulation.log")
    if _is_binary(head):
        size = int.from_bytes(head[1:5], "big")
        version = head[5 : 5 + size].decode("ascii", "replace") if 0 < size < 40 else ""
        raise FormatError(
            f"binary Gatling simulation.log (written by Gatling {version or '≥ 3.13'})",
            path=p,
            expected="a text simulation.log (Gatling ≤ 3.12)",
            hint="Gatling ≥ 3.13 writes a binary log only its own version can read: generate the HTML "
            "report with that Gatling version (gatling.sh -ro), or rerun with Gatling 3.12 for a text log",
        )
    label = run_label(p, run)
    bad = BadLines(on_bad_lines, path=p)
    names: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    oks: list[bool] = []
    msgs: list[str] = []
    user_ts: list[int] = []
    user_delta: list[int] = []
    assertions: list[str] = []
    text = read_bytes(p).decode("utf-8", "replace")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        f = line.split("\t")
        kind = f[0]
        if kind == "ASSERTION" and len(f) > 1:
            assertions.append(f[1])
            continue
        if kind in ("RUN", "ASSERTION", "GROUP", "ERROR"):
            continue
        if len(f) > 2 and f[2] in (
            "RUN",
            "USER",
            "REQUEST",
        ):  # Gatling 2.0-2.1: type in the 3rd column
            kind, f = f[2], [f[2], *f[3:]]
            if kind == "REQUEST":
                f = [f[0], f[1], f[2], f[3], f[6], f[7], f[8], *f[9:]] if len(f) >= 9 else f
        try:
            if kind == "REQUEST":
                start, end = int(f[3]), int(f[4])
                if f[5] not in ("OK", "KO"):
                    raise ValueError(f"status {f[5]!r}")
                if not 0 <= start <= end < _EPOCH_MAX_MS:  # a time in 1970–2262, ends ≥ starts
                    raise ValueError(f"start {f[3]!r} / end {f[4]!r} (negative duration?)")
                names.append(f[2] if not f[1] else f"{f[1]}/{f[2]}".replace(",", "/"))
                starts.append(start)
                ends.append(end)
                oks.append(f[5] == "OK")
                msgs.append(f[6].strip() if len(f) > 6 else "")
            elif kind == "USER":
                state = f[2] if f[2] in ("START", "END") else f[3]
                ts = int(f[3] if f[2] in ("START", "END") else f[-1])
                if not 0 <= ts < _EPOCH_MAX_MS:
                    raise ValueError(f"time {ts} out of range")
                user_ts.append(ts)
                user_delta.append(1 if state == "START" else -1)
            else:
                raise ValueError(f"unknown record type {kind!r}")
        except (IndexError, ValueError) as err:
            bad.add(lineno, f"malformed {kind} record: {err}", found=line[:80])
    st = np.asarray(starts, dtype="int64")  # checked to fit: no overflow
    df = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(st, unit="ms", utc=True),
            "label": names,
            "response_time_s": (np.asarray(ends, dtype="int64") - st) / 1000.0,
            "success": np.asarray(oks, dtype=bool),
            "status": np.where(np.asarray(oks, dtype=bool), "OK", "KO") if oks else [],
            "error": _blank_na(pd.Series(msgs, dtype="string")),
        }
    )
    if user_ts and len(df):
        order = np.argsort(user_ts, kind="stable")
        uts = np.asarray(user_ts)[order]
        active = np.cumsum(np.asarray(user_delta)[order])
        idx = np.searchsorted(uts, st, side="right") - 1
        df["users"] = pd.array(np.where(idx >= 0, active[np.clip(idx, 0, None)], 0), dtype="Int64")
    df["is_controller"] = False
    df["source"] = "gatling"
    df["run"] = label
    out = REQUESTS.conform(df)
    bad.finish(out)
    lt = LoadTest(out, "gatling", label, str(p))
    if assertions:  # the simulation's declared assertions (Gatling evaluates them in its report)
        from perfnb.io.gatling_assertions import decode_assertion

        lt.meta["assertions"] = [decode_assertion(a) for a in assertions]
    return lt
