"""Rules on PostgreSQL plans (``PG001``–``PG010``).

pg_stat_statements and table usage rules are in :mod:`perfnb.rules.pg_stats`. Plan rules apply to :class:`~perfnb.io.explain.Plan`. Every finding names the plan (its query group, or
file and plan index) and the node with its path (``seq_scan_filter.json#0 node 0: Seq Scan on
orders``), shows its evidence and gives a concrete fix (the index with its columns, a ``work_mem`` value
that fits, ``ANALYZE`` / extended statistics …). Plans without ANALYZE only get the rules that need no
actual values (none at present), so they produce no findings rather than errors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd

from perfnb.analysis.plans import node_label, normalize_query, plan_ref, query_group
from perfnb.findings import Finding, Rule, Severity, Thresholds, rule, threshold
from perfnb.io.explain import Plan

threshold("plan_min_time_s", 0.01, "Plans faster than this get no time-share findings.", unit="s")
threshold(
    "plan_finding_min_ratio",
    0.01,
    "Share of its plan's time a node needs before any node finding (a cheap node is not worth it).",
    unit="ratio",
)
threshold(
    "plan_seq_scan_removed_min_ratio", 0.9, "Share of rows a scan's filter removes that is a finding.",
    unit="ratio",
)  # fmt: skip
threshold("plan_seq_scan_min_rows", 1000, "Rows a scan must read before its filter matters.")
threshold(
    "plan_misestimate_min_factor", 10, "Row estimate off by this factor (either way) is a finding."
)
threshold("plan_misestimate_min_rows", 100, "Ignore misestimates where both counts are below this.")
threshold(
    "plan_slow_node_min_ratio",
    0.5,
    "Share of plan time in one node that is a finding.",
    unit="ratio",
)
threshold(
    "plan_nested_loop_min_loops", 1000, "Inner-side loops of a nested loop that are a finding."
)
threshold(
    "plan_node_min_ratio",
    0.1,
    "Share of plan time a node needs before loop/spill findings.",
    unit="ratio",
)
threshold(
    "plan_heap_fetch_min_ratio",
    0.1,
    "Heap fetches per returned row that is a finding.",
    unit="ratio",
)
threshold(
    "plan_planning_min_ratio",
    0.3,
    "Planning share of planning+execution that is a finding.",
    unit="ratio",
)
threshold("plan_planning_min_s", 0.001, "Planning time below this is never a finding.", unit="s")
threshold("plan_jit_min_ratio", 0.1, "JIT share of execution time that is a finding.", unit="ratio")
threshold("plan_jit_min_s", 0.01, "JIT time below this is never a finding.", unit="s")
_IDENT = re.compile(
    r"\(*\s*(?:\w+\.)?\"?([A-Za-z_][A-Za-z0-9_]*)\"?\)?(?:::\w+)?\s*(?:=|<>|<=|>=|<|>|~~\*?|!~~|IS\b|IN\b|= ANY)"
)
_SQL_WORDS = {"and", "or", "not", "true", "false", "null", "sum", "count", "lower", "upper"}


def _filter_columns(text: str | None) -> list[str]:
    """Columns compared in a filter: ``(customer_email = 'x'::text)`` → ``['customer_email']``."""
    if not isinstance(text, str):
        return []
    cols: list[str] = []
    for m in _IDENT.finditer(text):
        name = m.group(1)
        if name.lower() not in _SQL_WORDS and name not in cols and not name.isdigit():
            cols.append(name)
    return cols


_TRGM = re.compile(
    r"\(*\s*(?:\w+\.)?\"?([A-Za-z_][A-Za-z0-9_]*)\"?\)?(?:::\w+)?\s*"
    r"(?:!?~~\*|!?~\*?(?!~)|~~\s*'%|LIKE\s*'%|ILIKE)",
    re.I,
)


def _trigram_columns(text: str | None) -> list[str]:
    """Columns matched with ``LIKE '%…'``, ``ILIKE`` (``~~*``) or a regex (``~``): a B-tree cannot help.

    >>> _trigram_columns("(orders.note ~~ '%xx%'::text)"), _trigram_columns("(email ~ '^u'::text)")
    (['note'], ['email'])
    >>> _trigram_columns("(note ~~ 'x%'::text)")
    []
    """
    if not isinstance(text, str):
        return []
    return list(dict.fromkeys(m.group(1) for m in _TRGM.finditer(text)))


def _loc(plan: Plan, row: dict[str, Any] | None) -> str:
    """Where: the plan (its query group, or file and plan index) and the node with its path.

    ``q1a2b3c4d node 5: Aggregate › Nested Loop › Index Scan on customers — SELECT …`` for logged
    plans (the same location for every plan of one query, so repeats group), or
    ``seq_scan_filter.json#0 node 0: Seq Scan on orders`` for a plan file.
    """
    # logged plans carry their query: name its group; an EXPLAIN file is named by file and position
    where = (query_group(plan) or plan_ref(plan)) if plan.query else plan_ref(plan)
    if row is not None:
        where += f" node {row['node_id']}: {_node_path(plan, row)}"
    if plan.query:
        q = normalize_query(plan.query)
        where += f" — {q[:77] + '…' if len(q) > 80 else q}"
    return where


def _node_path(plan: Plan, row: dict[str, Any]) -> str:
    """``Aggregate › Nested Loop › Index Scan using pk on t``: ancestors' types, then the node."""
    rows = plan.records()
    names = [node_label(row)]
    p = row["parent_id"]
    while p is not None and p is not pd.NA and not (isinstance(p, float) and math.isnan(p)):
        parent = rows[int(p)]
        names.append(str(parent["node_type"]))
        p = parent["parent_id"]
    if len(names) > 5:
        names = [*names[:4], "…"]
    return " › ".join(reversed(names))


