"""A call tree for evented profiles (Chrome trace ``B``/``E``/``X``, speedscope ``O``/``C``): linear in depth.

Evented readers used to hand :func:`~perfnb.model.profile.from_stacks` one full list of frames per
time slice: a trace 10,000 frames deep made 10,000 lists of up to 10,000 frames (160 s and 2.5 GB for a
1.2 MB file). Here the reader walks a tree instead, one :meth:`StackTree.child`/parent step per event, and
adds each slice's time to the current node. :meth:`StackTree.to_profile` then builds the same three tables
in time linear in the number of nodes:

* a function's total time counts once per stack even when it recurses, as in ``from_stacks``: it is the
  subtree time of its *topmost* occurrences on each path (one depth-first walk keeps a count of each
  function, and each caller→callee edge, on the current path);
* the ``stack`` text of a path deeper than :data:`MAX_STACK_TEXT_FRAMES` keeps its root and leaf ends
  and names the frames left out (``…[9488 frames]…``); ``depth`` keeps the real depth and the function
  and call tables are exact. ``meta["elided_stacks"]`` counts such stacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError
from perfnb.model.profile import (
    PROFILE_CALLS,
    PROFILE_FUNCTIONS,
    PROFILE_STACKS,
    Frame,
    Profile,
    tables_from_weights,
)

__all__ = ["MAX_STACK_TEXT_FRAMES", "StackTree"]

#: Paths deeper than this keep their first and last 256 frames in the ``stack`` text (most Python
#: stacks fit; deep recursion is summarised, and the function and call tables stay exact).
MAX_STACK_TEXT_FRAMES = 512
_HALF = MAX_STACK_TEXT_FRAMES // 2


class StackTree:
    """Nodes are ``(parent, frame)`` pairs under one root per thread; each holds the time spent there."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.frame: list[Frame | None] = []
        self.thread: list[str] = []
        self.depth: list[int] = []
        self.weight: list[float] = []
        self._children: list[dict[Frame, int]] = []
        self._roots: dict[str, int] = {}

    def _new(self, parent: int, frame: Frame | None, thread: str, depth: int) -> int:
        self.parent.append(parent)
        self.frame.append(frame)
        self.thread.append(thread)
        self.depth.append(depth)
        self.weight.append(0.0)
        self._children.append({})
        return len(self.parent) - 1

    def root(self, thread: str) -> int:
        """The root node of *thread* (an empty stack)."""
        node = self._roots.get(thread)
        if node is None:
            node = self._roots[thread] = self._new(-1, None, thread, 0)
        return node

    def child(self, node: int, frame: Frame) -> int:
        """The node for *frame* called from *node* (created on first use)."""
        kids = self._children[node]
        found = kids.get(frame)
        if found is None:
            found = kids[frame] = self._new(node, frame, self.thread[node], self.depth[node] + 1)
        return found

    def add(self, node: int, weight: float) -> None:
        """Add *weight* (time) to the stack ending at *node*."""
        self.weight[node] += weight

    def to_profile(
        self, *, source: str, run: str, path: Path | None = None, time_per_unit_s: float = 1.0
    ) -> Profile:
        """The :class:`Profile` of the tree (the tables ``from_stacks`` would build), in linear time."""
        n = len(self.parent)
        w = np.asarray(self.weight, dtype="float64")
        if not n or not (w > 0).any():
            raise EmptyInputError(
                "profile holds no samples", path=path, expected="at least one stack"
            )
        subtree = w.copy()
        for v in range(n - 1, -1, -1):  # children are created after their parent
            if self.parent[v] >= 0:
                subtree[self.parent[v]] += subtree[v]
        key = [(f.function, f.file) if f is not None else ("", "") for f in self.frame]
        fself: dict[tuple[str, str], float] = {}
        ftotal: dict[tuple[str, str], float] = {}
        fline: dict[tuple[str, str], int] = {}
        fann: dict[tuple[str, str], str] = {}
        eself: dict[tuple[tuple[str, str], tuple[str, str]], float] = {}
        etotal: dict[tuple[tuple[str, str], tuple[str, str]], float] = {}
        for v, fr in enumerate(self.frame):
            if fr is None:
                continue
            fk = key[v]
            if fk not in fline or (fr.line and (fline[fk] == 0 or fr.line < fline[fk])):
                fline[fk] = fr.line
            if fr.annotation:
                fann[fk] = fr.annotation
            if w[v]:
                fself[fk] = fself.get(fk, 0.0) + w[v]
                if self.depth[v] > 1:
                    ek = (key[self.parent[v]], fk)
                    eself[ek] = eself.get(ek, 0.0) + w[v]
        self._totals(key, subtree, ftotal, etotal)
        scale = time_per_unit_s
        grand = float(w.sum())
        functions, calls = tables_from_weights(
            fself, ftotal, fline, fann, eself, etotal,
            grand=grand, scale=scale, sampled=False, source=source, run=run,
        )  # fmt: skip
        rows, texts, elided = self._stack_texts(w)
        stacks = pd.DataFrame(
            {
                "thread": [self.thread[v] for v in rows],
                "stack": texts,
                "leaf": [self._name(v) for v in rows],
                "depth": [self.depth[v] for v in rows],
                "samples": np.nan,
                "time_s": w[rows] * scale,
                "source": source,
                "run": run,
            }
        )
        return Profile(
            functions=PROFILE_FUNCTIONS.conform(functions),
            calls=PROFILE_CALLS.conform(calls),
            stacks=PROFILE_STACKS.conform(stacks),
            source=source,
            run=run,
            total_time_s=grand * scale,
            meta={"path": str(path) if path else None, "sampled": False, "elided_stacks": elided},
        )

    def _name(self, v: int) -> str:
        fr = self.frame[v]
        return fr.function if fr is not None else ""

    def _totals(
        self,
        key: list[tuple[str, str]],
        subtree: np.ndarray,
        ftotal: dict[tuple[str, str], float],
        etotal: dict[tuple[tuple[str, str], tuple[str, str]], float],
    ) -> None:
        """Total time per function and per edge: subtree time of their topmost occurrences on a path."""
        on_path: dict[Any, int] = {}
        children: list[list[int]] = [[] for _ in self.parent]
        for v, par in enumerate(self.parent):
            if par >= 0:
                children[par].append(v)
        for root in self._roots.values():
            stack: list[tuple[int, bool]] = [(root, True)]
            while stack:
                v, entering = stack.pop()
                if self.frame[v] is None:  # a thread root
                    if entering:
                        stack.extend((c, True) for c in children[v])
                    continue
                fk = key[v]
                par = self.parent[v]
                ek = (key[par], fk) if self.frame[par] is not None else None
                if entering:
                    if not on_path.get(fk):
                        ftotal[fk] = ftotal.get(fk, 0.0) + float(subtree[v])
                    on_path[fk] = on_path.get(fk, 0) + 1
                    if ek is not None:
                        if not on_path.get(ek):
                            etotal[ek] = etotal.get(ek, 0.0) + float(subtree[v])
                        on_path[ek] = on_path.get(ek, 0) + 1
                    stack.append((v, False))
                    stack.extend((c, True) for c in children[v])
                else:
                    on_path[fk] -= 1
                    if ek is not None:
                        on_path[ek] -= 1

    def _stack_texts(self, w: np.ndarray) -> tuple[list[int], list[str], int]:
        """The nodes with time, their ``;``-joined stack text (bounded length) and how many were cut."""
        n = len(self.parent)
        head_text: list[str | None] = [None] * n  # the text of nodes up to depth _HALF
        anchor = [-1] * n  # for deeper nodes, their ancestor at depth _HALF
        for v in range(n):
            par, d = self.parent[v], self.depth[v]
            if d == 0:
                head_text[v] = ""
            elif d <= _HALF:
                before = head_text[par]
                head_text[v] = self._name(v) if not before else f"{before};{self._name(v)}"
            anchor[v] = v if d == _HALF else (anchor[par] if par >= 0 else -1)
        rows = [v for v in range(n) if w[v] > 0]
        texts: list[str] = []
        elided = 0
        for v in rows:
            d = self.depth[v]
            if d <= _HALF:
                texts.append(head_text[v] or "")
                continue
            tail: list[str] = []
            u = v
            keep = MAX_STACK_TEXT_FRAMES - _HALF if d > MAX_STACK_TEXT_FRAMES else d - _HALF
            for _ in range(keep):
                tail.append(self._name(u))
                u = self.parent[u]
            tail.reverse()
            gap = d - _HALF - keep
            parts = [head_text[anchor[v]] or ""]
            if gap > 0:
                elided += 1
                parts.append(f"…[{gap} frames]…")
            texts.append(";".join([*parts, *tail]))
        return rows, texts, elided
