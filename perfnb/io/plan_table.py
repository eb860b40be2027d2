"""Node tables of many plans in one pass: vectorized time attribution and one columnar frame.

Entry points: :func:`attribute` (self times of every node of many plans at once, numpy over the
concatenated nodes), :class:`NodeTable` (the nodes of many plans as one :data:`PLAN_NODE_TABLE` frame,
built once; each :class:`~perfnb.io.plan_model.Plan` slices its rows from it) and :func:`node_table`
(the table of any list of plans).

The EXPLAIN reader flattens each statement into plain columns (:func:`perfnb.io.explain.plans_from_json`),
concatenates the statements of a file, and calls :func:`attribute` once, so a 700-plan auto_explain log
costs one set of numpy passes instead of 700 DataFrames.

How time is attributed
----------------------
PostgreSQL prints per node ``Actual Total Time`` *T* (ms, average per loop, rounded to 1 µs) and
``Actual Loops`` *L* (summed over every process that ran the node). Work happens in *process time*
``I = T·L``; within one process a node's time nests inside its parent's.

1. **Cap children by their parent.** A parent's ordinary children and SubPlans run inside it, so their
   process times cannot exceed its own. When they do, it is rounding (each printed per-loop time is
   ±0.5 µs, ±0.5 µs·L over *L* loops: an index scan run 100,000 times at a printed 0.001 ms is
   100 ms ± 50 ms) or overlap. The excess is taken from the children in proportion to their rounding
   uncertainty first (so the many-loop child absorbs it), any remainder in proportion to their times;
   this runs top-down, so a capped child caps its own children in turn. ``self_time_clamped_s`` holds
   the amount removed, ``self_time_note`` ``rounding`` (within the uncertainty) or ``overlap``.
2. **Self time** = capped inclusive time − the children's capped inclusive times (Outer, Inner, Member,
   Subquery, SubPlan). InitPlans and CTEs are then moved to the node that consumed them (see
   :mod:`perfnb.analysis.plans`).
3. **Parallel plans.** Below a Gather / Gather Merge, each process runs its own copy of the subtree; the
   Gather waits for the slowest. Its wall time below is the *critical path* ``W``: the longest process
   time of the Gather's child, from the per-worker ``Workers`` detail of EXPLAIN VERBOSE (leader =
   node total − Σ workers), at most the Gather's own time (workers keep producing while the leader works
   above the Gather, so their time can exceed it). Without worker detail ``W`` is the per-process
   average ``T·L/P``. The subtree's process self times are scaled to sum to ``W``: each node gets its
   share of the wall time, and the Gather keeps only ``T_gather − W`` (launching workers, moving tuples)
   — never the time a worker spent in the nested loop below it. ``total_time_s`` below a Gather is the
   node's share of ``W`` on the same scale.

Every node's (capped) inclusive time is subtracted exactly once, so the self times of a plan sum to its
root's time (plus what was clamped, reported per node); ``self_time_uncertainty_s`` bounds each self
time by the rounding of its own and its children's printed times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfnb.io.plan_model import PLAN_NODES
from perfnb.schema import Column, Schema

if TYPE_CHECKING:
    from perfnb.io.plan_model import Plan

__all__ = ["PLAN_NODE_TABLE", "ROUNDING_S", "NodeTable", "attribute", "node_table"]

#: Half the 1 µs resolution of EXPLAIN's printed times, in seconds.
ROUNDING_S = 0.5e-6

# not registered: the README's format reference would repeat every plan_nodes column
PLAN_NODE_TABLE = Schema(
    "plan_node_table",
    (
        Column(
            "plan_id",
            "int64",
            doc="Position of the plan in the list read together (file order, then log order).",
        ),
        *PLAN_NODES.columns,
    ),
    doc="The nodes of many plans in one table: plan_id, then the plan_nodes columns. Built once per "
    "file or list of plans; each Plan's nodes are a slice of it.",
)

_GATHER = ("Gather", "Gather Merge")
_INITPLAN_OLD = re.compile(r"returns (\$\d+(?:,\s*\$\d+)*)")
_INITPLAN_NEW = re.compile(r"^InitPlan (\d+)")


def _param_patterns(subplan_name: str) -> list[re.Pattern[str]]:
    """Regexes that find a use of an InitPlan's output in other nodes' expressions."""
    m = _INITPLAN_OLD.search(subplan_name)
    if m:
        names = [p.strip() for p in m.group(1).split(",")]
        return [re.compile(re.escape(n) + r"(?!\d)") for n in names]
    m = _INITPLAN_NEW.match(subplan_name)
    if m:
        return [re.compile(r"\(InitPlan " + m.group(1) + r"\)")]
    return []


def attribute(
    *,
    parent: Sequence[int] | np.ndarray,
    relationship: Sequence[str | None],
    subplan_name: Sequence[str | None],
    cte_name: Sequence[str | None],
    node_type: Sequence[str],
    depth: Sequence[int] | np.ndarray,
    time_per_loop_s: Sequence[float] | np.ndarray,
    loops: Sequence[float] | np.ndarray,
    processes: Sequence[float] | np.ndarray,
    gather: Sequence[int] | np.ndarray,
    critical_s: Sequence[float] | np.ndarray,
    texts: Sequence[str],
    plan: Sequence[int] | np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Inclusive and self times of the nodes of one or many plans (method in the module docstring).

    Parameters
    ----------
    parent
        Index of each node's parent in these arrays (-1 for a root); nodes of a plan in pre-order.
    relationship, subplan_name, cte_name, node_type, depth
        ``Parent Relationship``, ``Subplan Name``, ``CTE Name``, ``Node Type`` and depth of each node.
    time_per_loop_s, loops
        ``Actual Total Time`` (in seconds) and ``Actual Loops`` as printed.
    processes
        Processes that ran the node (the divisor for the per-process average without worker detail).
    gather
        Index of the nearest Gather / Gather Merge above the node (-1 if none).
    critical_s
        Longest single-process time of the node from its ``Workers`` detail (NaN without it).
    texts
        Each node's expression text, to find InitPlan consumers.
    plan
        Plan number of each node (default: one plan).

    Returns
    -------
    dict of numpy arrays
        ``total_time_s`` (wall time after capping and parallel scaling), ``self_time_s``,
        ``self_time_uncertainty_s``, ``self_time_clamped_s``, ``self_time_note``, ``self_ratio``.

    Examples
    --------
    A Nested Loop of 89.7 ms whose inner index-only scan printed 0.001 ms × 100,000 loops:

    >>> r = attribute(parent=[-1, 0, 0], relationship=[None, "Outer", "Inner"],
    ...               subplan_name=[None] * 3, cte_name=[None] * 3,
    ...               node_type=["Nested Loop", "Index Scan", "Index Only Scan"], depth=[0, 1, 1],
    ...               time_per_loop_s=[0.0897, 0.0135, 1e-6], loops=[1, 1, 100_000],
    ...               processes=[1, 1, 1], gather=[-1, -1, -1], critical_s=[np.nan] * 3,
    ...               texts=["", "", ""])
    >>> [round(float(x) * 1e3, 1) for x in r["total_time_s"]]
    [89.7, 13.5, 76.2]
    >>> round(float(r["self_time_s"].sum()) * 1e3, 1), str(r["self_time_note"][2])
    (89.7, 'rounding')
    """
    par = np.asarray(parent, dtype="int64")
    n = len(par)
    nt = np.asarray(node_type, dtype=object)
    rel = np.asarray(relationship, dtype=object)
    dep = np.asarray(depth, dtype="int64")
    t = np.nan_to_num(np.asarray(time_per_loop_s, dtype="float64"))
    lp = np.nan_to_num(np.asarray(loops, dtype="float64"))
    procs = np.maximum(np.nan_to_num(np.asarray(processes, dtype="float64"), nan=1.0), 1.0)
    gat = np.asarray(gather, dtype="int64")
    crit = np.asarray(critical_s, dtype="float64")
    pid = np.zeros(n, dtype="int64") if plan is None else np.asarray(plan, dtype="int64")
    with np.errstate(all="ignore"):
        incl = t * lp  # process time
        unc_own = ROUNDING_S * lp
    is_gather = np.isin(nt, _GATHER)
    is_init = rel == "InitPlan"
    has_parent = par >= 0
    psafe = np.where(has_parent, par, 0)
    sub = has_parent & ~is_init
    cap_edge = sub & ~is_gather[psafe]
    # 1. cap children by their parent, top-down
    adj = incl.copy()
    capped = np.zeros(n)
    overflow = np.zeros(n, dtype=bool)
    order = np.argsort(dep, kind="stable")
    bounds = np.searchsorted(dep[order], np.arange(int(dep.max(initial=0)) + 2))
    for d in range(1, len(bounds) - 1):
        level = order[bounds[d] : bounds[d + 1]]
        level = level[cap_edge[level]]
        if not len(level):
            continue
        up, inv = np.unique(par[level], return_inverse=True)
        s = np.bincount(inv, adj[level])
        excess = s - adj[up]
        if not (excess > adj[up] * 1e-12).any():
            continue
        excess = np.maximum(excess, 0.0)
        u_sum = np.bincount(inv, unc_own[level])
        take_u = np.minimum(excess, u_sum)
        with np.errstate(all="ignore"):
            r = np.where(u_sum[inv] > 0, unc_own[level] / u_sum[inv] * take_u[inv], 0.0)
            rest = excess - take_u
            base = adj[level] - r
            b_sum = np.bincount(inv, base)
            r = r + np.where(b_sum[inv] > 0, base / b_sum[inv] * rest[inv], 0.0)
        adj[level] = adj[level] - r
        capped[level] = r
        # beyond the children's rounding and the parent's own: not rounding
        overflow[level] = rest[inv] > unc_own[up][inv] * (1 + 1e-9) + 1e-12
    # 2. self = capped inclusive − subtracted children
    idx = np.flatnonzero(sub)
    child_sum = np.bincount(par[idx], adj[idx], minlength=n)
    raw = adj - child_sum
    unc = unc_own + np.bincount(par[idx], unc_own[idx], minlength=n)
    total = adj.copy()
    # 3. parallel: scale each Gather's subtree to its critical path
    under = gat >= 0
    if under.any():
        members = np.flatnonzero(under)
        g_of = gat[members]
        cpu = np.maximum(raw[members], 0.0)
        gathers = np.unique(g_of)
        cpu_sum = np.bincount(g_of, cpu, minlength=n)[gathers]
        # critical path of each Gather: its direct children's longest process time
        direct = members[(par[members] == g_of) & sub[members]]
        with np.errstate(all="ignore"):
            c_path = np.where(np.isnan(crit[direct]), incl[direct] / procs[direct], crit[direct])
        w = np.bincount(par[direct], c_path, minlength=n)[gathers]
        w = np.minimum(w, adj[gathers])
        with np.errstate(all="ignore"):
            scale_g = np.where(cpu_sum > 0, w / cpu_sum, 0.0)
        scale = np.zeros(n)
        scale[gathers] = scale_g
        f = scale[g_of]
        raw[members] = cpu * f + np.minimum(raw[members], 0.0)
        unc[members] = unc[members] * f
        capped[members] = capped[members] * f
        total[members] = adj[members] * f
        # the Gather keeps its time above the critical path; its subtracted children were in process
        # units, so recompute from W (a Gather has no other ordinary children)
        g_child = np.bincount(par[direct], adj[direct], minlength=n)[gathers]
        raw[gathers] = raw[gathers] + g_child - w
    # 4. InitPlans and CTEs: moved to their consumers (a few nodes; per plan)
    inits = np.flatnonzero(is_init)
    if len(inits):
        _move_initplans(
            inits, par, pid, dep, nt, subplan_name, cte_name, texts, total, raw, unc, unc_own
        )
    clamped = np.where(raw < 0, -raw, 0.0)
    self_s = np.where(raw < 0, 0.0, raw)
    removed = clamped + capped
    notes = np.full(n, None, dtype=object)
    hit = np.flatnonzero(removed > 1e-12)
    if len(hit):
        near_gather = under | is_gather
        kids_gather = np.zeros(n, dtype=bool)
        kids_gather[par[has_parent & is_gather]] = True
        for i in hit:
            if clamped[i] <= unc[i] * (1 + 1e-9) and not overflow[i]:
                notes[i] = "rounding"
            elif near_gather[i] or kids_gather[i]:
                notes[i] = "parallel-overlap"
            else:
                notes[i] = "overlap"
    plan_sum = np.bincount(pid, self_s)
    with np.errstate(all="ignore"):
        denom = plan_sum[pid]
        ratio = np.where(denom > 0, self_s / denom, np.nan)
    # totals: outside a Gather the capped process time is the wall time (one process)
    return {
        "total_time_s": total,
        "self_time_s": self_s,
        "self_time_uncertainty_s": unc,
        "self_time_clamped_s": removed,
        "self_time_note": notes,
        "self_ratio": ratio,
    }


