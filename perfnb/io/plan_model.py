"""The plan node table (:data:`PLAN_NODES`, declared once here) and the :class:`Plan` object.

Readers (:mod:`perfnb.io.explain`, :mod:`perfnb.io.explain_text`, :mod:`perfnb.io.auto_explain`,
:mod:`perfnb.postgres`) build plans; rules (:mod:`perfnb.rules.plans`), analyses
(:mod:`perfnb.analysis.plans`) and figures (:mod:`perfnb.plot.plans`) read them. The node table is built
lazily from plain columns, so loading hundreds of logged plans stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfnb.errors import FormatError
from perfnb.schema import PROVENANCE, Column, Schema, register

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from perfnb.findings import Findings

__all__ = ["PLAN_NODES", "Plan"]

_F = "float64"
_I = "Int64"


def _c(name: str, dtype: Any, doc: str, unit: str | None = None) -> Column:
    return Column(name, dtype, unit=unit, doc=doc)


PLAN_NODES = register(
    Schema(
        "plan_nodes",
        (
            _c("node_id", "int64", "Pre-order number of the node, root = 0."),
            _c("parent_id", _I, "node_id of the parent (missing for the root)."),
            _c("depth", "int64", "Depth in the tree, root = 0."),
            _c("node_type", "category", "Node Type (``Seq Scan``, ``Hash Join`` …)."),
            _c("relation", "string", "Relation Name, if any."),
            _c("schema_name", "string", "Schema of the relation (VERBOSE)."),
            _c("index_name", "string", "Index Name, if any."),
            _c("alias", "string", "Alias of the relation."),
            _c("cte_name", "string", "CTE Name read by a CTE Scan."),
            _c(
                "parent_relationship",
                "category",
                "Outer, Inner, Member, Subquery, InitPlan, SubPlan.",
            ),
            _c(
                "subplan_name",
                "string",
                "Subplan Name (``CTE x``, ``InitPlan 1 (returns $0)``, ``SubPlan 2``).",
            ),
            _c(
                "strategy",
                "string",
                "Aggregate strategy / join type / scan direction, when present.",
            ),
            _c("parallel_aware", "boolean", "Parallel Aware."),
            _c("startup_cost", _F, "Planner startup cost."),
            _c("total_cost", _F, "Planner total cost."),
            _c("plan_rows", _F, "Estimated rows per loop (per process under a Gather)."),
            _c("actual_rows", _F, "Actual rows per loop (an average; fractional from PG18)."),
            _c("actual_rows_total", _F, "actual_rows × loops: rows over all loops and processes."),
            _c("loops", _F, "Actual Loops over all processes (0 = never executed)."),
            _c("workers_planned", _I, "Workers Planned (Gather nodes)."),
            _c(
                "workers_launched", _I, "Workers Launched (Gather nodes; inherited by nodes below)."
            ),
            _c("processes", _F, "Processes that ran the node concurrently (time divisor)."),
            _c("estimate_factor", _F, "max(a/e, e/a) with rows per loop floored at 1."),
            _c(
                "estimate_direction",
                "category",
                "``under`` (more rows than planned), ``over`` or ``exact``.",
            ),
            _c("rows_removed_by_filter", _F, "Rows Removed by Filter, total over loops."),
            _c("rows_removed_by_join_filter", _F, "Rows Removed by Join Filter, total over loops."),
            _c(
                "rows_removed_by_index_recheck",
                _F,
                "Rows Removed by Index Recheck, total over loops.",
            ),
            _c("startup_time_s", _F, "Actual Startup Time per loop.", "s"),
            _c("time_per_loop_s", _F, "Actual Total Time per loop, as printed.", "s"),
            _c("total_time_s", _F, "Inclusive wall time: per-loop time × loops / processes.", "s"),
            _c(
                "self_time_s",
                _F,
                "Exclusive time (see perfnb.analysis.plans), never negative.",
                "s",
            ),
            _c(
                "self_time_uncertainty_s",
                _F,
                "± bound on self_time_s from the 1 µs rounding × loops.",
                "s",
            ),
            _c("self_time_clamped_s", _F, "How much negative raw self time was clamped to 0.", "s"),
            _c(
                "self_time_note",
                "category",
                "Why a self time was clamped: rounding / parallel-overlap / overlap.",
            ),
            _c("self_ratio", _F, "self_time_s / sum of self times of the plan.", "ratio"),
            *(
                _c(
                    f"{kind}_{op}_blocks",
                    _I,
                    f"{kind.title()} {op} blocks (inclusive, all processes).",
                )
                for kind in ("shared", "local", "temp")
                for op in ("hit", "read", "dirtied", "written")
                if not (kind == "temp" and op in ("hit", "dirtied"))
            ),
            _c("io_read_time_s", _F, "Shared+local I/O read time (PG17 split fields summed).", "s"),
            _c("io_write_time_s", _F, "Shared+local I/O write time.", "s"),
            _c("temp_io_read_time_s", _F, "Temp I/O read time (PG15+).", "s"),
            _c("temp_io_write_time_s", _F, "Temp I/O write time (PG15+).", "s"),
            _c("filter", "string", "Filter / Join Filter expression."),
            _c("index_cond", "string", "Index Cond / Recheck Cond / Hash Cond / Merge Cond."),
            _c("sort_key", "string", "Sort Key / Group Key, comma-joined."),
            _c("sort_method", "string", "Sort Method."),
            _c("sort_space_type", "string", "Sort Space Type (Memory / Disk)."),
            _c("sort_space_used_bytes", _F, "Sort Space Used.", "bytes"),
            _c("hash_batches", _I, "Hash Batches (or HashAgg Batches)."),
            _c("original_hash_batches", _I, "Original Hash Batches."),
            _c("peak_memory_bytes", _F, "Peak Memory Usage of a Hash / Memoize node.", "bytes"),
            _c("disk_usage_bytes", _F, "Disk Usage of a HashAggregate that spilled.", "bytes"),
            _c("heap_fetches", _I, "Heap Fetches of an Index Only Scan (total)."),
            _c("exact_heap_blocks", _I, "Exact Heap Blocks of a Bitmap Heap Scan."),
            _c("lossy_heap_blocks", _I, "Lossy Heap Blocks of a Bitmap Heap Scan."),
            _c("cache_hits", _I, "Memoize Cache Hits."),
            _c("cache_misses", _I, "Memoize Cache Misses."),
            *PROVENANCE,
        ),
        doc="One row per node of a PostgreSQL EXPLAIN plan, pre-order. Per-loop values are kept beside "
        "totals; total_time_s is inclusive wall time, self_time_s exclusive (never negative; uncertainty "
        "and clamping reported in their own columns).",
    )
)


@dataclass(eq=False)
class Plan:
    """One statement's plan: the node table and plan-level facts.

    Attributes
    ----------
    nodes
        :data:`PLAN_NODES` frame (built on first access from ``node_data``, so reading hundreds of
        logged plans stays fast).
    query
        Query text when the input has it (auto_explain, ``Query Text``), else ``None``.
    planning_time_s, execution_time_s
        From the plan (``NaN`` when absent; auto_explain has the log's ``duration`` as execution time).
    trigger_time_s, jit_time_s
        Sum of trigger times and JIT total time (0 when none).
    triggers
        Frame of ``name``, ``relation``, ``time_s``, ``calls``.
    jit, settings
        The JIT block and non-default settings as plain dicts.
    analyzed
        Whether the plan has actual times (EXPLAIN ANALYZE).
    source, run, path, index
        Provenance: tool (``explain``/``auto_explain``), run label, file and statement number in it.
    timestamp, duration_s
        auto_explain: when it was logged and the logged duration.
    raw
        The statement's JSON object.
    """

    node_data: dict[str, Any] = field(repr=False)
    query: str | None = None
    planning_time_s: float = float("nan")
    execution_time_s: float = float("nan")
    trigger_time_s: float = 0.0
    jit_time_s: float = 0.0
    triggers: pd.DataFrame = field(default_factory=pd.DataFrame)
    jit: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    analyzed: bool = True
    source: str = "explain"
    run: str = ""
    path: str | None = None
    index: int = 0
    timestamp: pd.Timestamp | None = None
    duration_s: float = float("nan")
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    _nodes: pd.DataFrame | None = field(default=None, init=False, repr=False)
    # the node table shared by the plans read together (perfnb.io.plan_table.NodeTable) and this
    # plan's position in it: nodes are a slice of one frame instead of one frame per plan
    _table: Any = field(default=None, init=False, repr=False)
    _row: int = field(default=0, init=False, repr=False)

    @property
    def nodes(self) -> pd.DataFrame:
        """The :data:`PLAN_NODES` table of this plan."""
        if self._nodes is None:
            if self._table is not None:
                self._nodes = self._table.plan_nodes(self._row)
            else:
                self._nodes = PLAN_NODES.conform(pd.DataFrame(_typed_columns(self.node_data)))
        return self._nodes

    _records: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)
    worker_data: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def workers(self) -> pd.DataFrame:
        """Per-worker detail of parallel nodes (EXPLAIN VERBOSE), one row per node × worker.

        Columns ``node_id``, ``worker``, ``startup_time_s``, ``time_per_loop_s``, ``loops``,
        ``actual_rows_total``, buffer counts. The leader's share of a node is the node's loops and rows
        minus the workers' (pgMustard #1), see :meth:`leader_share`.
        """
        cols = ["node_id", "worker", "startup_time_s", "time_per_loop_s", "loops",
                "actual_rows_total", "shared_hit_blocks", "shared_read_blocks", "temp_written_blocks"]  # fmt: skip
        return pd.DataFrame(self.worker_data, columns=cols)

    def leader_share(self) -> pd.DataFrame:
        """Loops and rows done by the leader on each node with worker detail (node total − workers)."""
        w = self.workers
        if w.empty:
            return pd.DataFrame(columns=["node_id", "leader_loops", "leader_rows"])
        agg = w.groupby("node_id", as_index=False)[["loops", "actual_rows_total"]].sum()
        nodes = self.nodes.set_index("node_id")
        agg["leader_loops"] = nodes.loc[agg["node_id"], "loops"].to_numpy() - agg["loops"]
        agg["leader_rows"] = (
            nodes.loc[agg["node_id"], "actual_rows_total"].to_numpy() - agg["actual_rows_total"]
        )
        return agg[["node_id", "leader_loops", "leader_rows"]]

    def records(self) -> list[dict[str, Any]]:
        """The nodes as a list of dicts (raw values: ``None`` for missing), cached; what rules iterate.

        Cheaper than ``nodes.to_dict("records")`` because it skips building the frame, which matters
        when checking hundreds of logged plans.
        """
        if self._records is None:
            keys = [k for k in self.node_data if k not in ("source", "run")]
            columns = [self.node_data[k] for k in keys]
            self._records = [
                dict(zip(keys, vals, strict=True)) for vals in zip(*columns, strict=True)
            ]
        return self._records

    def __repr__(self) -> str:
        t = self.execution_time_s
        when = f", execution {t * 1e3:.3f} ms" if t == t else ""
        return f"<Plan {self.run!r}: {len(self.node_data['node_id'])} nodes{when}>"

    @property
    def root(self) -> pd.Series:
        """The root node's row."""
        return self.nodes.iloc[0]

    @property
    def total_time_s(self) -> float:
        """Execution time if known, else the root's inclusive time."""
        if self.execution_time_s == self.execution_time_s:
            return float(self.execution_time_s)
        return float(self.node_data["total_time_s"][0])

    def require_analyze(self) -> None:
        """Raise :class:`~perfnb.errors.FormatError` unless the plan has actual times.

        Examples
        --------
        >>> from perfnb.io.explain import read_plan
        >>> read_plan("data/samples/plans/no_analyze.json").require_analyze()
        Traceback (most recent call last):
        ...
        perfnb.errors.FormatError: data/samples/plans/no_analyze.json: key $[0].Plan: missing 'Actual Total Time'; was EXPLAIN run with ANALYZE? (use EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) for times)
        """
        if not self.analyzed:
            raise FormatError(
                "missing 'Actual Total Time'; was EXPLAIN run with ANALYZE?",
                path=self.path,
                key=f"$[{self.index}].Plan",
                hint="use EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) for times",
            )

    def top(self, n: int = 10) -> pd.DataFrame:
        """The *n* nodes with the most self time (see :func:`perfnb.analysis.plans.top_nodes`)."""
        from perfnb.analysis.plans import top_nodes

        return top_nodes(self, n)

    def check(self, **thresholds: float) -> Findings:
        """Run the plan rules (:func:`perfnb.check` on this plan)."""
        from perfnb.findings import check

        overrides: dict[str, Any] = dict(thresholds)
        return check(self, **overrides)

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Draw the plan tree (see :func:`perfnb.plot.plans.plot_plan_tree`)."""
        from perfnb.plot.plans import plot_plan_tree

        return plot_plan_tree(self, ax=ax)


def _typed_columns(data: dict[str, Any]) -> dict[str, Any]:
    """Numeric lists → numpy / masked arrays up front (pandas' generic list sanitising is slow)."""
    out: dict[str, Any] = {}
    for name, values in data.items():
        dtype = PLAN_NODES[name].dtype if name in PLAN_NODES else None
        if isinstance(values, str) or dtype not in ("float64", "Int64", "int64"):
            out[name] = values
            continue
        arr = np.array([np.nan if v is None else v for v in values], dtype="float64", ndmin=1)
        if dtype == "Int64":
            mask = np.isnan(arr)
            out[name] = pd.arrays.IntegerArray(np.where(mask, 0, arr).astype("int64"), mask)
        elif dtype == "int64":
            out[name] = arr.astype("int64")
        else:
            out[name] = arr
    return out
