"""Reader for the Chrome Trace Event format (py-spy ``chrometrace``, VizTracer, hand-made traces).

Both containers are read: a JSON array of events (its closing ``]`` may be missing, as the format allows;
``meta["repaired_unclosed_array"]`` records it) and an object with ``traceEvents``. Only duration events
become time: ``B``/``E`` pairs and ``X`` complete events (``ts`` + ``dur`` or ``tdur``, any order; equal
``ts`` puts the longer one first). ``ts`` is in microseconds. Each ``(pid, tid)`` is a thread, named by
``M`` ``thread_name`` metadata when present. ``X`` events that overlap without nesting are a
:class:`~perfnb.errors.FormatError`; ``B`` frames still open at the end are closed at the last timestamp
and counted in ``meta["unclosed_frames"]``; ``E`` events with no open frame in ``meta["unmatched_ends"]``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import ensure_path, guard_reader, register_format
from perfnb.io.profiles._json import load_json
from perfnb.io.profiles._tree import StackTree
from perfnb.model.profile import Frame, Profile, profile_run_label
from perfnb.units import us_to_s

__all__ = ["read_chrome_trace", "sniff_chrome_trace"]

_NAMED = re.compile(r"^(.*) \((.*?):(\d+)\)$")


def sniff_chrome_trace(path: Path, head: bytes) -> bool:
    """An object with ``traceEvents``, or an array whose first object has ``ph`` and ``ts``."""
    h = head.lstrip()[:8192]
    if h[:1] == b"{":
        return b'"traceEvents"' in h
    return h[:1] == b"[" and b'"ph"' in h and (b'"ts"' in h or b'"M"' in h)


def _frame(ev: dict[str, Any]) -> Frame:
    name = ev.get("name")
    name = name if isinstance(name, str) else str(name)
    raw_args = ev.get("args")
    args: dict[str, Any] = raw_args if isinstance(raw_args, dict) else {}
    raw_file, raw_line = args.get("filename"), args.get("line")
    file: str = raw_file if isinstance(raw_file, str) else ""
    line: int = raw_line if isinstance(raw_line, int) else 0
    if not file:
        m = _NAMED.match(name)
        if m is not None:
            return Frame(m.group(1), m.group(2), int(m.group(3)))
    return Frame(name, file, line)


def _num(ev: dict[str, Any], name: str) -> float | None:
    v = ev.get(name)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


@register_format(
    "chrome_trace",
    description="Chrome Trace Event JSON (py-spy chrometrace, VizTracer)",
    kind="profile",
    sniff=sniff_chrome_trace,
    priority=35,
)
@guard_reader
def read_chrome_trace(path: str | os.PathLike[str], *, run: str | None = None) -> Profile:
    """Read a Chrome trace; ``B``/``E`` and ``X`` events become stacks per thread.

    Parameters
    ----------
    path
        The trace (``.json``).
    run
        Run label; default the file stem.
    """
    p = ensure_path(path)
    doc, repaired = load_json(p, what="a Chrome trace (JSON)", allow_unclosed_array=True)
    events = doc.get("traceEvents") if isinstance(doc, dict) else doc
    if not isinstance(events, list):
        raise FormatError(
            "not a Chrome trace",
            path=p,
            key="$.traceEvents",
            expected="a JSON array of events or an object with 'traceEvents'",
        )
    names: dict[tuple[Any, Any], str] = {}
    per_thread: dict[tuple[Any, Any], list[tuple[float, int, float, int, str, Frame | None]]] = {}
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise FormatError("event {found} is not an object", path=p, key=f"$[{i}]", found=ev)
        ph = ev.get("ph")
        tid = (ev.get("pid"), ev.get("tid"))
        if ph == "M" and ev.get("name") == "thread_name":
            args = ev.get("args")
            if isinstance(args, dict) and isinstance(args.get("name"), str):
                names[tid] = args["name"]
            continue
        if ph not in ("B", "E", "X"):
            continue
        ts = _num(ev, "ts")
        if ts is None:
            raise FormatError(
                "missing or non-numeric 'ts'",
                path=p,
                key=f"$[{i}]",
                expected="a timestamp in microseconds",
            )
        lst = per_thread.setdefault(tid, [])
        if ph == "B":
            lst.append((ts, 1, 0.0, i, "B", _frame(ev)))
        elif ph == "E":
            lst.append((ts, 0, 0.0, i, "E", None))
        else:
            dur = _num(ev, "dur")
            if dur is None:
                dur = _num(ev, "tdur")
            if dur is None or dur < 0:
                raise FormatError(
                    "'X' event without a valid 'dur'",
                    path=p,
                    key=f"$[{i}]",
                    expected="'dur' >= 0 microseconds",
                )
            if dur == 0:
                continue
            fr = _frame(ev)
            lst.append((ts, 1, -dur, i, "XB", fr))
            lst.append((ts + dur, 0, -ts, i, "XE", fr))
    tree = StackTree()  # one step per event: linear in depth (see _tree)
    unclosed = unmatched = 0
    for tid, evs in per_thread.items():
        evs.sort(key=lambda e: (e[0], e[1], e[2], e[3]))
        thread = names.get(tid) or f"{tid[0]}:{tid[1]}"
        root = tree.root(thread)
        stack: list[tuple[int, int]] = []  # (tree node, index of the 'X' event or -1)
        last: float | None = None
        for ts, _rank, _tb, idx, kind, ev_frame in evs:
            if stack and last is not None and ts > last:
                tree.add(stack[-1][0], ts - last)
            last = ts
            if kind in ("B", "XB") and ev_frame is not None:
                node = tree.child(stack[-1][0] if stack else root, ev_frame)
                stack.append((node, idx if kind == "XB" else -1))
            elif kind == "XE":
                if not stack or stack[-1][1] != idx:
                    raise FormatError(
                        "'X' events overlap without nesting",
                        path=p,
                        key=f"$[{idx}]",
                        expected="complete events that nest within each other",
                    )
                stack.pop()
            elif stack:
                stack.pop()
            else:
                unmatched += 1
        unclosed += len(stack)
    if not any(w > 0 for w in tree.weight):
        raise EmptyInputError(
            "trace holds no duration events with time", path=p, expected="'B'/'E' or 'X' events"
        )
    prof = tree.to_profile(
        source="chrome_trace", run=profile_run_label(p, run), path=p, time_per_unit_s=us_to_s(1.0)
    )
    prof.meta.update(
        repaired_unclosed_array=repaired,
        unclosed_frames=unclosed,
        unmatched_ends=unmatched,
        threads=len(per_thread),
    )
    return prof
