"""Plans grouped by query (issue 16.5) on a real auto_explain workload log (PostgreSQL 15)."""

from __future__ import annotations

import re

import perfnb
from perfnb.analysis.plans import group_hotspots, normalize_query, query_group, query_groups
from tests.conftest import SAMPLES

WORKLOAD = SAMPLES / "plans" / "auto_explain" / "workload.log"


def test_groups_follow_the_statement_templates() -> None:
    plans = perfnb.read_plans(WORKLOAD)
    g = query_groups(plans)
    # data/generate/plans.py ran 10 statement templates with different literals
    assert len(g) == 10
    assert int(g["plans"].sum()) == len(plans)
    assert g["total_time_s"].is_monotonic_decreasing
    for row in g.to_dict("records"):
        members = [p for p in plans if query_group(p) == row["query_group"]]
        assert len(members) == row["plans"]
        assert max(p.total_time_s for p in members) == row["max_time_s"]
        assert plans[row["worst_plan"]].total_time_s == row["max_time_s"]
        assert row["worst_plan_ref"] == f"workload.log#{row['worst_plan']}"
        assert not re.search(r"'[^']*'|\b\d{2,}\b", row["query"])  # literals normalized away


def test_explain_files_group_by_query_identifier() -> None:
    a = perfnb.read_plan(SAMPLES / "plans" / "seq_scan_filter.json")
    b = perfnb.read_plan(SAMPLES / "plans" / "index_fixed.json")
    assert query_group(a) == query_group(b) and query_group(a).startswith("queryid ")


def test_hotspots_explain_the_worst_plan_of_each_top_group() -> None:
    plans = perfnb.read_plans(WORKLOAD)
    h = group_hotspots(plans, top=3, n=5)
    top3 = query_groups(plans).head(3)
    assert h["query_group"].unique().tolist() == top3["query_group"].tolist()
    for _ref, part in h.groupby("worst_plan_ref"):
        assert part["self_time_s"].is_monotonic_decreasing
        assert part["self_ratio"].sum() <= 1 + 1e-9


def test_normalize_query() -> None:
    assert normalize_query("select 1 /* x */ where a = $1 and b in (1,2)") == (
        "select ? where a = ? and b in (?...)"
    )
