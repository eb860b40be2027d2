"""Plan and pg_stat_statements rules on plans generated on a real PostgreSQL with planted problems."""

from __future__ import annotations

import pandas as pd
import pytest

import perfnb
from perfnb.findings import rules
from perfnb.io.explain import Plan
from perfnb.io.pg_stat_statements import TableUsage
from tests.conftest import SAMPLES

PLANS = SAMPLES / "plans"

EXPECTED = {
    "seq_scan_filter": "seq-scan-filter",
    "row_misestimate": "row-misestimate",
    "sort_spill": "sort-spill",
    "hash_spill": "hash-spill",
    "lossy_bitmap": "lossy-bitmap",
    "jit": "jit-time",
    "nested_loop": "nested-loop-heavy",
    "heap_fetches": "heap-fetches",
    "planning_time": "planning-time",
    "sort_spill ": "slow-node",
}


@pytest.mark.parametrize(("sample", "slug"), EXPECTED.items())
def test_rule_fires_on_its_planted_problem(sample, slug) -> None:
    plan = perfnb.read_plan(PLANS / f"{sample.strip()}.json")
    found = perfnb.check(plan).by_rule(slug)
    assert found, f"{slug} did not fire on {sample}"
    f = found[0]
    assert f.rule.startswith("PG0")
    assert f.location and f.recommendation and f.evidence


@pytest.mark.parametrize("sample", ["trivial", "index_fixed", "no_analyze"])
def test_quiet_on_healthy_plans(sample) -> None:
    assert len(perfnb.check(perfnb.read_plan(PLANS / f"{sample}.json"))) == 0


def test_recommendations_are_concrete() -> None:
    f = perfnb.check(perfnb.read_plan(PLANS / "seq_scan_filter.json")).by_rule("PG001")[0]
    assert "CREATE INDEX ON orders (customer_email);" in f.recommendation
    assert f.location == "seq_scan_filter.json#0 node 0: Seq Scan on orders"
    assert f.evidence["plan"] == "seq_scan_filter.json#0"
    assert f.evidence["removed_ratio"] > 0.99
    spill = perfnb.check(perfnb.read_plan(PLANS / "sort_spill.json")).by_rule("sort-spill")[0]
    assert "SET LOCAL work_mem = '" in spill.recommendation and "64kB" in spill.recommendation
    est = perfnb.check(perfnb.read_plan(PLANS / "row_misestimate.json")).by_rule("row-misestimate")[
        0
    ]
    assert "CREATE STATISTICS ON a, b FROM readings" in est.recommendation


def test_every_plan_rule_is_documented() -> None:
    slugs = {r.name for r in rules() if r.code.startswith("PG")}
    assert set(EXPECTED.values()) <= slugs
    for r in rules():
        if r.code.startswith("PG"):
            assert len(r.doc) > 40, r.code


def test_thresholds_can_silence() -> None:
    plan = perfnb.read_plan(PLANS / "seq_scan_filter.json")
    assert not perfnb.check(plan, plan_seq_scan_min_rows=1e9).by_rule("seq-scan-filter")


def test_statement_rules() -> None:
    stats = perfnb.read_pg_stat_statements(PLANS / "pg_stat_statements.csv")
    names = {f.name for f in perfnb.check(stats)}
    assert {"dominant-statement", "n-plus-one"} <= names
    n1 = perfnb.check(stats).by_rule("n-plus-one")[0]
    assert "order_items" in n1.title


def test_usage_rules() -> None:
    tables = pd.DataFrame(
        {"relname": ["orders", "tiny"], "seq_scan": [50, 80], "idx_scan": [2, 0],
         "n_live_tup": [200000, 10], "seq_tup_read": [10_000_000, 800],
         "heap_blks_hit": [100, 10], "heap_blks_read": [9000, 0]}
    )  # fmt: skip
    indexes = pd.DataFrame(
        {"relname": ["orders", "orders"], "indexrelname": ["orders_pkey", "orders_note"],
         "idx_scan": [5, 0], "is_unique": [True, False], "size_bytes": [8192, 16384]}
    )  # fmt: skip
    found = perfnb.check(TableUsage(tables, indexes))
    assert [f.location for f in found.by_rule("seq-scan-large-table")] == ["table orders"]
    assert [f.location for f in found.by_rule("unused-index")] == ["index orders_note"]
    assert found.by_rule("low-cache-hit")


def test_compare_plans() -> None:
    a = perfnb.read_plan(PLANS / "seq_scan_filter.json")
    b = perfnb.read_plan(PLANS / "index_fixed.json")
    diff = perfnb.compare_plans(a, b)
    d = diff.table
    assert d.iloc[0]["key"] == "(plan)"
    assert "Seq Scan on orders" in set(d.loc[d["change"] == "removed", "key"])
    assert (d["change"] == "added").sum() == 2
    assert d.attrs["perfnb"]["speedup_ratio"] > 10
    assert diff.speedup_ratio is not None and diff.speedup_ratio > 10
    assert diff.verdict == "improvement" and not perfnb.check(diff)
    same = perfnb.compare_plans(a, a)
    assert set(same.table["change"]) == {"same"}
    assert same.verdict == "no significant change"


def test_plan_regression_is_a_finding_naming_the_node() -> None:
    """The index fix undone: the baseline is the fast plan, the candidate the seq scan (real plans)."""
    fast = perfnb.read_plan(PLANS / "index_fixed.json")
    slow = perfnb.read_plan(PLANS / "seq_scan_filter.json")
    diff = perfnb.compare_plans(fast, slow)
    assert diff.verdict == "regression"
    (f,) = perfnb.check(diff).by_rule("plan-regression")
    assert "Seq Scan on orders" in f.title and "slower than baseline" in f.title


