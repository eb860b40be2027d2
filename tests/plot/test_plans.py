"""Plan figures: assert on the drawn artists."""

from __future__ import annotations

import perfnb
from perfnb.plot.plans import plot_plan_tree, plot_self_time
from tests.conftest import SAMPLES

PLANS = SAMPLES / "plans"


def test_plan_tree_draws_one_box_per_node_and_warns() -> None:
    plan = perfnb.read_plan(PLANS / "row_misestimate.json")
    ax = plot_plan_tree(plan)
    assert len(ax.texts) == len(plan.nodes)
    assert len(ax.lines) == len(plan.nodes) - 1
    assert any("⚠ rows" in t.get_text() for t in ax.texts)
    assert any("Seq Scan on readings" in t.get_text() for t in ax.texts)


def test_plan_tree_limits_huge_plans() -> None:
    plan = perfnb.read_plan(PLANS / "planning_time.json")
    ax = plot_plan_tree(plan, max_nodes=20)
    assert len(ax.texts) == 20


def test_self_time_bars() -> None:
    plan = perfnb.read_plan(PLANS / "subplans.json")
    ax = plot_self_time(plan, n=5)
    assert len(ax.patches) == 5
    labels = [t.get_text() for t in ax.get_yticklabels()]
    top = plan.top(1)["label"].iloc[0]
    assert top in labels[-1]
    assert ax.get_xlabel() == "self time (ms)"
    assert plan.plot() is not None
