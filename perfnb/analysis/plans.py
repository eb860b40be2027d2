"""Plan analyses: the self-time model for EXPLAIN ANALYZE trees, plan comparison, top nodes.

Entry points: :func:`query_groups` (plans grouped by query: count, total/mean/max time, worst
plan), :func:`group_hotspots` (the top nodes of the worst plan of each top group), :func:`self_times`
(documented below), :func:`plan_change_table` (the table of
:func:`perfnb.analysis.compare.compare_plans`), :func:`top_nodes`.

How self time is computed
-------------------------
The model (children capped by their parent's measured time with the rounding error spread over the
many-loop children, InitPlans and CTEs moved to their consumers, Gather subtrees scaled to their
critical path from the per-worker detail) lives with the reader, in :mod:`perfnb.io.plan_table`, which
attributes all nodes of all plans of a file in one vectorized pass. :func:`self_times` applies it to
one plan's columns.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfnb.io.plan_table import ROUNDING_S, attribute

if TYPE_CHECKING:
    from perfnb.model.plan import Plan

__all__ = [
    "ROUNDING_S",
    "group_hotspots",
    "normalize_query",
    "plan_change_table",
    "plan_ref",
    "query_group",
    "query_groups",
    "self_times",
    "top_nodes",
]


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
    par = [int(p) for p in parent]
    gather = [-1] * n
    for i in range(1, n):
        p = par[i]
        if p >= 0:
            gather[i] = p if node_type[p] in ("Gather", "Gather Merge") else gather[p]
    lp = np.asarray(loops, dtype="float64")
    procs = np.maximum(np.nan_to_num(np.asarray(processes, dtype="float64"), nan=1.0), 1.0)
    with np.errstate(all="ignore"):
        per_loop = np.where(lp > 0, np.asarray(total_time_s, dtype="float64") * procs / lp, 0.0)
    out = attribute(
        parent=par,
        relationship=relationship,
        subplan_name=subplan_name,
        cte_name=cte_name,
        node_type=node_type,
        depth=depth,
        time_per_loop_s=per_loop,
        loops=lp,
        processes=procs,
        gather=gather,
        critical_s=np.full(n, np.nan),
        texts=texts,
    )
    return {
        k: out[k]
        for k in ("self_time_s", "self_time_uncertainty_s", "self_time_clamped_s", "self_time_note")
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


# ------------------------------------------------------------------------------------ query groups

_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)
_STRING = re.compile(r"(?:[EeBbXxNn]|U&)?'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
_PARAM = re.compile(r"\$\d+")
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")


def normalize_query(text: str) -> str:
    """Query text with literals replaced by ``?`` (pg_stat_statements style), for grouping plans.

    Comments go, string and number literals and ``$n`` parameters become ``?``, ``IN (?, ?, ?)``
    lists become ``(?...)``, whitespace collapses, a trailing ``;`` goes.

    Examples
    --------
    >>> normalize_query("SELECT id FROM orders  WHERE email = 'a@b.c' AND id IN (1, 2, 3);")
    'SELECT id FROM orders WHERE email = ? AND id IN (?...)'
    """
    t = _COMMENT.sub(" ", text)
    t = _STRING.sub("?", t)
    t = _PARAM.sub("?", t)
    t = _NUMBER.sub("?", t)
    t = _LIST.sub("(?...)", t)
    return " ".join(t.split()).rstrip(";").rstrip()


def query_group(plan: Plan) -> str | None:
    """The plan's query group id, or ``None`` when the plan has no query text.

    ``queryid N`` from EXPLAIN VERBOSE's Query Identifier, else ``q`` + a hash of the normalized query
    text.

    Examples
    --------
    >>> import perfnb
    >>> plans = perfnb.read_plans("data/samples/plans/auto_explain/workload.log")
    >>> query_group(plans[0]) == query_group(plans[1]) != query_group(plans[7])
    True
    """
    qid = plan.raw.get("Query Identifier")
    if isinstance(qid, int) and not isinstance(qid, bool) and qid:
        return f"queryid {qid}"
    if not plan.query:
        return None
    digest = hashlib.blake2b(normalize_query(plan.query).encode(), digest_size=4).hexdigest()
    return f"q{digest}"


def plan_ref(plan: Plan) -> str:
    """``file#index`` (or ``run#index``) naming one plan of a file, folder or log.

    A plan kept from a log read with ``engine="stream"``/``"dask"`` is named by when it was logged
    (``postgresql.log at 2026-12-03 09:37:20.952 UTC``): its position in the log is not kept.
    """
    ref = plan.meta.get("ref")
    if isinstance(ref, str) and ref:
        return ref
    name = Path(plan.path).name if plan.path else (plan.run or "plan")
    return f"{name}#{plan.index}"


def query_groups(plans: Sequence[Plan]) -> pd.DataFrame:
    """Plans grouped by query: how often each ran, its total / mean / max duration, its worst plan.

    Plans group by ``Query Identifier`` when EXPLAIN VERBOSE printed it, else by their query text with
    literals normalized (:func:`normalize_query`); a plan without either is a group of its own. The
    duration is the execution time (auto_explain: the logged duration).

    Returns
    -------
    DataFrame
        One row per group, largest total first: ``query_group``, ``query`` (normalized text or
        ``None``), ``plans``, ``total_time_s``, ``mean_time_s``, ``max_time_s``, ``worst_plan``
        (position in *plans*), ``worst_plan_ref`` (``file#index``), ``time_ratio`` (share of all
        plans' time).

    Examples
    --------
    >>> import perfnb
    >>> plans = perfnb.read_plans("data/samples/plans/auto_explain/workload.log")
    >>> g = query_groups(plans)
    >>> int(g["plans"].sum()) == len(plans), int(g["plans"].max())
    (True, 6)

    A set read with ``engine="stream"``/``"dask"`` holds only each group's worst plan; its group table
    of the whole log (``meta["groups"]``, with ``first_seen``/``last_seen``) is returned instead.
    """
    groups = getattr(plans, "meta", {}).get("groups")
    if isinstance(groups, pd.DataFrame):
        return groups.copy()
    rows: dict[str, dict[str, Any]] = {}
    for k, plan in enumerate(plans):
        key = query_group(plan) or f"plan {plan_ref(plan)}"
        t = plan.total_time_s
        t = 0.0 if t != t else float(t)
        row = rows.get(key)
        if row is None:
            query = normalize_query(plan.query) if plan.query else None
            rows[key] = row = {
                "query_group": key, "query": query, "plans": 0, "total_time_s": 0.0,
                "max_time_s": -1.0, "worst_plan": k, "worst_plan_ref": plan_ref(plan),
            }  # fmt: skip
        row["plans"] += 1
        row["total_time_s"] += t
        if t > row["max_time_s"]:
            row["max_time_s"] = t
            row["worst_plan"] = k
            row["worst_plan_ref"] = plan_ref(plan)
    cols = ["query_group", "query", "plans", "total_time_s", "mean_time_s", "max_time_s",
            "worst_plan", "worst_plan_ref", "time_ratio"]  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(list(rows.values()))
    out["mean_time_s"] = out["total_time_s"] / out["plans"]
    total = float(out["total_time_s"].sum())
    out["time_ratio"] = out["total_time_s"] / total if total > 0 else np.nan
    out = out.sort_values(["total_time_s", "plans"], ascending=False, kind="stable")
    out["query"] = out["query"].astype("string")
    return out[cols].reset_index(drop=True)


def group_hotspots(plans: Sequence[Plan], *, top: int = 3, n: int = 5) -> pd.DataFrame:
    """Where the worst plan of each of the *top* query groups spends its time (its *n* top nodes).

    Returns
    -------
    DataFrame
        One row per node: ``query_group``, ``plans`` (in the group), ``group_time_s`` (total),
        ``worst_plan_ref``, ``plan_time_s`` (the worst plan's time), ``label``, ``self_time_s``,
        ``self_ratio`` (of the worst plan), ``loops``.

    Examples
    --------
    >>> import perfnb
    >>> plans = perfnb.read_plans("data/samples/plans/auto_explain/workload.log")
    >>> h = group_hotspots(plans, top=2, n=1)
    >>> h["query_group"].nunique(), len(h)
    (2, 2)
    """
    groups = query_groups(plans).head(top)
    frames = []
    for g in groups.to_dict("records"):
        plan = plans[int(g["worst_plan"])]
        nodes = top_nodes(plan, n)
        nodes.insert(0, "plan_time_s", plan.total_time_s)
        nodes.insert(0, "worst_plan_ref", g["worst_plan_ref"])
        nodes.insert(0, "group_time_s", g["total_time_s"])
        nodes.insert(0, "plans", g["plans"])
        nodes.insert(0, "query_group", g["query_group"])
        frames.append(nodes)
    cols = ["query_group", "plans", "group_time_s", "worst_plan_ref", "plan_time_s", "label",
            "self_time_s", "self_ratio", "loops"]  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]
