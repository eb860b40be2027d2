"""The pruned call tree behind the flame graphs (:mod:`perfnb.plot.flame`), built level by level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__: list[str] = []


@dataclass
class _Node:
    """One kept node of the pruned tree: its full path of frame keys, inclusive and own weight."""

    node_id: int
    parent_id: int
    path: tuple[Any, ...]
    total: float
    own: float = 0.0


@dataclass
class _Tree:
    nodes: list[_Node]
    total: float
    folded_n: int
    folded_s: float


def _tree(
    rows: list[tuple[str, tuple[Any, ...], float]],
    *,
    threads: bool,
    min_ratio: float,
    max_nodes: int,
    only: set[tuple[Any, ...]] | None = None,
) -> _Tree:
    """The call tree, built level by level and pruned as it grows.

    A row (stack) stops descending as soon as its prefix falls under the cut, so a 1M-frame profile
    costs what its kept nodes cost, not a full trie. With *only*, nodes are kept iff their path is in
    it (the before side of a differential view, aligned on the after side's nodes).
    """
    paths = [((("thread", t),) if threads else ()) + p for t, p, _ in rows]
    weights = [w for _, _, w in rows]
    total = float(sum(weights))
    cut = total * min_ratio
    nodes = [_Node(0, -1, (), total)]
    at = [0] * len(rows)
    active = []
    for i, p in enumerate(paths):
        if p:
            active.append(i)
        else:
            nodes[0].own += weights[i]
    folded_n, folded_s = 0, 0.0
    depth = 0
    while active:
        acc: dict[tuple[int, Any], float] = {}
        for i in active:
            k = (at[i], paths[i][depth])
            acc[k] = acc.get(k, 0.0) + weights[i]
        made: dict[tuple[int, Any], int] = {}
        for (pid, key), tot in acc.items():
            path = (*nodes[pid].path, key)
            ok = path in only if only is not None else tot >= cut and tot > 0
            if ok:
                made[(pid, key)] = len(nodes)
                nodes.append(_Node(len(nodes), pid, path, tot))
            else:
                folded_n += 1
                folded_s += tot
        nxt = []
        for i in active:
            nid = made.get((at[i], paths[i][depth]))
            if nid is None:
                continue
            if len(paths[i]) == depth + 1:
                nodes[nid].own += weights[i]
            else:
                at[i] = nid
                nxt.append(i)
        active = nxt
        depth += 1
    if len(nodes) > max_nodes + 1:
        # children are never wider than their parent: the widest max_nodes form a connected tree
        order = sorted(nodes[1:], key=lambda n: (-n.total, len(n.path)))
        keep, drop = order[:max_nodes], order[max_nodes:]
        kept_ids = {n.node_id for n in keep} | {0}
        for n in drop:
            if n.parent_id in kept_ids:
                folded_n += 1
                folded_s += n.total
        remap = {0: 0}
        out = [nodes[0]]
        for n in sorted(keep, key=lambda n: len(n.path)):
            if n.parent_id in remap:
                remap[n.node_id] = len(out)
                out.append(_Node(len(out), remap[n.parent_id], n.path, n.total, n.own))
        nodes = out
    return _Tree(nodes, total, folded_n, folded_s)
