"""Profile writers: speedscope JSON and folded (collapsed) stacks, plus the weighted stacks they share.

Entry points: :func:`to_speedscope`, :func:`to_folded`, :func:`weighted_stacks` (bound as
``Profile.to_speedscope()`` / ``Profile.to_folded()``).

Stack formats (py-spy, folded, speedscope, Chrome trace, pyinstrument) are written as measured. pstats holds
no call paths, only caller→callee aggregates, so its stacks are an **estimate**: a walk from the roots that
splits each function's inclusive time among its callees in proportion to the edges (the assumption snakeviz
and gprof2dot make), stopped below ``min_ratio`` of the total or at ``max_depth``. The walk's leaf weights are
then corrected per function so that every function's self time, and the total, equal the pstats values
exactly (what the walk could not place lands on a one-frame stack of that function). The written profile's
name says "estimated".
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from perfnb.io.profiles._model import Frame, Profile

__all__ = ["Stacks", "to_folded", "to_speedscope", "weighted_stacks"]

Key = tuple[str, str, int]


class Stacks:
    """Weighted stacks of one profile: ``frames`` (unique) and ``rows`` of (thread, frame ids, seconds).

    ``estimated`` is true when the paths were reconstructed from pstats edges.
    """

    def __init__(
        self, frames: list[Frame], rows: list[tuple[str, tuple[int, ...], float]], estimated: bool
    ) -> None:
        self.frames = frames
        self.rows = rows
        self.estimated = estimated

    def __iter__(self) -> Iterator[tuple[str, tuple[int, ...], float]]:
        return iter(self.rows)

    @property
    def total_s(self) -> float:
        """Σ weights, seconds."""
        return float(sum(r[2] for r in self.rows))


_PYSPY = re.compile(r"^(.*) \(([^()]*?)(?::(\d+))?\)$")


def _frame_info(profile: Profile) -> dict[tuple[str, str], int]:
    """(function, file) → first line, from the functions table."""
    f = profile.functions
    lines = f["line"].astype("Float64").fillna(0).astype("int64").tolist()
    out: dict[tuple[str, str], int] = {}
    for name, file, line in zip(
        f["function"].astype(str).tolist(),
        f["file"].fillna("").astype(str).tolist(),
        lines,
        strict=True,
    ):
        out.setdefault((name, file), int(line))
    return out


def _from_stacks_table(profile: Profile) -> Stacks:
    # stack strings hold either bare function names (from_stacks) or the tool's frame text, e.g.
    # py-spy's "name (file:line)": both map to the functions table's (function, file) rows, so one
    # function is one frame whatever line was executing (as the functions table counts it)
    info = _frame_info(profile)
    by_name: dict[str, tuple[str, str]] = {}
    for fn, file in info:
        by_name.setdefault(fn, (fn, file))
    frame_of: dict[str, int] = {}
    index: dict[tuple[str, str], int] = {}
    frames: list[Frame] = []

    def frame_id(text: str) -> int:
        j = frame_of.get(text)
        if j is not None:
            return j
        key = by_name.get(text)
        if key is None:
            m = _PYSPY.match(text)
            key = (
                (m.group(1), m.group(2))
                if m is not None and (m.group(1), m.group(2)) in info
                else (text, "")
            )
        j = index.get(key)
        if j is None:
            j = index[key] = len(frames)
            frames.append(Frame(key[0], key[1], info.get(key, 0)))
        frame_of[text] = j
        return j

    rows: list[tuple[str, tuple[int, ...], float]] = []
    s = profile.stacks
    for thread, stack, t in zip(
        s["thread"].astype(str).tolist(), s["stack"].tolist(), s["time_s"].tolist(), strict=True
    ):
        if t > 0:
            ids = tuple(frame_id(x) for x in str(stack).split(";") if x) if stack else ()
            rows.append((thread, ids, float(t)))
    return Stacks(frames, rows, estimated=False)


def _from_edges(profile: Profile, *, max_depth: int, min_ratio: float) -> Stacks:
    f, c = profile.functions, profile.calls
    # pstats keys are (file, line, function): one name can be defined twice in a file (lambdas)
    lines = f["line"].astype("Float64").fillna(0).astype("int64").tolist()
    keys: list[Key] = list(
        zip(f["function"].astype(str), f["file"].fillna("").astype(str), lines, strict=True)
    )
    self_of = dict(zip(keys, f["self_time_s"].astype(float), strict=True))
    tot_of = dict(zip(keys, f["total_time_s"].astype(float), strict=True))
    index = {k: i for i, k in enumerate(keys)}
    frames = [Frame(k[0], k[1], k[2]) for k in keys]
    children: dict[Key, list[tuple[Key, float]]] = {}
    called: set[Key] = set()

    def lines_of(col: str) -> list[int]:
        return [int(x) for x in c[col].astype("Float64").fillna(0).astype("int64").tolist()]

    for a, af, al, b, bf, bl, t in zip(
        c["caller"].astype(str),
        c["caller_file"].fillna("").astype(str),
        lines_of("caller_line"),
        c["callee"].astype(str),
        c["callee_file"].fillna("").astype(str),
        lines_of("callee_line"),
        c["total_time_s"].tolist(),
        strict=True,
    ):
        ka, kb = (a, af, al), (b, bf, bl)
        if ka == kb or kb not in index or pd.isna(t) or t <= 0:
            continue
        children.setdefault(ka, []).append((kb, float(t)))
        called.add(kb)
    total = float(profile.total_time_s)
    cut = total * min_ratio
    roots = sorted((k for k in keys if k not in called), key=lambda k: -tot_of[k])
    if not roots or tot_of[roots[0]] < 0.5 * max(tot_of.values(), default=0.0):
        # a cycle through the entry point (exec ↔ <module>): start from the biggest function
        roots = [max(keys, key=lambda k: tot_of[k]), *roots]
    leaf_w: dict[tuple[int, ...], float] = {}
    todo: list[tuple[Key, tuple[int, ...], float]] = [
        (r, (index[r],), tot_of[r]) for r in roots if tot_of[r] >= cut
    ]
    while todo:
        key, path, width = todo.pop()
        kids = [(k, t) for k, t in children.get(key, []) if index[k] not in path]
        ksum = sum(t for _, t in kids)
        scale = min(1.0, width / ksum) if ksum > 0 else 1.0
        placed = 0.0
        if len(path) < max_depth:
            for k, t in kids:
                w = t * scale
                if w >= cut:
                    todo.append((k, (*path, index[k]), w))
                    placed += w
        own = width - placed
        if own > 0:
            leaf_w[path] = leaf_w.get(path, 0.0) + own
    # correct per function: its leaf weights must add up to its pstats self time
    by_fn: dict[int, float] = {}
    for path, w in leaf_w.items():
        by_fn[path[-1]] = by_fn.get(path[-1], 0.0) + w
    rows: list[tuple[str, tuple[int, ...], float]] = []
    for path, w in leaf_w.items():
        placed_fn = by_fn[path[-1]]
        target = self_of[keys[path[-1]]]
        if placed_fn > target:
            w = w * (target / placed_fn) if placed_fn > 0 else 0.0
        if w > 0:
            rows.append(("", path, w))
    for i, k in enumerate(keys):
        rest = self_of[k] - by_fn.get(i, 0.0)
        if rest > total * 1e-12:
            rows.append(("", (i,), rest))
    return Stacks(frames, rows, estimated=True)


def weighted_stacks(profile: Profile, *, max_depth: int = 128, min_ratio: float = 1e-4) -> Stacks:
    """The profile as weighted stacks (measured for stack formats, estimated for pstats).

    Parameters
    ----------
    profile
        Any CPU profile.
    max_depth, min_ratio
        Limits of the pstats estimate only (depth, and the smallest share of total time a path is
        followed for); the weight not followed stays on the caller and is corrected per function.
    """
    if profile.has_stacks:
        return _from_stacks_table(profile)
    return _from_edges(profile, max_depth=max_depth, min_ratio=min_ratio)


def to_speedscope(profile: Profile, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The profile as a speedscope file (``sampled`` profiles, one per thread, unit seconds).

    Opens in https://www.speedscope.app (drag the file in) and reads back with
    :func:`~perfnb.io.profiles.read_speedscope` with the same total time. Written to *path* if given.

    Returns
    -------
    dict
        The JSON document (``$schema``, ``shared.frames``, ``profiles``, ``exporter``).
    """
    st = weighted_stacks(profile)
    threads: dict[str, tuple[list[list[int]], list[float]]] = {}
    for thread, ids, w in st:
        samples, weights = threads.setdefault(thread, ([], []))
        samples.append(list(ids))
        weights.append(w)
    name = str(profile.run or "profile")
    note = " (call paths estimated from pstats caller→callee edges)" if st.estimated else ""
    frames: list[dict[str, Any]] = []
    for fr in st.frames:
        d: dict[str, Any] = {"name": fr.function}
        if fr.file:
            d["file"] = fr.file
        if fr.line:
            d["line"] = fr.line
        frames.append(d)
    doc: dict[str, Any] = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": (f"{name} {thread}".strip() if thread else name) + note,
                "unit": "seconds",
                "startValue": 0,
                "endValue": float(sum(weights)),
                "samples": samples,
                "weights": weights,
            }
            for thread, (samples, weights) in threads.items()
        ],
        "name": name,
        "activeProfileIndex": 0,
        "exporter": "perfnb",
    }
    if path is not None:
        Path(path).write_text(json.dumps(doc), encoding="utf-8")
    return doc