def _move_initplans(
    inits: np.ndarray,
    par: np.ndarray,
    pid: np.ndarray,
    dep: np.ndarray,
    nt: np.ndarray,
    subplan_name: Sequence[str | None],
    cte_name: Sequence[str | None],
    texts: Sequence[str],
    incl: np.ndarray,
    raw: np.ndarray,
    unc: np.ndarray,
    unc_own: np.ndarray,
) -> None:
    """InitPlans: subtract from the consuming node; CTEs: split over their scans (in place).

    An InitPlan runs when its parameter is first read, so its time sits inside the node that reads it
    (``$N`` up to PG16, ``(InitPlan k)`` from PG17), not where it is printed; no consumer found → the
    attaching node. A CTE runs inside the CTE Scans that pull its rows: its time is split over them in
    proportion to their own time, never more than that (FlameExplain's correction); a remainder (a
    CTE no scan pulled) is taken from the attaching node.
    """
    for p in np.unique(pid[inits]):
        nodes = np.flatnonzero(pid == p)
        lo = int(nodes[0])
        hi = int(nodes[-1]) + 1
        children: dict[int, list[int]] = {}
        for k in range(lo, hi):
            if par[k] >= 0:
                children.setdefault(int(par[k]), []).append(k)

        def subtree(root: int, children: dict[int, list[int]] = children) -> list[int]:
            out, stack = [], [root]
            while stack:
                k = stack.pop()
                out.append(k)
                stack.extend(children.get(k, ()))
            return out

        plan_inits = [int(i) for i in inits if lo <= i < hi]
        ctes = [i for i in plan_inits if (subplan_name[i] or "").startswith("CTE ")]
        initplans = [i for i in plan_inits if i not in ctes]
        for i in initplans:
            patterns = _param_patterns(subplan_name[i] or "")
            own = set(subtree(i))
            consumer = int(par[i])
            best = -1
            if patterns:
                for k in subtree(int(par[i])):
                    if k in own or dep[k] <= best:
                        continue
                    if any(pat.search(texts[k]) for pat in patterns):
                        consumer, best = k, int(dep[k])
            raw[consumer] -= incl[i]
            unc[consumer] += unc_own[i]
        for i in ctes:
            name = (subplan_name[i] or "")[4:]
            scans = [k for k in range(lo, hi) if nt[k] == "CTE Scan" and cte_name[k] == name]
            weights = np.array([max(raw[k], 0.0) for k in scans], dtype="float64")
            need = float(incl[i])
            total_w = float(weights.sum())
            taken = 0.0
            if total_w > 0 and need > 0:
                for k, w in zip(scans, weights, strict=True):
                    share = min(w, need * w / total_w) if total_w >= need else w
                    raw[k] -= share
                    taken += share
            rest = need - taken
            if rest > 0:
                raw[int(par[i])] -= rest


