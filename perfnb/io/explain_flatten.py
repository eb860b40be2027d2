"""Flattening EXPLAIN JSON: the nodes of many statements as columns, built column by column.

Entry point: :func:`flatten_statements` (used by :func:`perfnb.io.explain.plans_from_json` and
:func:`perfnb.read_auto_explain`). Each statement's tree is walked once (pre-order: parent, depth,
inherited Workers Launched, the nearest Gather, the process divisor); then every column is built over all
nodes of all statements at once — a list comprehension or a float array per column instead of ~70 appends
per node, and no lookup at all for a key that no node has. Per-worker detail (VERBOSE) is folded into
the node (Memoize / Sort / HashAgg statistics summed over leader and workers) and gives each node's
critical path (its slowest process), which :mod:`perfnb.io.plan_table` uses to attribute time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from perfnb.errors import FormatError
from perfnb.io.plan_table import concat_columns
from perfnb.model.plan import PLAN_NODES
from perfnb.schema import PROVENANCE

__all__ = ["flatten_statements"]


def _ms(v: Any) -> float:
    return float(v) * 1e-3 if v is not None else np.nan


def _kb(v: Any) -> float:
    return float(v) * 1024.0 if v is not None else np.nan


def _s(v: Any) -> str | None:
    """Text fields stay text: anything else (a number, a list) is rendered, never a dict in a column."""
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v) if isinstance(v, list | dict) else str(v)


_NUM_FIELDS = (
    "Startup Cost",
    "Total Cost",
    "Plan Rows",
    "Actual Startup Time",
    "Actual Total Time",
    "Actual Rows",
    "Actual Loops",
)


def _num(node: Mapping[str, Any], name: str, key: str, path: Any) -> float:
    """A cost, time, row or loop count: a finite number ≥ 0 (``-13``, ``Infinity``, ``1e999`` are not)."""
    v = node.get(name)
    if v is None:
        return np.nan
    x: float | None = None
    if isinstance(v, int | float) and not isinstance(v, bool):
        x = float(v) if abs(v) < 1e300 else float("inf")
    elif isinstance(v, str):
        try:
            x = float(v)
        except ValueError:
            x = None
    if x is None or not 0 <= x < float("inf"):
        raise FormatError(
            f"{name!r} is {{found}}", path=path, key=key, found=v, expected="a finite number ≥ 0"
        )
    return x


_Walk = tuple[list[Mapping[str, Any]], list[Any], list[int], list[str], list[Any], list[bool], list[float], list[int]]  # fmt: skip
_NUMERIC_TYPES = frozenset((int, float, type(None)))
_TEXT_TYPES = frozenset((str, type(None)))


def _walk(plan: Mapping[str, Any], key0: str, path: Any) -> _Walk:
    """Pre-order walk of one plan's nodes.

    Returns nodes, parent ids, depths, JSONPath keys, inherited Workers Launched, whether under a
    Gather, process divisors and the id of the nearest Gather above.
    """
    nodes: list[Mapping[str, Any]] = []
    parents: list[Any] = []
    depths: list[int] = []
    keys: list[str] = []
    launched: list[Any] = []
    unders: list[bool] = []
    procs_l: list[float] = []
    gids: list[int] = []
    # stack of (node, parent_id, depth, key, workers_launched_inherited, under_gather, forced divisor,
    # node_id of the nearest Gather above)
    stack: list[tuple[Any, int, int, str, Any, bool, float, int]] = [
        (plan, -1, 0, key0, None, False, 0.0, -1)
    ]
    while stack:
        node, parent, depth, key, wl_inh, under, forced, gid = stack.pop()
        if type(node) is not dict and not isinstance(node, Mapping):  # (abc check is slow)
            raise FormatError("plan node is not an object", path=path, key=key, found=node)
        nt = node.get("Node Type")
        if not isinstance(nt, str):
            raise FormatError("missing 'Node Type'", path=path, key=key, expected="a plan node")
        nid = len(nodes)
        is_gather = nt in ("Gather", "Gather Merge")
        wl = node.get("Workers Launched")
        procs = 1.0
        if under:
            loops = _num(node, "Actual Loops", key, path)
            if loops == loops and loops > 0:
                workers = node.get("Workers")
                if isinstance(workers, list) and workers:
                    wloops = 0.0
                    active = 0
                    for w in workers:
                        wl_ = w.get("Actual Loops", 1) if isinstance(w, Mapping) else 0
                        wl_ = float(wl_) if isinstance(wl_, int | float) else 0.0
                        wloops += wl_
                        active += wl_ > 0
                    procs = float(active + (1 if loops - wloops > 0.5 else 0))
                else:
                    launched_n = float(wl_inh) if isinstance(wl_inh, int | float) else 0.0
                    procs = min(launched_n + 1.0, loops)
                procs = max(procs, 1.0)
                if forced:
                    # below a Parallel Append each child runs in a subset of the processes
                    procs = forced
        nodes.append(node)
        parents.append(parent if parent >= 0 else None)
        depths.append(depth)
        keys.append(key)
        launched.append(wl if wl is not None else wl_inh)
        unders.append(under)
        procs_l.append(procs)
        gids.append(gid)
        children = node.get("Plans")
        if children is not None:
            if not isinstance(children, list):
                raise FormatError(
                    "'Plans' is not a list", path=path, key=key + ".Plans", found=children
                )
            c_wl = wl if is_gather else wl_inh
            c_under = under or is_gather
            c_forced = procs if (nt == "Append" and node.get("Parallel Aware") is True) else forced
            if is_gather:
                c_forced = 0.0
            c_gid = nid if is_gather else gid
            for k in range(len(children) - 1, -1, -1):
                stack.append(
                    (
                        children[k],
                        nid,
                        depth + 1,
                        f"{key}.Plans[{k}]",
                        c_wl,
                        c_under,
                        c_forced,
                        c_gid,
                    )
                )
    return nodes, parents, depths, keys, launched, unders, procs_l, gids


def _gets(nodes: list[Mapping[str, Any]], present: set[str], name: str, alt: str = "") -> list[Any]:
    """One field of every node as is (``None`` when absent), or *alt* where *name* is absent."""
    if name not in present:
        if alt and alt in present:
            return [nd.get(alt) for nd in nodes]
        return [None] * len(nodes)
    if alt and alt in present:
        return [nd.get(name, nd.get(alt)) for nd in nodes]
    return [nd.get(name) for nd in nodes]


def _floats(
    nodes: list[Mapping[str, Any]],
    present: set[str],
    name: str,
    keys: list[str],
    path: Any,
    scale: float = 1.0,
) -> np.ndarray:
    """One numeric field of every node as float64 (NaN when absent); bad values name the node."""
    if name not in present:
        return np.full(len(nodes), np.nan)
    values = [n.get(name) for n in nodes]
    if set(map(type, values)) <= _NUMERIC_TYPES:
        arr = np.array([np.nan if v is None else v for v in values], dtype="float64")
        if name in _NUM_FIELDS:  # costs, times, rows, loops: finite and ≥ 0 (not -13, Infinity)
            wrong = np.flatnonzero(~np.isnan(arr) & ~((arr >= 0) & (arr < np.inf)))
            if wrong.size:
                i = int(wrong[0])
                _num(nodes[i], name, keys[i], path)  # raises, naming the node
    else:  # strings holding numbers are accepted, anything else names the node
        arr = np.array([_num(n, name, k, path) for n, k in zip(nodes, keys, strict=True)])
    return arr * scale if scale != 1.0 else arr


def _texts_of(nodes: list[Mapping[str, Any]], present: set[str], *names: str) -> list[Any]:
    """First present of *names* per node, as text (never a dict in a column)."""
    names = tuple(n for n in names if n in present)
    if not names:
        return [None] * len(nodes)
    if len(names) == 1:
        values = [n.get(names[0]) for n in nodes]
    elif len(names) == 2:
        a, b = names
        values = [n.get(a) or n.get(b) for n in nodes]
    elif len(names) == 3:
        a, b, c = names
        values = [n.get(a) or n.get(b) or n.get(c) for n in nodes]
    else:
        values = []
        for n in nodes:
            v = None
            for name in names:
                v = n.get(name)
                if v:
                    break
            values.append(v)
    if set(map(type, values)) <= _TEXT_TYPES:
        return values
    return [_s(v) for v in values]


def _flatten(plan: Mapping[str, Any], key0: str, path: Any) -> dict[str, Any]:
    """The nodes of one plan as columns (lists and float arrays), column by column."""
    return _columns([_walk(plan, key0, path)], path)


def _columns(walks: list[_Walk], path: Any) -> dict[str, Any]:
    """The nodes of many plans (their walks, concatenated) as columns, column by column.

    ``node_id``, ``parent_id`` and the ``_gather`` ids stay local to each plan; ``_workers`` is one
    list of per-worker rows per plan.
    """
    if len(walks) == 1:
        nodes, parents, depths, keys, launched, unders, procs_l, gids = walks[0]
        node_ids: list[int] = list(range(len(nodes)))
        starts = [0, len(nodes)]
    else:
        nodes, parents, depths, keys, launched, unders, procs_l, gids = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        node_ids = []
        starts = [0]
        for w in walks:
            nodes += w[0]
            parents += w[1]
            depths += w[2]
            keys += w[3]
            launched += w[4]
            unders += w[5]
            procs_l += w[6]
            gids += w[7]
            node_ids += range(len(w[0]))
            starts.append(len(nodes))
    n = len(nodes)
    # the keys any node has: a column whose key no node has is filled without a lookup per node
    present: set[str] = set().union(*nodes)
    cols: dict[str, Any] = {}
    loops = _floats(nodes, present, "Actual Loops", keys, path)
    t = _floats(nodes, present, "Actual Total Time", keys, path)
    rows = _floats(nodes, present, "Actual Rows", keys, path)
    prows = _floats(nodes, present, "Plan Rows", keys, path)
    procs = np.asarray(procs_l, dtype="float64")
    cols["node_id"] = node_ids
    cols["parent_id"] = parents
    cols["depth"] = depths
    cols["node_type"] = [nd["Node Type"] for nd in nodes]
    cols["relation"] = _texts_of(nodes, present, "Relation Name")
    cols["schema_name"] = _texts_of(nodes, present, "Schema")
    cols["index_name"] = _texts_of(nodes, present, "Index Name")
    cols["alias"] = _texts_of(nodes, present, "Alias")
    cols["cte_name"] = _texts_of(nodes, present, "CTE Name")
    cols["parent_relationship"] = _texts_of(nodes, present, "Parent Relationship")
    cols["subplan_name"] = _texts_of(nodes, present, "Subplan Name")
    cols["strategy"] = _texts_of(nodes, present, "Strategy", "Join Type", "Scan Direction")
    cols["parallel_aware"] = [
        v if isinstance(v, bool) else None for v in (nd.get("Parallel Aware") for nd in nodes)
    ]
    cols["startup_cost"] = _floats(nodes, present, "Startup Cost", keys, path)
    cols["total_cost"] = _floats(nodes, present, "Total Cost", keys, path)
    cols["plan_rows"] = prows
    cols["actual_rows"] = rows
    with np.errstate(all="ignore"):
        cols["actual_rows_total"] = rows * loops
        cols["loops"] = loops
        cols["workers_planned"] = _gets(nodes, present, "Workers Planned")
        cols["workers_launched"] = launched
        cols["processes"] = procs
        ran = (loops > 0) & ~np.isnan(prows)
        f = np.maximum(rows, 1.0) / np.maximum(prows, 1.0)
        cols["estimate_factor"] = np.where(ran, np.maximum(f, 1.0 / f), np.nan)
        cols["estimate_direction"] = [
            None if not r else ("under" if x > 1 else ("over" if x < 1 else "exact"))
            for r, x in zip(ran.tolist(), f.tolist(), strict=True)
        ]
        has_loops = ~np.isnan(loops)
        for col, name in (
            ("rows_removed_by_filter", "Rows Removed by Filter"),
            ("rows_removed_by_join_filter", "Rows Removed by Join Filter"),
            ("rows_removed_by_index_recheck", "Rows Removed by Index Recheck"),
        ):
            v = _floats(nodes, present, name, keys, path)
            cols[col] = np.where(has_loops, v * loops, v)
        cols["startup_time_s"] = _floats(nodes, present, "Actual Startup Time", keys, path, 1e-3)
        cols["time_per_loop_s"] = t * 1e-3
        cols["total_time_s"] = np.where(has_loops, t * 1e-3 * loops / procs, np.nan)
    for col, name in _BLOCK_COLS.items():
        cols[col] = _gets(nodes, present, name)
    cols["io_read_time_s"] = _io_col(
        nodes, present, "I/O Read Time", "Shared I/O Read Time", "Local I/O Read Time"
    )
    cols["io_write_time_s"] = _io_col(
        nodes, present, "I/O Write Time", "Shared I/O Write Time", "Local I/O Write Time"
    )
    cols["temp_io_read_time_s"] = _floats(nodes, present, "Temp I/O Read Time", keys, path, 1e-3)
    cols["temp_io_write_time_s"] = _floats(nodes, present, "Temp I/O Write Time", keys, path, 1e-3)
    cols["filter"] = _texts_of(nodes, present, "Filter", "Join Filter")
    cols["index_cond"] = _texts_of(
        nodes, present, "Index Cond", "Recheck Cond", "Hash Cond", "Merge Cond"
    )
    sk = _sort_keys(nodes) if {"Sort Key", "Group Key"} & present else [None] * n
    cols["sort_key"] = sk
    cols["sort_method"] = _texts_of(nodes, present, "Sort Method")
    cols["sort_space_type"] = _texts_of(nodes, present, "Sort Space Type")
    cols["sort_space_used_bytes"] = _floats(nodes, present, "Sort Space Used", keys, path, 1024.0)
    cols["hash_batches"] = _gets(nodes, present, "Hash Batches", "HashAgg Batches")
    cols["original_hash_batches"] = _gets(nodes, present, "Original Hash Batches")
    peak = _floats(nodes, present, "Peak Memory Usage", keys, path, 1024.0)
    if "Peak Memory Usage (kB)" in present:  # older spelling
        old = _floats(nodes, present, "Peak Memory Usage (kB)", keys, path, 1024.0)
        peak = np.where(np.isnan(peak), old, peak)
    cols["peak_memory_bytes"] = peak
    cols["disk_usage_bytes"] = _floats(nodes, present, "Disk Usage", keys, path, 1024.0)
    for col, name in (
        ("heap_fetches", "Heap Fetches"),
        ("exact_heap_blocks", "Exact Heap Blocks"),
        ("lossy_heap_blocks", "Lossy Heap Blocks"),
        ("cache_hits", "Cache Hits"),
        ("cache_misses", "Cache Misses"),
    ):
        cols[col] = _gets(nodes, present, name)
    # InitPlan consumers are found by text search: only plans that have InitPlans need the text
    has_init = "InitPlan" in cols["parent_relationship"]
    cols["_texts"] = (
        [" ".join(str(nd[k]) for k in _EXPR_KEYS if k in nd) for nd in nodes]
        if has_init
        else [""] * n
    )
    worker_rows: list[list[dict[str, Any]]] = [[] for _ in starts[1:]]
    critical = np.full(n, np.nan)
    tl = t.tolist()
    ll = loops.tolist()
    plan_k = 0
    for g, nd in enumerate(nodes if "Workers" in present else ()):
        workers = nd.get("Workers")
        if isinstance(workers, list) and workers:
            while g >= starts[plan_k + 1]:
                plan_k += 1
            wkey = f"{keys[g]}.Workers"
            for w in workers:
                if isinstance(w, Mapping):
                    worker_rows[plan_k].append(_worker_row(node_ids[g], w, wkey, path))
            critical[g] = _add_workers(cols, g, workers, tl[g], ll[g], keys[g], path)
    cols["_workers"] = worker_rows
    cols["_under_gather"] = unders
    cols["_key"] = keys
    cols["_gather"] = gids
    cols["_critical"] = critical
    return cols


def _sort_keys(nodes: list[Mapping[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for nd in nodes:
        sk = nd.get("Sort Key") or nd.get("Group Key")
        out.append(", ".join(map(str, sk)) if isinstance(sk, list) else _s(sk))
    return out


_EXPR_KEYS = frozenset(
    (
        "Filter",
        "Join Filter",
        "Index Cond",
        "Recheck Cond",
        "Hash Cond",
        "Merge Cond",
        "One-Time Filter",
        "Output",
        "Function Call",
        "TID Cond",
        "Order By",
    )
)

_BLOCK_COLS = {
    f"{kind}_{op}_blocks": f"{kind.title()} {op.title()} Blocks"
    for kind in ("shared", "local", "temp")
    for op in ("hit", "read", "dirtied", "written")
    if not (kind == "temp" and op in ("hit", "dirtied"))
}

_ROW_KEYS = [c.name for c in PLAN_NODES.columns if c.name not in ("self_time_s", "self_ratio")][
    : -len(PROVENANCE)
]
_ROW_KEYS = [
    k
    for k in _ROW_KEYS
    if k not in ("self_time_uncertainty_s", "self_time_clamped_s", "self_time_note")
]


def _worker_row(nid: int, w: Mapping[str, Any], key: str, path: Any) -> dict[str, Any]:
    loops = _num(w, "Actual Loops", key, path)
    rows = _num(w, "Actual Rows", key, path)
    return {
        "node_id": nid,
        "worker": _num(w, "Worker Number", key, path),
        "startup_time_s": _num(w, "Actual Startup Time", key, path) * 1e-3,
        "time_per_loop_s": _num(w, "Actual Total Time", key, path) * 1e-3,
        "loops": loops,
        "actual_rows_total": rows * loops,
        "shared_hit_blocks": _num(w, "Shared Hit Blocks", key, path),
        "shared_read_blocks": _num(w, "Shared Read Blocks", key, path),
        "temp_written_blocks": _num(w, "Temp Written Blocks", key, path),
    }


_WORKER_SUMS = (
    # column, worker key, converter: the node-level value is the leader's own (PG14+ EXPLAIN prints
    # each worker's Memoize / Sort / HashAgg statistics in its Workers entry), so sum leader + workers
    ("cache_hits", "Cache Hits", None),
    ("cache_misses", "Cache Misses", None),
    ("sort_space_used_bytes", "Sort Space Used", 1024.0),
    ("peak_memory_bytes", "Peak Memory Usage", 1024.0),
    ("disk_usage_bytes", "Disk Usage", 1024.0),
)


def _add_workers(
    cols: dict[str, Any], nid: int, workers: list[Any], t: float, loops: float, key: str, path: Any
) -> float:
    """Fold the per-worker statistics into the node's last row; return its critical path (s).

    The critical path is the longest single-process time: each worker's ``Actual Total Time`` ×
    ``Actual Loops``, and the leader's (node total − Σ workers).
    """
    wsum = 0.0
    wmax = 0.0
    n = 0
    for w in workers:
        if not isinstance(w, Mapping):
            continue
        wt = _num(w, "Actual Total Time", f"{key}.Workers", path)
        wl = _num(w, "Actual Loops", f"{key}.Workers", path)
        if wt == wt and wl == wl:
            wsum += wt * wl
            wmax = max(wmax, wt * wl)
            n += 1
        for col, name, unit in _WORKER_SUMS:
            v = w.get(name)
            if isinstance(v, int | float) and not isinstance(v, bool):
                cur = cols[col][nid]
                add = float(v) * unit if unit else v
                cols[col][nid] = add if cur is None or cur != cur else cur + add
        spill = w.get("Sort Space Type") == "Disk"
        if spill and cols["sort_space_type"][nid] != "Disk":
            cols["sort_space_type"][nid] = "Disk"
            cols["sort_method"][nid] = _s(w.get("Sort Method"))
        b = w.get("HashAgg Batches", w.get("Hash Batches"))
        if isinstance(b, int) and not isinstance(b, bool):
            cur = cols["hash_batches"][nid]
            cols["hash_batches"][nid] = b if cur is None else max(cur, b)
    if not n or not (t == t and loops == loops):
        return np.nan
    leader = max(t * loops - wsum, 0.0)
    return max(wmax, leader) * 1e-3


def _io_col(
    nodes: list[Mapping[str, Any]], present: set[str], old: str, shared: str, local: str
) -> list[float]:
    """An I/O time column: PG ≤16 ``old`` or the PG17 shared + local split, in seconds."""
    if old not in present and shared not in present and local not in present:
        return [np.nan] * len(nodes)
    out = [_ms(v) if (v := nd.get(old)) is not None else None for nd in nodes]
    if None in out:
        out = [
            _io(nd, old, shared, local) if v is None else v
            for nd, v in zip(nodes, out, strict=True)
        ]
    return out  # type: ignore[return-value]


def _io(node: Mapping[str, Any], old: str, shared: str, local: str) -> float:
    if old in node:
        return _ms(node[old])
    vals = [node[k] for k in (shared, local) if k in node]
    return _ms(sum(float(v) for v in vals)) if vals else np.nan


def _statement_root(stmt: Any, path: Any, index: int) -> Mapping[str, Any]:
    key = f"$[{index}]"
    if not isinstance(stmt, Mapping):
        raise FormatError("statement is not an object", path=path, key=key, found=stmt)
    root = stmt.get("Plan")
    if root is None:
        raise FormatError(
            "missing 'Plan'", path=path, key=key, expected="an EXPLAIN (FORMAT JSON) statement"
        )
    return root  # type: ignore[no-any-return]


def _columns_checked(walks: list[_Walk], path: Any, key: str) -> dict[str, Any]:
    try:
        cols = _columns(walks, path)
    except (TypeError, ValueError, AttributeError) as err:
        if isinstance(err, FormatError):
            raise
        # a field of an unexpected type (a list where a number belongs …): name the statement
        raise FormatError(
            f"unexpected value in plan ({err})", path=path, key=key, expected="EXPLAIN JSON fields"
        ) from err
    _check_ints(cols, path, key)
    return cols


def flatten_statements(
    stmts: list[Any],
    *,
    path: Any,
    indexes: list[int] | None = None,
    on_error: Any = None,
) -> tuple[dict[str, Any], list[int], list[int]]:
    """The nodes of many statements as one set of columns, built column by column over all nodes.

    Returns the columns, the row where each kept statement starts (plus the end) and the positions of
    the kept statements. A statement that is not a plan raises :class:`FormatError` naming its key, or,
    with *on_error* ``(position, error)``, is reported and left out.
    """
    idx = list(range(len(stmts))) if indexes is None else indexes
    walks: list[_Walk] = []
    kept: list[int] = []
    for k, stmt in enumerate(stmts):
        try:
            walks.append(_walk(_statement_root(stmt, path, idx[k]), f"$[{idx[k]}].Plan", path))
        except FormatError as err:
            if on_error is None:
                raise
            on_error(k, err)
            continue
        kept.append(k)
    starts = [0]
    for w in walks:
        starts.append(starts[-1] + len(w[0]))
    try:
        cols = _columns_checked(walks, path, f"$[{idx[kept[0]]}]" if kept else "$")
        return cols, starts, kept
    except FormatError:
        if len(walks) == 1 and on_error is None:
            raise
    # a bad value somewhere: redo statement by statement to name it and keep the others
    parts: list[dict[str, Any]] = []
    kept2: list[int] = []
    for k, w in zip(kept, walks, strict=True):
        try:
            parts.append(_columns_checked([w], path, f"$[{idx[k]}]"))
        except FormatError as err:
            if on_error is None:
                raise
            on_error(k, err)
            continue
        kept2.append(k)
    for part in parts:
        part["_workers"] = part["_workers"][0]
    cols, starts = concat_columns(parts)
    cols["_workers"] = [part["_workers"] for part in parts]
    return cols, starts, kept2


def _check_ints(cols: dict[str, Any], path: Any, key: str) -> None:
    for col in _INT_COLS:
        values = cols[col]
        types = set(map(type, values))
        if types <= {type(None)}:
            continue
        if types <= _NUMERIC_TYPES and float not in types:
            present = [v for v in values if v is not None]
            if max(present) < 2**63 and min(present) > -(2**63):
                continue  # the common case: plain ints or missing
        for v in values:
            if v is not None and (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not float(v).is_integer()
                or abs(v) >= 2**63
            ):
                raise FormatError(
                    f"{col!r} is {{found}}", path=path, key=key, found=v, expected="a whole number"
                )


_INT_COLS = (
    *_BLOCK_COLS,
    "workers_planned",
    "workers_launched",
    "hash_batches",
    "original_hash_batches",
    "heap_fetches",
    "exact_heap_blocks",
    "lossy_heap_blocks",
    "cache_hits",
    "cache_misses",
)