def _share(plan: Plan, row: dict[str, Any]) -> float:
    """The node's inclusive time as a share of its plan's time (NaN without ANALYZE)."""
    total = plan.total_time_s
    t = row["total_time_s"]
    if not total or total != total or t is None or t != t:
        return float("nan")
    return float(t) / float(total)


def _minor(plan: Plan, row: dict[str, Any], th: Thresholds) -> bool:
    """True for a node below ``plan_finding_min_ratio`` of its plan's time: no finding on it."""
    share = _share(plan, row)
    return share == share and share < th["plan_finding_min_ratio"]


def _records(plan: Plan) -> list[dict[str, Any]]:
    return plan.records()


def _val(x: Any) -> float:
    return 0.0 if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) else float(x)


def _work_mem(plan: Plan) -> str:
    """What the plan says about work_mem: only EXPLAIN (SETTINGS) / auto_explain.log_settings know."""
    wm = plan.settings.get("work_mem")
    if wm:
        return f"work_mem is {wm}"
    if "Settings" in plan.raw:  # SETTINGS lists every changed planner setting; work_mem is not
        return "work_mem is at its default (4MB unless the server config changed it)"
    return "work_mem is not recorded in this plan (EXPLAIN (SETTINGS) shows it)"


def _mb_up(nbytes: float) -> str:
    mb = max(1, math.ceil(nbytes / 2**20))
    for step in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096):
        if step >= mb:
            return f"{step}MB"
    return f"{mb}MB"