class NodeTable:
    """The nodes of many plans as plain columns, made into one :data:`PLAN_NODE_TABLE` frame on demand.

    Parameters
    ----------
    columns
        Column name → list or numpy array over all nodes (the :data:`PLAN_NODES` columns).
    starts
        Row where each plan starts (one entry per plan, plus the end).
    """

    def __init__(self, columns: dict[str, Any], starts: Sequence[int]) -> None:
        self.columns = columns
        self.starts = list(starts)
        self._frame: pd.DataFrame | None = None

    @property
    def frame(self) -> pd.DataFrame:
        """The :data:`PLAN_NODE_TABLE` frame (built once, on first access)."""
        if self._frame is None:
            n = self.starts[-1]
            counts = np.diff(np.asarray(self.starts, dtype="int64"))
            data: dict[str, Any] = {"plan_id": np.repeat(np.arange(len(counts)), counts)}
            for name in PLAN_NODES.names:
                values = self.columns.get(name)
                data[name] = _typed(name, values, n)
            self._frame = PLAN_NODE_TABLE.conform(pd.DataFrame(data, copy=False))
        return self._frame

    def plan_nodes(self, k: int) -> pd.DataFrame:
        """The :data:`PLAN_NODES` rows of plan *k* (a slice of :attr:`frame`)."""
        lo, hi = self.starts[k], self.starts[k + 1]
        out = self.frame.iloc[lo:hi, 1:].reset_index(drop=True)
        out.attrs = {}
        return out