def test_plan_methods() -> None:
    plan = perfnb.read_plan(PLANS / "hash_spill.json")
    assert isinstance(plan, Plan)
    assert plan.top(2)["self_time_s"].is_monotonic_decreasing
    assert plan.check().by_rule("hash-spill")
    assert "5 nodes" in repr(plan)


# ------------------------------------------------------------------ precision (issue 15), real plans

ATTRIBUTION = PLANS / "attribution"
WORKLOAD = PLANS / "auto_explain" / "workload.log"


def test_no_finding_on_a_node_under_one_percent() -> None:
    plans = perfnb.read_plans(ATTRIBUTION) + perfnb.read_plans(WORKLOAD)
    by_ref = {f"{p.path.rsplit('/', 1)[-1]}#{p.index}": p for p in plans}
    checked = 0
    for f in perfnb.check(plans):
        if " node " not in f.location or f.severity < perfnb.Severity.warning:
            continue
        plan = by_ref[f.evidence["plan"]]
        node_id = int(f.location.split(" node ", 1)[1].split(":", 1)[0])
        node = plan.nodes.iloc[node_id]
        checked += 1
        assert node["total_time_s"] >= 0.01 * plan.total_time_s, f.title
    assert checked >= 10


def test_the_one_percent_threshold_on_the_corpus(corpus) -> None:
    """PQET/JOB plans: ~110 warnings name nodes under 1 % of their plan; none by default."""
    plans = [
        p for f in sorted((corpus / "plans").rglob("job_*.json")) for p in perfnb.read_plans(f)
    ]
    default = perfnb.check(plans)
    everything = perfnb.check(plans, plan_finding_min_ratio=0.0)
    assert len(everything) > len(default) + 50
    by_ref = {f"{p.path.rsplit('/', 1)[-1]}#{p.index}": p for p in plans}
    for f in default:
        if " node " in f.location:
            plan = by_ref[f.evidence["plan"]]
            node = plan.nodes.iloc[int(f.location.split(" node ", 1)[1].split(":", 1)[0])]
            assert node["total_time_s"] >= 0.01 * plan.total_time_s, f.title


def test_pattern_filters_get_trigram_advice_not_a_btree() -> None:
    found = perfnb.check(perfnb.read_plans(WORKLOAD)).by_rule("seq-scan-filter")
    patterns = [f for f in found if "ILIKE" in f.location or "~ ?" in f.location]
    assert patterns, [f.location for f in found]
    for f in patterns:
        assert "pg_trgm" in f.recommendation and "gin_trgm_ops" in f.recommendation
    plain = [f for f in found if "customer_email = ?" in f.location]
    assert plain and "CREATE INDEX ON orders (customer_email);" in plain[0].recommendation
    # the planner guesses a regex's selectivity: no "refresh the statistics" finding on it
    estimates = perfnb.check(perfnb.read_plans(WORKLOAD)).by_rule("row-misestimate")
    assert not [f for f in estimates if "~ ?" in f.location]


def test_no_estimate_finding_for_a_node_cut_short_by_limit() -> None:
    plan = perfnb.read_plan(ATTRIBUTION / "limit_sort.json")
    sort = plan.nodes[plan.nodes["node_type"] == "Sort"].iloc[0]
    # the Sort returned 20 of the ~50,000 rows it was estimated to produce: an "over-estimate"
    assert sort["estimate_direction"] == "over" and sort["estimate_factor"] > 1000
    assert sort["self_ratio"] > 0.01
    assert not perfnb.check(plan).by_rule("row-misestimate")
    # the same holds for the index scans under LIMIT in the workload log, whatever the thresholds
    logged = perfnb.check(
        perfnb.read_plans(WORKLOAD), plan_min_time_s=0.0, plan_finding_min_ratio=0.0
    ).by_rule("row-misestimate")
    assert not [f for f in logged if "LIMIT" in f.location]


def test_work_mem_claims_follow_the_plan_settings() -> None:
    logged = perfnb.check(perfnb.read_plans(PLANS / "auto_explain" / "postgresql.log"))
    spill = logged.by_rule("hash-spill")[0]
    assert "default" not in spill.recommendation
    assert "not recorded in this plan" in spill.recommendation
    explained = perfnb.check(perfnb.read_plan(PLANS / "hash_spill.json")).by_rule("hash-spill")[0]
    assert "work_mem is 64kB" in explained.recommendation


def test_rows_rounded_to_zero_per_parallel_loop_are_not_called_zero() -> None:
    found = perfnb.check(perfnb.read_plans(WORKLOAD)).by_rule("seq-scan-filter")
    titles = [f.title for f in found]
    assert not [t for t in titles if t.endswith("to keep 0")], titles
    assert [t for t in titles if "rows per loop round to 0" in t]


def test_locations_name_the_plan_or_query_group_and_the_node_path() -> None:
    found = perfnb.check(perfnb.read_plans(WORKLOAD))
    for f in found:
        assert f.location.startswith("q"), f.location  # query group of the logged statement
        assert "plan" in f.evidence and f.evidence["plan"].startswith("workload.log#")
    deep = [f for f in found if f.location.count(" › ") >= 2]
    assert deep
    files = perfnb.check(perfnb.read_plans(ATTRIBUTION))
    assert all(f.location.split(" ", 1)[0].endswith(".json#0") for f in files)
