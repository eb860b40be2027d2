"""Plan analyses: the self-time model for EXPLAIN ANALYZE trees, plan comparison, top nodes.

Entry points: :func:`self_times` (used by the EXPLAIN reader; documented below), :func:`plan_change_table`
(the table of :func:`perfnb.analysis.compare.compare_plans`), :func:`top_nodes`.

How self time is computed
-------------------------
PostgreSQL prints, per node, ``Actual Total Time`` *T* (ms, **average per loop**, rounded to 1 µs) and
``Actual Loops`` *L* (summed over every process that ran the node). perfnb computes:

1. **Inclusive wall time** ``total_time_s = T·L / P`` where *P* is the number of processes that ran the
   node concurrently: 1 outside a Gather / Gather Merge; inside one, the processes with loops > 0 from the
   per-worker ``Workers`` detail (VERBOSE) plus the leader when the worker loops do not account for all
   loops; without that detail ``min(workers_launched + 1, L)`` (so a Bitmap Index Scan run once under a
   Parallel Bitmap Heap Scan is not divided by 3, the defect of PEV2 #696).
2. **Children subtracted**: the node's ordinary children (Outer, Inner, Member, Subquery) and its SubPlans
   (evaluated inside its expressions, so inside its time).
3. **InitPlans** (not CTEs) are evaluated when their parameter is first read, so their time sits inside the
   node that reads it, not where they are printed. The consumer is the deepest node of the attaching
   subtree whose text fields mention the parameter (``$N`` with a word boundary up to PG16,
   ``(InitPlan k)`` from PG17); its self time loses the InitPlan's time. No consumer → the attaching node.
4. **CTEs** run inside the CTE Scans that pull their rows. The CTE's time is split over its scans in
   proportion to each scan's own time (after steps 2–3), never more than that own time (FlameExplain's
   proportional correction, with PEV2's numerator/denominator mix-up avoided); a remainder (a CTE that no
   scan pulled, e.g. a data-modifying CTE run at end of statement) is taken from the attaching node.

Every node's inclusive time is thus subtracted exactly once, so on a plan without clamping the self times
sum exactly to the root's inclusive time.

**Uncertainty.** Each printed time is ±0.5 µs, so an inclusive total is ±0.5 µs·L/P, and a self time is
uncertain by its own term plus its subtracted children's: ``self_time_uncertainty_s``. A raw self time
below zero (rounding × huge loop counts; workers still producing while a Gather's leader works above it)
is **not** silently floored: ``self_time_s`` is 0, ``self_time_clamped_s`` holds the amount removed and
``self_time_note`` says ``rounding`` (within the uncertainty), ``parallel-overlap`` (under a Gather) or
``overlap``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from perfnb.io.explain import Plan

__all__ = ["ROUNDING_S", "plan_change_table", "self_times", "top_nodes"]

#: Half the 1 µs resolution of EXPLAIN's printed times, in seconds.
ROUNDING_S = 0.5e-6

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


def self_times(
    *,
    parent: Sequence[int],
    relationship: Sequence[str | None],
    subplan_name: Sequence[str | None],
    cte_name: Sequence[str | None],
    node_type: Sequence[str],
    depth: Sequence[int],
    total_time_s: Sequence[float],
    loops: Sequence[float],
    processes: Sequence[float],
    under_gather: Sequence[bool],
    texts: Sequence[str],
) -> dict[str, np.ndarray]:
    """Self times of the nodes of one plan (see the module docstring for the method).

    Parameters
    ----------
    parent
        Parent node index (-1 for the root), nodes in pre-order.
    relationship, subplan_name, cte_name, node_type, depth
        The nodes' ``Parent Relationship``, ``Subplan Name``, ``CTE Name``, type and depth.
    total_time_s
        Inclusive wall time per node (already ``T·L/P``).
    loops, processes
        ``Actual Loops`` and the process divisor used for *total_time_s*.
    under_gather
        Whether the node runs below a Gather / Gather Merge.
    texts
        All expression text of a node joined (filters, conditions, output), to find InitPlan consumers.

    Returns
    -------
    dict of numpy arrays
        ``self_time_s``, ``self_time_uncertainty_s``, ``self_time_clamped_s``, ``self_time_note``.

    Examples
    --------
    >>> r = self_times(parent=[-1, 0], relationship=[None, "Outer"], subplan_name=[None, None],
    ...                cte_name=[None, None], node_type=["Limit", "Seq Scan"], depth=[0, 1],
    ...                total_time_s=[0.003, 0.002], loops=[1, 1], processes=[1, 1],
    ...                under_gather=[False, False], texts=["", ""])
    >>> [round(float(x), 6) for x in r["self_time_s"]]
    [0.001, 0.002]
    """
    n = len(parent)
    incl = np.asarray(total_time_s, dtype="float64")
    incl = np.where(np.isnan(incl), 0.0, incl)
    unc_own = (
        ROUNDING_S
        * np.asarray(loops, dtype="float64")
        / np.maximum(np.asarray(processes, dtype="float64"), 1.0)
    )
    unc_own = np.where(np.isnan(unc_own), 0.0, unc_own)
    raw = incl.copy()
    unc = unc_own.copy()
    children: list[list[int]] = [[] for _ in range(n)]
    for i in range(1, n):
        p = parent[i]
        if p >= 0:
            children[p].append(i)
    initplans: list[int] = []
    ctes: list[int] = []
    for i in range(n):
        p = parent[i]
        if p < 0:
            continue
        if relationship[i] == "InitPlan":
            name = subplan_name[i] or ""
            (ctes if name.startswith("CTE ") else initplans).append(i)
        else:
            raw[p] -= incl[i]
            unc[p] += unc_own[i]

    def subtree(root: int) -> list[int]:
        out, stack = [], [root]
        while stack:
            k = stack.pop()
            out.append(k)
            stack.extend(children[k])
        return out

    in_initplan = np.zeros(n, dtype=bool)
    for i in (*initplans, *ctes):
        for k in subtree(i):
            if k != i:
                in_initplan[k] = True
    for i in initplans:
        patterns = _param_patterns(subplan_name[i] or "")
        own = set(subtree(i))
        consumer = parent[i]
        best_depth = -1
        if patterns:
            for k in subtree(parent[i]):
                if k in own or depth[k] <= best_depth:
                    continue
                if any(pat.search(texts[k]) for pat in patterns):
                    consumer, best_depth = k, depth[k]
        raw[consumer] -= incl[i]
        unc[consumer] += unc_own[i]
    # CTEs: split over their scans in proportion to the scans' own time
    for i in ctes:
        name = (subplan_name[i] or "")[4:]
        scans = [k for k in range(n) if node_type[k] == "CTE Scan" and cte_name[k] == name]
        weights = np.array([max(raw[k], 0.0) for k in scans], dtype="float64")
        need = incl[i]
        total_w = float(weights.sum())
        taken = 0.0
        if total_w > 0 and need > 0:
            for k, w in zip(scans, weights, strict=True):
                share = min(w, need * w / total_w) if total_w >= need else w
                raw[k] -= share
                unc[k] += unc_own[i] * (share / need)
                taken += share
        rest = need - taken
        if rest > 0:
            raw[parent[i]] -= rest
            unc[parent[i]] += unc_own[i] * (rest / need if need else 1.0)
    clamped = np.where(raw < 0, -raw, 0.0)
    self_s = np.where(raw < 0, 0.0, raw)
    notes = np.empty(n, dtype=object)
    for i in range(n):
        if clamped[i] <= 0:
            notes[i] = None
        elif clamped[i] <= unc[i] * (1 + 1e-9):
            notes[i] = "rounding"
        elif (
            under_gather[i]
            or node_type[i] in ("Gather", "Gather Merge")
            or any(node_type[c] in ("Gather", "Gather Merge") for c in children[i])
        ):
            notes[i] = "parallel-overlap"
        else:
            notes[i] = "overlap"
    return {
        "self_time_s": self_s,
        "self_time_uncertainty_s": unc,
        "self_time_clamped_s": clamped,
        "self_time_note": notes,
    }


def top_nodes(plan: Plan, n: int = 10) -> pd.DataFrame:
    """The *n* nodes with the most self time, with a readable label.

    Examples
    --------
    >>> import perfnb
    >>> plan = perfnb.read_plan("data/samples/plans/seq_scan_filter.json")
    >>> top_nodes(plan, 1)["label"].iloc[0]
    'Seq Scan on orders'
    """
    df = plan.nodes.sort_values("self_time_s", ascending=False).head(n)
    out = df[
        ["node_id", "node_type", "relation", "self_time_s", "self_ratio", "total_time_s", "loops"]
    ].copy()
    out.insert(1, "label", [node_label(r) for r in df.to_dict("records")])
    return out.reset_index(drop=True)


def node_label(row: Mapping[Any, Any]) -> str:
    """``"Index Scan using idx on t"`` from a node row."""
    text = str(row.get("node_type") or "")
    index = row.get("index_name")
    relation = row.get("relation")
    cte = row.get("cte_name")
    if isinstance(index, str) and index:
        text += f" using {index}"
    if isinstance(relation, str) and relation:
        text += f" on {relation}"
    elif isinstance(cte, str) and cte:
        text += f" on {cte}"
    return text


def _signature(df: pd.DataFrame) -> list[str]:
    """A path key per node: the labels from the root, so equal subtrees align."""
    labels = [node_label(r) for r in df.to_dict("records")]
    parents = df["parent_id"].tolist()
    ids = df["node_id"].tolist()
    pos = {nid: k for k, nid in enumerate(ids)}
    keys: list[str] = []
    for k in range(len(ids)):
        p = parents[k]
        prefix = keys[pos[p]] + " > " if not pd.isna(p) and p in pos else ""
        keys.append(prefix + labels[k])
    return keys


def plan_change_table(a: Plan, b: Plan) -> pd.DataFrame:
    """What changed between two plans of the same query, node by node (the table of ``compare_plans``).

    Nodes are aligned by their path of node labels (type, index, relation) from the root; nodes present in
    only one plan are reported as ``removed`` / ``added``.

    Returns
    -------
    DataFrame
        One row per aligned node: ``key``, ``change`` (``same``, ``changed``, ``added``, ``removed``),
        ``node_type_a``/``_b``, ``actual_rows_a``/``_b``, ``self_time_a_s``/``_b_s``, ``total_time_a_s``/
        ``_b_s``, ``delta_self_time_s``, plus a first row ``key="(plan)"`` with the execution times.
        ``attrs["perfnb"]["speedup_ratio"]`` is a/b of execution time.

    Examples
    --------
    >>> import perfnb
    >>> a = perfnb.read_plan("data/samples/plans/seq_scan_filter.json")
    >>> b = perfnb.read_plan("data/samples/plans/index_fixed.json")
    >>> d = plan_change_table(a, b)
    >>> sorted(set(d["change"]))
    ['added', 'changed', 'removed']
    """
    rows: list[dict[str, Any]] = []
    ea, eb = a.execution_time_s, b.execution_time_s
    rows.append(
        {
            "key": "(plan)",
            "change": "changed" if ea != eb else "same",
            "node_type_a": None,
            "node_type_b": None,
            "actual_rows_a": np.nan,
            "actual_rows_b": np.nan,
            "self_time_a_s": np.nan,
            "self_time_b_s": np.nan,
            "total_time_a_s": ea,
            "total_time_b_s": eb,
            "delta_self_time_s": np.nan,
        }
    )
    na, nb = a.nodes, b.nodes
    ka, kb = _signature(na), _signature(nb)
    used_b: set[int] = set()
    index_b: dict[str, list[int]] = {}
    for j, key in enumerate(kb):
        index_b.setdefault(key, []).append(j)
    ra = na.to_dict("records")
    rb = nb.to_dict("records")

    def val(r: Mapping[Any, Any] | None, col: str) -> Any:
        return np.nan if r is None else r.get(col)

    for i, key in enumerate(ka):
        cands = [k for k in index_b.get(key, []) if k not in used_b]
        match = cands[0] if cands else None
        if match is not None:
            used_b.add(match)
        rows.append(_cmp_row(key, ra[i], rb[match] if match is not None else None, val))
    for j, key in enumerate(kb):
        if j not in used_b:
            rows.append(_cmp_row(key, None, rb[j], val))
    out = pd.DataFrame(rows)
    out.attrs["perfnb"] = {
        "speedup_ratio": (ea / eb)
        if ea and eb and not math.isnan(ea) and not math.isnan(eb)
        else None
    }
    return out


def _cmp_row(
    key: str, x: Mapping[Any, Any] | None, y: Mapping[Any, Any] | None, val: Any
) -> dict[str, Any]:
    if x is None:
        change = "added"
    elif y is None:
        change = "removed"
    else:
        ra, rb = x.get("actual_rows_total"), y.get("actual_rows_total")
        ta, tb = x.get("total_time_s"), y.get("total_time_s")
        same_rows = ra == rb or (pd.isna(ra) and pd.isna(rb))
        close = pd.isna(ta) or pd.isna(tb) or abs(float(ta) - float(tb)) <= 0.1 * max(ta, tb, 1e-4)
        change = "same" if same_rows and close else "changed"
    sa, sb = val(x, "self_time_s"), val(y, "self_time_s")
    return {
        "key": key,
        "change": change,
        "node_type_a": val(x, "node_type") if x else None,
        "node_type_b": val(y, "node_type") if y else None,
        "actual_rows_a": val(x, "actual_rows_total"),
        "actual_rows_b": val(y, "actual_rows_total"),
        "self_time_a_s": sa,
        "self_time_b_s": sb,
        "total_time_a_s": val(x, "total_time_s"),
        "total_time_b_s": val(y, "total_time_s"),
        "delta_self_time_s": (0.0 if pd.isna(sb) else sb) - (0.0 if pd.isna(sa) else sa),
    }
