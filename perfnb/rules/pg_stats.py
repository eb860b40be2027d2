"""Rules on pg_stat_statements (``PG020``–``PG022``) and on table / index usage (``PG022``–``PG024``).

Statement rules apply to :class:`~perfnb.io.pg_stat_statements.StatementStats`, usage rules to
:class:`~perfnb.io.pg_stat_statements.TableUsage` (split from :mod:`perfnb.rules.plans`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd

from perfnb.findings import Finding, Rule, Severity, Thresholds, rule, threshold
from perfnb.io.pg_stat_statements import StatementStats, TableUsage

threshold(
    "pgss_dominant_min_ratio", 0.3, "Share of all statements' time one statement takes that is a finding.",
    unit="ratio",
)  # fmt: skip
threshold(
    "pgss_dominant_min_s", 1.0, "Total time a statement needs before its share matters.", unit="s"
)
threshold(
    "pgss_n_plus_one_min_calls", 500, "Calls of one statement shape that suggest an N+1 pattern."
)
threshold("pgss_n_plus_one_max_rows_per_call", 10, "Rows per call at most, for an N+1 candidate.")
threshold(
    "pg_seq_scan_min_rows", 10000, "Table size (live rows) from which sequential scans matter."
)
threshold(
    "pg_seq_scan_min_ratio",
    0.5,
    "Share of scans that are sequential, for a large table.",
    unit="ratio",
)


def _val(x: Any) -> float:
    return 0.0 if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) else float(x)


# ---------------------------------------------------------------------------------- pg_stat_statements


@rule(
    "PG020",
    "dominant-statement",
    applies_to=StatementStats,
    thresholds=("pgss_dominant_min_ratio", "pgss_dominant_min_s"),
)
def dominant_statement(r: Rule, stats: StatementStats, th: Thresholds) -> Iterator[Finding]:
    """One statement takes a large share of all statements' total time (pg_stat_statements).

    Fix: EXPLAIN (ANALYZE, BUFFERS) it (``perfnb.postgres.explain``) and work on that plan first.
    Critical from half of all time. False positives: one-off maintenance (CREATE INDEX, ANALYZE) in a
    short window, hence ``pgss_dominant_min_s``.
    """
    df = stats.frame
    total = float(df["total_time_s"].sum())
    if total <= 0:
        return
    for row in df.sort_values("total_time_s", ascending=False).head(3).to_dict("records"):
        share = row["total_time_s"] / total
        if share < th["pgss_dominant_min_ratio"] or row["total_time_s"] < th["pgss_dominant_min_s"]:
            continue
        yield r.finding(
            run=stats.run,
            severity=Severity.critical if share >= 0.5 else None,
            title=f"{share:.0%} of statement time: {str(row['query'])[:80]}",
            location=f"queryid {row['queryid']}",
            evidence={
                "total_time_s": row["total_time_s"],
                "calls": row["calls"],
                "time_ratio": share,
                "mean_time_s": row["mean_time_s"],
            },
            recommendation="EXPLAIN (ANALYZE, BUFFERS) this statement and fix its plan first.",
        )


@rule(
    "PG021",
    "n-plus-one",
    applies_to=StatementStats,
    thresholds=("pgss_n_plus_one_min_calls", "pgss_n_plus_one_max_rows_per_call"),
)
def n_plus_one(r: Rule, stats: StatementStats, th: Thresholds) -> Iterator[Finding]:
    """One statement shape called very often for few rows per call: an N+1 query pattern candidate.

    Fix: fetch the rows for all parents in one query (a JOIN or ``WHERE id = ANY($1)``), or eager-load in
    the ORM. False positives: genuinely independent point lookups (a cache may still help).
    """
    df = stats.frame
    for row in df.to_dict("records"):
        calls = _val(row["calls"])
        if calls < th["pgss_n_plus_one_min_calls"]:
            continue
        per_call = _val(row["rows"]) / calls
        q = str(row["query"])
        if per_call > th["pgss_n_plus_one_max_rows_per_call"] or not q.lstrip().lower().startswith(
            "select"
        ):
            continue
        yield r.finding(
            run=stats.run,
            title=f"Called {calls:,.0f} times for {per_call:.1f} rows each: {q[:80]}",
            location=f"queryid {row['queryid']}",
            evidence={
                "calls": calls,
                "rows_per_call": per_call,
                "total_time_s": row["total_time_s"],
            },
            recommendation="Batch it: one query for all parents (JOIN or = ANY($1)) instead of one per parent.",
        )


@rule(
    "PG022",
    "low-cache-hit",
    applies_to=(StatementStats, TableUsage),
    thresholds=("cache_hit_min_ratio",),
)
def low_cache_hit(r: Rule, obj: StatementStats | TableUsage, th: Thresholds) -> Iterator[Finding]:
    """The buffer cache hit ratio is below ``cache_hit_min_ratio`` (blocks hit / (hit + read)).

    Fix: raise ``shared_buffers`` if the working set fits in RAM; otherwise reduce what is read (indexes,
    narrower queries). False positive: the first run after a restart (cold cache).
    """
    df = obj.frame
    hit_col, read_col = (
        ("shared_blks_hit", "shared_blks_read")
        if isinstance(obj, StatementStats)
        else ("heap_blks_hit", "heap_blks_read")
    )
    if hit_col not in df or read_col not in df:
        return
    hit, read = float(df[hit_col].sum()), float(df[read_col].sum())
    if hit + read < 1000:
        return
    ratio = hit / (hit + read)
    if ratio >= th["cache_hit_min_ratio"]:
        return
    yield r.finding(
        title=f"Buffer cache hit ratio {ratio:.0%}",
        location="database",
        evidence={"hit_blocks": hit, "read_blocks": read, "hit_ratio": ratio},
        recommendation="Raise shared_buffers if the working set fits in memory; otherwise read less (indexes).",
    )


@rule(
    "PG023",
    "seq-scan-large-table",
    applies_to=TableUsage,
    thresholds=("pg_seq_scan_min_rows", "pg_seq_scan_min_ratio"),
)
def seq_scan_large_table(r: Rule, usage: TableUsage, th: Thresholds) -> Iterator[Finding]:
    """A large table is read mostly by sequential scans (pg_stat_user_tables).

    Fix: find the statements filtering it (pg_stat_statements, auto_explain) and index their columns.
    """
    df = usage.frame
    for row in df.to_dict("records"):
        seq, idx = _val(row.get("seq_scan")), _val(row.get("idx_scan"))
        if _val(row.get("n_live_tup")) < th["pg_seq_scan_min_rows"] or seq + idx == 0:
            continue
        if seq / (seq + idx) < th["pg_seq_scan_min_ratio"] or seq < 5:
            continue
        yield r.finding(
            title=f"{row['relname']}: {seq:,.0f} sequential scans of {row['n_live_tup']:,.0f} rows",
            location=f"table {row['relname']}",
            evidence={
                "seq_scan": seq,
                "idx_scan": idx,
                "n_live_tup": row["n_live_tup"],
                "seq_tup_read": row.get("seq_tup_read"),
            },
            recommendation=f"Find the queries filtering {row['relname']} and index their filter columns.",
        )


@rule("PG024", "unused-index", applies_to=TableUsage, severity=Severity.info)
def unused_index(r: Rule, usage: TableUsage, th: Thresholds) -> Iterator[Finding]:
    """An index never used since statistics were reset (pg_stat_user_indexes.idx_scan = 0).

    Why: it costs writes and space. Fix: drop it after checking it is not unique/constraint-backing and
    that statistics cover a representative period (and replicas). False positive: fresh stats.
    """
    for row in usage.indexes.to_dict("records"):
        if _val(row.get("idx_scan")) > 0 or row.get("is_unique"):
            continue
        yield r.finding(
            title=f"Index {row['indexrelname']} on {row['relname']} was never used",
            location=f"index {row['indexrelname']}",
            evidence={"idx_scan": row.get("idx_scan"), "size_bytes": row.get("size_bytes")},
            recommendation=f"DROP INDEX {row['indexrelname']}; if no constraint needs it.",
        )