def _folded_frame(fr: Frame) -> str:
    # ';' separates frames and a line ends in ' count': neither may appear in a frame
    name = fr.function.replace(";", ":").replace("\n", " ").replace("\r", " ")
    if fr.file:
        loc = fr.file.replace(";", ":").replace("\n", " ")
        return f"{name} ({loc}:{fr.line})" if fr.line else f"{name} ({loc})"
    return name


def to_folded(
    profile: Profile, path: str | os.PathLike[str] | None = None, *, unit_s: float = 1e-6
) -> str:
    """The profile as folded stacks, ``root;…;leaf count`` (flamegraph.pl, speedscope, inferno).

    Frames are written py-spy style, ``name (file:line)``, so :func:`read_folded` gets file and line back.
    Counts are integer multiples of *unit_s* (default microseconds; read back with
    ``read_folded(path, sample_interval_s=unit_s)``); sampled profiles with sample counts keep them as
    counts when *unit_s* is ``0``. Threads are merged. Written to *path* if given.
    """
    st = weighted_stacks(profile)
    labels = [_folded_frame(fr) for fr in st.frames]
    agg: dict[tuple[int, ...], float] = {}
    for _, ids, w in st:
        agg[ids] = agg.get(ids, 0.0) + w
    use_samples = unit_s == 0
    if use_samples:
        per = profile.total_time_s / max(float(profile.stacks["samples"].sum()), 1.0)
        if not profile.has_stacks or profile.stacks["samples"].isna().all():
            raise ValueError("unit_s=0 keeps sample counts; this profile has none: pass unit_s")
    else:
        per = unit_s
    lines = []
    for ids, w in sorted(agg.items(), key=lambda kv: kv[0]):
        n = round(w / per)
        if n > 0:
            lines.append(";".join(labels[i] for i in ids) + f" {n}")
    text = "\n".join(lines) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
