"""Reader for speedscope JSON (``https://www.speedscope.app/file-format-schema.json``).

Both profile types are read: *sampled* (``samples`` root-first frame indices with ``weights``; py-spy writes
one per thread, pyinstrument and memray too) and *evented* (``O``/``C`` events with a non-decreasing ``at``).
Each profile becomes a thread. Units ``seconds``/``milliseconds``/``microseconds``/``nanoseconds`` are
converted to seconds; ``none`` and ``bytes`` weights are treated as sample counts (×``sample_interval_s``).
``null`` where a frame index or weight must be is a :class:`~perfnb.errors.FormatError` naming the key;
``null`` in optional fields (``col``, ``activeProfileIndex``: py-spy writes them) is accepted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from perfnb.errors import FormatError
from perfnb.io._common import ensure_path, guard_reader, register_format
from perfnb.io.profiles._json import get, load_json
from perfnb.io.profiles._tree import StackTree
from perfnb.model.profile import Frame, Profile, profile_run_label

__all__ = ["read_speedscope", "sniff_speedscope"]

_UNITS = {"seconds": 1.0, "milliseconds": 1e-3, "microseconds": 1e-6, "nanoseconds": 1e-9}


def sniff_speedscope(path: Path, head: bytes) -> bool:
    """A JSON object mentioning the speedscope schema, or ``shared`` frames and ``profiles``."""
    h = head.lstrip()[:4096]
    return h[:1] == b"{" and (
        b"speedscope.app/file-format-schema" in h or (b'"shared"' in h and b'"profiles"' in h)
    )


def _frames(doc: Any, p: Path) -> list[Frame]:
    shared = get(doc, "shared", dict, path=p, key="$")
    raw = get(shared, "frames", list, path=p, key="$.shared")
    out = []
    for i, fr in enumerate(raw):
        key = f"$.shared.frames[{i}]"
        name = get(fr, "name", str, path=p, key=key)
        file = fr.get("file") if isinstance(fr.get("file"), str) else ""
        line = fr.get("line")
        out.append(Frame(name, file, line if isinstance(line, int) and line > 0 else 0))
    return out


def _sampled(prof: Any, frames: list[Frame], key: str, p: Path) -> list[tuple[list[Frame], float]]:
    samples = get(prof, "samples", list, path=p, key=key)
    weights = get(prof, "weights", list, path=p, key=key)
    if len(samples) != len(weights):
        raise FormatError(
            f"{len(samples)} samples but {len(weights)} weights",
            path=p,
            key=key,
            expected="one weight per sample",
        )
    out = []
    n = len(frames)
    for i, (stack, w) in enumerate(zip(samples, weights, strict=True)):
        if not isinstance(stack, list) or not all(
            isinstance(j, int) and not isinstance(j, bool) and 0 <= j < n for j in stack
        ):
            raise FormatError(
                "sample {found} is not a list of frame indices",
                path=p,
                key=f"{key}.samples[{i}]",
                found=stack,
                expected=f"integers in 0..{n - 1}",
            )
        if not isinstance(w, int | float) or isinstance(w, bool) or w < 0:
            raise FormatError(
                "weight {found} is not a number",
                path=p,
                key=f"{key}.weights[{i}]",
                found=w,
                expected="a non-negative number",
            )
        out.append(([frames[j] for j in stack], float(w)))
    return out


def _evented(
    prof: Any, frames: list[Frame], key: str, p: Path, tree: StackTree, thread: str, factor: float
) -> None:
    """Walk the ``O``/``C`` events into *tree* (one step per event: linear in depth)."""
    events = get(prof, "events", list, path=p, key=key)
    stack: list[int] = []
    nodes: list[int] = [tree.root(thread)]
    last: float | None = None
    n = len(frames)
    for i, ev in enumerate(events):
        ek = f"{key}.events[{i}]"
        typ = get(ev, "type", str, path=p, key=ek)
        at = get(ev, "at", (int, float), path=p, key=ek)
        fr = get(ev, "frame", int, path=p, key=ek)
        if not 0 <= fr < n:
            raise FormatError("frame index {found} out of range", path=p, key=ek, found=fr)
        if last is not None and at < last:
            raise FormatError(
                "event time {found} goes backwards",
                path=p,
                key=ek,
                found=at,
                expected=f"'at' >= {last}",
            )
        if stack and last is not None and at > last:
            tree.add(nodes[-1], float(at - last) * factor)
        last = at
        if typ == "O":
            stack.append(fr)
            nodes.append(tree.child(nodes[-1], frames[fr]))
        elif typ == "C":
            if not stack or stack[-1] != fr:
                raise FormatError(
                    "close event for frame {found} does not match the open frame",
                    path=p,
                    key=ek,
                    found=fr,
                    expected=f"frame {stack[-1] if stack else '(none open)'}",
                )
            stack.pop()
            nodes.pop()
        else:
            raise FormatError(
                "unknown event type {found}", path=p, key=ek, found=typ, expected="'O' or 'C'"
            )
    if stack:
        raise FormatError(
            f"{len(stack)} frame(s) never closed",
            path=p,
            key=key,
            expected="balanced 'O'/'C' events",
        )


@register_format(
    "speedscope",
    description="speedscope JSON (py-spy, pyinstrument, speedscope exports)",
    kind="profile",
    sniff=sniff_speedscope,
    priority=30,
)
@guard_reader
def read_speedscope(
    path: str | os.PathLike[str], *, run: str | None = None, sample_interval_s: float = 0.01
) -> Profile:
    """Read a speedscope file; every profile in it becomes a ``thread``.

    Parameters
    ----------
    path
        The ``.speedscope.json`` file.
    run
        Run label; default the file stem.
    sample_interval_s
        Seconds per sample for profiles whose unit is ``none`` (counts).
    """
    p = ensure_path(path)
    doc, _ = load_json(p, what="a speedscope JSON file")
    if not isinstance(doc, dict):
        raise FormatError("not a speedscope file (top level is not an object)", path=p)
    frames = _frames(doc, p)
    profiles = get(doc, "profiles", list, path=p, key="$")
    tree = StackTree()
    units: set[str] = set()
    for i, prof in enumerate(profiles):
        key = f"$.profiles[{i}]"
        typ = get(prof, "type", str, path=p, key=key)
        unit = prof.get("unit", "none") if isinstance(prof, dict) else "none"
        name = prof.get("name") if isinstance(prof.get("name"), str) else f"profile {i}"
        factor = _UNITS.get(str(unit), sample_interval_s)
        units.add(str(unit))
        if typ == "sampled":
            for stack, weight in _sampled(prof, frames, key, p):
                node = tree.root(name)
                for fr in stack:
                    node = tree.child(node, fr)
                tree.add(node, weight * factor)
        elif typ == "evented":
            _evented(prof, frames, key, p, tree, name, factor)
        else:
            raise FormatError(
                "unknown profile type {found}",
                path=p,
                key=key,
                found=typ,
                expected="'sampled' or 'evented'",
            )
    prof_out = tree.to_profile(source="speedscope", run=profile_run_label(p, run), path=p)
    prof_out.meta.update(
        exporter=doc.get("exporter") if isinstance(doc.get("exporter"), str) else None,
        units=sorted(units),
        profiles=len(profiles),
    )
    return prof_out