@rule(
    "PG001",
    "seq-scan-filter",
    applies_to=Plan,
    severity=Severity.warning,
    thresholds=(
        "plan_seq_scan_removed_min_ratio", "plan_seq_scan_min_rows", "plan_finding_min_ratio"
    ),
)  # fmt: skip
def seq_scan_filter(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """A sequential scan whose filter removes most of the rows it reads.

    Why: the whole table is read to keep a few rows; an index on the filtered column(s) reads only those.
    Fix: ``CREATE INDEX ON <table> (<columns from the filter>)`` (equality columns first), then re-run
    EXPLAIN. A B-tree cannot serve ``LIKE '%…%'``, ``ILIKE`` or a regular expression: for those the
    advice is a trigram index (``pg_trgm``, GIN or GiST). Nodes below ``plan_finding_min_ratio`` of
    the plan's time get no finding. False positives: small tables (threshold ``plan_seq_scan_min_rows``),
    filters on expressions that an index cannot serve, queries that really need most rows.
    """
    if not plan.analyzed:
        return
    for row in _records(plan):
        if row["node_type"] not in ("Seq Scan", "Parallel Seq Scan"):
            continue
        removed = _val(row["rows_removed_by_filter"])
        kept = _val(row["actual_rows_total"])
        read = removed + kept
        if (
            read < th["plan_seq_scan_min_rows"]
            or removed / read < th["plan_seq_scan_removed_min_ratio"]
            or _minor(plan, row, th)
        ):
            continue
        cols = _filter_columns(row["filter"])
        table = row["relation"] or "the table"
        trgm = _trigram_columns(row["filter"])
        index: str | None
        if trgm:
            index = (
                "a B-tree cannot serve this pattern match; use a trigram index: CREATE EXTENSION "
                f"IF NOT EXISTS pg_trgm; CREATE INDEX ON {table} USING gin ({trgm[0]} gin_trgm_ops);"
            )
        else:
            index = f"CREATE INDEX ON {table} ({', '.join(cols)});" if cols else None
        share = _val(row["self_ratio"])
        loops = _val(row["loops"])
        if kept == 0 and loops > 1 and _val(row["actual_rows"]) == 0:
            # per-loop rows are rounded to whole rows before PG18: 0 means under half a row per loop
            kept_text = f"at most {math.ceil(loops / 2) - 1:,.0f} (rows per loop round to 0)"
        else:
            kept_text = f"{kept:,.0f}"
        yield r.finding(
            run=plan.run,
            title=f"Seq Scan on {table} reads {read:,.0f} rows to keep {kept_text}",
            location=_loc(plan, row),
            severity=Severity.critical if share >= 0.5 and removed / read >= 0.99 else None,
            evidence={
                "plan": plan_ref(plan),
                "rows_read": read,
                "rows_kept": kept,
                "removed_ratio": removed / read,
                "filter": row["filter"],
                "self_time_s": row["self_time_s"],
                "self_ratio": share,
                "columns": cols,
            },
            recommendation=(
                f"Index the pattern-matched column ({index})"
                if trgm
                else f"Add an index on the filtered column(s): {index}"
                if index
                else "Add an index matching the filter expression (an expression index if needed)."
            ),
        )


@rule(
    "PG002",
    "row-misestimate",
    applies_to=Plan,
    thresholds=(
        "plan_misestimate_min_factor",
        "plan_misestimate_min_rows",
        "plan_finding_min_ratio",
        "plan_min_time_s",
    ),
)
def row_misestimate(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """The planner's row estimate is off by a large factor.

    Why: join order and method, memory sizing and parallelism all follow the estimate; a 10× error often
    picks a nested loop where a hash join was needed (or the reverse). Fix: ``ANALYZE`` the table; for
    correlated columns ``CREATE STATISTICS … (dependencies, mcv) ON a, b FROM t``; raise the column's
    statistics target. Only the deepest misestimated node of a branch is reported (errors propagate up).
    Not reported: a scan whose filter is a pattern match (``LIKE '%…%'``, ``ILIKE``, a regex: the planner
    guesses their selectivity, no statistics fix it), an over-estimate on a node that a LIMIT above it stopped early (it was asked for
    fewer rows than it would have produced: a Sort under a Limit returns the first rows only), nodes
    below ``plan_finding_min_ratio`` of the plan's time, estimates below ``plan_misestimate_min_rows``,
    plans faster than ``plan_min_time_s`` (a wrong plan choice cannot cost much there).
    """
    if not plan.analyzed or plan.total_time_s < th["plan_min_time_s"]:
        return
    rows = _records(plan)
    hits = []
    for row in rows:
        f = _val(row["estimate_factor"])
        big = max(_val(row["actual_rows"]), _val(row["plan_rows"]))
        if f >= th["plan_misestimate_min_factor"] and big >= th["plan_misestimate_min_rows"]:
            if row["estimate_direction"] == "over" and _cut_short(rows, row):
                continue
            if _trigram_columns(row["filter"]) and not row["index_cond"]:
                continue  # pattern selectivity is a fixed guess: ANALYZE / statistics cannot fix it
            hits.append(row)
    hit_ids = {h["node_id"] for h in hits}
    parents = {row["node_id"]: row["parent_id"] for row in rows}
    reported: set[int] = set()
    for row in hits:
        # skip a node whose descendant already carries the misestimate
        if any(
            _is_ancestor(row["node_id"], other, parents)
            for other in hit_ids
            if other != row["node_id"]
        ):
            continue
        reported.add(row["node_id"])
        if _minor(plan, row, th):
            continue
        tables = [row["relation"]] if row["relation"] else []
        cols = _filter_columns(row["filter"]) + _filter_columns(row["index_cond"])
        stats = (
            f"CREATE STATISTICS ON {', '.join(dict.fromkeys(cols))} FROM {tables[0]}; ANALYZE {tables[0]};"
            if tables and len(set(cols)) >= 2
            else (f"ANALYZE {tables[0]};" if tables else "ANALYZE the tables below this node;")
        )
        f = _val(row["estimate_factor"])
        yield r.finding(
            run=plan.run,
            title=(
                f"{node_label(row)}: {_val(row['actual_rows']):,.0f} rows per loop, "
                f"estimated {_val(row['plan_rows']):,.0f} ({row['estimate_direction']}-estimated {f:,.0f}×)"
            ),
            location=_loc(plan, row),
            severity=Severity.critical if f >= 1000 else None,
            evidence={
                "plan": plan_ref(plan),
                "actual_rows": row["actual_rows"],
                "plan_rows": row["plan_rows"],
                "estimate_factor": f,
                "direction": row["estimate_direction"],
                "filter": row["filter"],
            },
            recommendation=f"Refresh or extend the statistics: {stats}",
        )


def _memoized(row: dict[str, Any]) -> bool:
    """A Memoize answering at least 90 % of its lookups from its cache (summed over processes)."""
    hits, misses = _val(row["cache_hits"]), _val(row["cache_misses"])
    return row["node_type"] == "Memoize" and hits + misses > 0 and hits / (hits + misses) >= 0.9


#: nodes that read all their input before returning a row: a LIMIT above them does not stop their input
_BLOCKING = frozenset(
    ("Sort", "Incremental Sort", "Hash", "HashAggregate", "SetOp", "Materialize", "WindowAgg")
)


def _cut_short(rows: list[dict[str, Any]], row: dict[str, Any]) -> bool:
    """True when a Limit above *row* may have stopped it early (no blocking node in between).

    The node itself may be blocking (a Sort under a Limit returns only the first rows it sorted).
    """
    p = row["parent_id"]
    while p is not None and p is not pd.NA and not (isinstance(p, float) and math.isnan(p)):
        parent = rows[int(p)]
        nt = parent["node_type"]
        if nt == "Limit":
            return True
        if nt in _BLOCKING or (nt == "Aggregate" and parent["strategy"] in ("Hashed", "Plain")):
            return False
        p = parent["parent_id"]
    return False


def _is_ancestor(a: int, b: int, parents: dict[int, Any]) -> bool:
    p = parents.get(b)
    while p is not None and p is not pd.NA and not (isinstance(p, float) and math.isnan(p)):
        if p == a:
            return True
        p = parents.get(int(p))
    return False


@rule("PG003", "sort-spill", applies_to=Plan, thresholds=("plan_finding_min_ratio",))
def sort_spill(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """A sort that spilled to disk (``Sort Space Type: Disk``, external merge).

    Why: an external sort writes and re-reads temp files. Fix: raise ``work_mem`` for this query
    (``SET LOCAL work_mem``) to about 2–3× the disk space used (in-memory sorts need more than the
    compact on-disk runs), or sort fewer/narrower rows (an index providing the order, a LIMIT).
    """
    for row in _records(plan):
        method = str(row["sort_method"] or "")
        if (row["sort_space_type"] != "Disk" and "external" not in method) or _minor(plan, row, th):
            continue
        used = _val(row["sort_space_used_bytes"])
        yield r.finding(
            run=plan.run,
            title=f"{node_label(row)} spilled {used / 2**20:.1f} MiB to disk ({method})",
            location=_loc(plan, row),
            evidence={
                "plan": plan_ref(plan),
                "sort_method": method,
                "disk_bytes": used,
                "self_time_s": row["self_time_s"],
                "sort_key": row["sort_key"],
            },
            recommendation=(
                f"{_work_mem(plan)}; try SET LOCAL work_mem = '{_mb_up(used * 3)}' for this query, "
                "or provide the order from an index."
            ),
        )


@rule("PG004", "hash-spill", applies_to=Plan, thresholds=("plan_finding_min_ratio",))
def hash_spill(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """A hash (join or aggregate) that needed more than one batch, i.e. spilled to temp files.

    Why: batches write both inputs to disk and re-read them. Fix: raise ``work_mem`` (or
    ``hash_mem_multiplier``) so the hash table fits: about peak memory × batches.
    """
    for row in _records(plan):
        batches = _val(row["hash_batches"])
        if batches <= 1 or _minor(plan, row, th):
            continue
        peak = _val(row["peak_memory_bytes"]) or _val(row["disk_usage_bytes"])
        need = peak * batches if peak else 0.0
        yield r.finding(
            run=plan.run,
            title=f"{node_label(row)} ran in {batches:.0f} batches (spilled to disk)",
            location=_loc(plan, row),
            evidence={
                "plan": plan_ref(plan),
                "hash_batches": batches,
                "original_hash_batches": row["original_hash_batches"],
                "peak_memory_bytes": peak,
                "temp_written_blocks": row["temp_written_blocks"],
            },
            recommendation=(
                f"{_work_mem(plan)}; SET LOCAL work_mem = '{_mb_up(need * 1.5)}' should fit the hash "
                "in one batch (or raise hash_mem_multiplier)."
                if need
                else f"{_work_mem(plan)}; raise work_mem or hash_mem_multiplier until Batches is 1."
            ),
        )


@rule("PG005", "lossy-bitmap", applies_to=Plan, thresholds=("plan_finding_min_ratio",))
def lossy_bitmap(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """A bitmap heap scan went lossy: the bitmap did not fit ``work_mem`` and keeps whole pages.

    Why: every row of a lossy page is rechecked (``Rows Removed by Index Recheck``). Fix: raise
    ``work_mem`` so the bitmap stays exact (exact pages need roughly 64 bytes each), or make the
    condition more selective.
    """
    for row in _records(plan):
        lossy = _val(row["lossy_heap_blocks"])
        if lossy <= 0 or _minor(plan, row, th):
            continue
        pages = lossy + _val(row["exact_heap_blocks"])
        yield r.finding(
            run=plan.run,
            title=f"{node_label(row)}: {lossy:,.0f} lossy heap blocks",
            location=_loc(plan, row),
            evidence={
                "plan": plan_ref(plan),
                "lossy_heap_blocks": lossy,
                "exact_heap_blocks": row["exact_heap_blocks"],
                "rows_removed_by_index_recheck": row["rows_removed_by_index_recheck"],
            },
            recommendation=(
                f"{_work_mem(plan)}; SET LOCAL work_mem = '{_mb_up(pages * 64 * 2)}' keeps a bitmap of "
                f"{pages:,.0f} pages exact."
            ),
        )


@rule(
    "PG006",
    "slow-node",
    applies_to=Plan,
    thresholds=("plan_slow_node_min_ratio", "plan_min_time_s"),
)
def slow_node(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """One node holds a large share of the plan's time (self time / plan time).

    Why: this is where to look first; other findings on the same node say why it is slow. Severity is
    critical at 90 %. False positives: plans faster than ``plan_min_time_s`` are ignored. Gather /
    Gather Merge are skipped: their self time is the leader waiting for workers whose time is averaged
    over processes (see :mod:`perfnb.analysis.plans`), not work that a change to that node removes.
    """
    if not plan.analyzed or plan.total_time_s < th["plan_min_time_s"]:
        return
    for row in _records(plan):
        share = _val(row["self_ratio"])
        if share < th["plan_slow_node_min_ratio"] or row["node_type"] in ("Gather", "Gather Merge"):
            continue
        yield r.finding(
            run=plan.run,
            title=f"{node_label(row)} takes {share:.0%} of the plan's time",
            location=_loc(plan, row),
            severity=Severity.critical if share >= 0.9 else None,
            evidence={
                "plan": plan_ref(plan),
                "self_time_s": row["self_time_s"],
                "self_time_uncertainty_s": row["self_time_uncertainty_s"],
                "self_ratio": share,
                "loops": row["loops"],
                "actual_rows_total": row["actual_rows_total"],
            },
            recommendation="Start here: see the other findings on this node (index, memory, estimates).",
        )


@rule(
    "PG007",
    "nested-loop-heavy",
    applies_to=Plan,
    thresholds=(
        "plan_nested_loop_min_loops",
        "plan_node_min_ratio",
        "plan_min_time_s",
        "plan_finding_min_ratio",
    ),
)
def nested_loop_heavy(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """A nested loop runs its inner side many times and takes a real share of the time.

    Why: each outer row re-runs the inner side; with many outer rows a hash or merge join reading each
    side once is cheaper. Often caused by an under-estimate of the outer rows. Fix: check the outer
    estimate (``ANALYZE``), make sure the inner side uses an index on the join key, or let the planner
    choose a hash join (``enable_nestloop`` only to test). Not reported when the inner side takes
    less than ``plan_finding_min_ratio`` of the plan (a Memoize answering from its cache).
    """
    if not plan.analyzed or plan.total_time_s < th["plan_min_time_s"]:
        return
    rows = _records(plan)
    total = plan.total_time_s
    children: dict[int, list[int]] = {}
    for k, c in enumerate(rows):
        if c["parent_id"] is not None:
            children.setdefault(int(c["parent_id"]), []).append(k)
    for row in rows:
        if row["node_type"] != "Nested Loop":
            continue
        inner = [
            c
            for c in rows
            if c["parent_id"] == row["node_id"] and c["parent_relationship"] == "Inner"
        ]
        if not inner:
            continue
        loops = _val(inner[0]["loops"])
        share = _val(row["total_time_s"]) / total if total else 0.0
        if loops < th["plan_nested_loop_min_loops"] or share < th["plan_node_min_ratio"]:
            continue
        if _minor(plan, inner[0], th) or _memoized(inner[0]):
            continue  # the inner side is cheap however often it runs (a Memoize hit costs ~0)
        yield r.finding(
            run=plan.run,
            title=f"Nested Loop runs {node_label(inner[0])} {loops:,.0f} times",
            location=_loc(plan, row),
            evidence={
                "plan": plan_ref(plan),
                "inner_loops": loops,
                "inner_time_s": inner[0]["total_time_s"],
                "total_time_s": row["total_time_s"],
                "time_ratio": share,
            },
            recommendation=(
                "Join with a hash join instead (check the outer row estimate and ANALYZE), or make "
                f"the inner side cheap: an index on the join key of {inner[0]['relation'] or 'the inner side'}."
            ),
        )


@rule(
    "PG008",
    "heap-fetches",
    applies_to=Plan,
    thresholds=("plan_heap_fetch_min_ratio", "plan_finding_min_ratio"),
)
def heap_fetches(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """An Index Only Scan visits the heap for many rows (visibility map out of date).

    Why: an index-only scan only skips the heap for pages marked all-visible; after many writes without
    VACUUM it degrades to an index scan. Fix: ``VACUUM (ANALYZE) <table>``; tune autovacuum for it.
    """
    for row in _records(plan):
        if row["node_type"] != "Index Only Scan":
            continue
        fetches = _val(row["heap_fetches"])
        returned = _val(row["actual_rows_total"]) + _val(row["rows_removed_by_filter"])
        if fetches < 100 or fetches / max(returned, 1.0) < th["plan_heap_fetch_min_ratio"]:
            continue
        if _minor(plan, row, th):
            continue
        table = row["relation"] or "the table"
        yield r.finding(
            run=plan.run,
            title=f"{node_label(row)} fetched {fetches:,.0f} heap tuples for {returned:,.0f} rows",
            location=_loc(plan, row),
            evidence={
                "plan": plan_ref(plan),
                "heap_fetches": fetches,
                "rows": returned,
                "ratio": fetches / max(returned, 1.0),
            },
            recommendation=f"VACUUM (ANALYZE) {table}; and check autovacuum keeps its visibility map current.",
        )


@rule(
    "PG009",
    "planning-time",
    applies_to=Plan,
    thresholds=("plan_planning_min_ratio", "plan_planning_min_s"),
)
def planning_time(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """Planning takes a large share of planning + execution.

    Why: repeated every execution unless the statement is prepared. Common causes: many partitions
    without pruning, many joins (``join_collapse_limit``), huge IN lists. Fix: prepared statements /
    a plan cache in the driver, partition pruning on the key, fewer partitions.
    """
    pt, et = plan.planning_time_s, plan.execution_time_s
    if not (pt == pt and et == et) or pt < th["plan_planning_min_s"]:
        return
    share = pt / (pt + et) if pt + et > 0 else 0.0
    if share < th["plan_planning_min_ratio"]:
        return
    parts = sum(r["parent_relationship"] == "Member" for r in _records(plan))
    yield r.finding(
        run=plan.run,
        title=f"Planning takes {pt * 1e3:.1f} ms, {share:.0%} of the statement",
        location=_loc(plan, None),
        evidence={
            "plan": plan_ref(plan),
            "planning_time_s": pt,
            "execution_time_s": et,
            "planning_ratio": share,
            "append_members": parts,
        },
        recommendation=(
            "Prepare the statement (server-side prepared statements reuse the plan)"
            + (
                f"; the plan scans {parts} partitions: filter on the partition key so they are pruned"
                if parts > 20
                else ""
            )
            + "."
        ),
    )


@rule("PG010", "jit-time", applies_to=Plan, thresholds=("plan_jit_min_ratio", "plan_jit_min_s"))
def jit_time(r: Rule, plan: Plan, th: Thresholds) -> Iterator[Finding]:
    """JIT compilation takes a large share of execution time.

    Why: JIT pays off for long analytic queries; for short ones compilation (inlining, optimization)
    costs more than it saves. Fix: raise ``jit_above_cost`` / ``jit_inline_above_cost`` /
    ``jit_optimize_above_cost``, or ``SET jit = off`` for this workload.
    """
    jt, et = plan.jit_time_s, plan.total_time_s
    if jt < th["plan_jit_min_s"] or not et or jt / et < th["plan_jit_min_ratio"]:
        return
    timing = plan.jit.get("Timing", {})
    yield r.finding(
        run=plan.run,
        title=f"JIT takes {jt * 1e3:.0f} ms, {jt / et:.0%} of execution",
        location=_loc(plan, None),
        evidence={
            "plan": plan_ref(plan),
            "jit_time_s": jt,
            "execution_time_s": et,
            "jit_ratio": jt / et,
            "timing_ms": dict(timing) if isinstance(timing, dict) else {},
        },
        recommendation="SET jit = off for this query (or raise jit_above_cost above its cost "
        f"{_val(_records(plan)[0]['total_cost']):,.0f}).",
    )