_NUMERIC = {c.name: str(c.dtype) for c in PLAN_NODES.columns if str(c.dtype) in ("float64", "Int64", "int64")}  # fmt: skip


def _typed(name: str, values: Any, n: int) -> Any:
    """A column as numpy / masked array (pandas' generic list sanitising is slow); text as is."""
    if values is None:
        return np.full(n, np.nan) if name in _NUMERIC else pd.array([None] * n, dtype="object")
    if isinstance(values, str):
        return [values] * n
    dtype = _NUMERIC.get(name)
    if dtype is None:
        return values
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        arr = values
    else:
        try:
            arr = np.asarray(values, dtype="float64")
        except (TypeError, ValueError):
            arr = np.array([np.nan if v is None else v for v in values], dtype="float64", ndmin=1)
    if dtype == "Int64":
        mask = np.isnan(arr)
        return pd.arrays.IntegerArray(np.where(mask, 0, arr).astype("int64"), mask)
    if dtype == "int64":
        return arr.astype("int64")
    return arr


def concat_columns(parts: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], list[int]]:
    """Concatenate per-plan column dicts (lists or arrays; a str is a constant) → columns, starts."""
    parts = list(parts)
    starts = [0]
    for part in parts:
        starts.append(starts[-1] + len(part["node_id"]))
    out: dict[str, Any] = {}
    if not parts:
        return out, starts
    for name in parts[0]:
        first = parts[0][name]
        if isinstance(first, np.ndarray):
            out[name] = np.concatenate([np.asarray(p[name]) for p in parts])
        else:
            col: list[Any] = []
            for p, lo, hi in zip(parts, starts, starts[1:], strict=False):
                v = p[name]
                if isinstance(v, str):
                    col.extend([v] * (hi - lo))
                else:
                    col.extend(v)
            out[name] = col
    return out, starts


def node_table(plans: Iterable[Plan]) -> pd.DataFrame:
    """One :data:`PLAN_NODE_TABLE` frame for many plans: ``plan_id`` = position in *plans*.

    Plans read together (one file, one log) already share a table; it is returned as is when *plans*
    is exactly that set. Otherwise the plans' columns are concatenated and converted once.

    Examples
    --------
    >>> import perfnb
    >>> plans = perfnb.read_plans("data/samples/plans/psql_multi.txt")
    >>> t = node_table(plans)
    >>> t.groupby("plan_id").size().tolist(), t.columns[:3].tolist()
    ([1, 2], ['plan_id', 'node_id', 'parent_id'])
    """
    plans = list(plans)
    tables = {id(getattr(p, "_table", None)) for p in plans}
    if len(tables) == 1 and plans:
        table = plans[0]._table
        if isinstance(table, NodeTable) and [p._row for p in plans] == list(
            range(len(table.starts) - 1)
        ):
            return table.frame
    cols, starts = concat_columns(p.node_data for p in plans)
    return NodeTable(cols, starts).frame
