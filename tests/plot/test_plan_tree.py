"""The collapsible plan tree: node facts, findings next to their node, escaping, large plans."""

from __future__ import annotations

import copy
import json
import re

import perfnb
from perfnb.plot.plan_tree import plot_plan_details
from tests.conftest import SAMPLES

P = SAMPLES / "plans"
EVIL = '<script>alert(1)</script>"onmouseover=x'


def _one(name: str):
    (plan,) = perfnb.read_plans(P / name)
    return plan


def test_node_facts_and_findings_are_shown() -> None:
    view = plot_plan_details(_one("hash_spill.json"))
    h = view.html
    assert h.count("<details") >= 5 and view.nodes_shown == view.nodes_total == 5
    for text in (
        "Hash Join",
        "Seq Scan on orders",
        "actual vs",
        "est",
        "loops",
        "buffers hit",
        "temp read",
        "hash batches 16",
        "self <b>",
        "total ",
    ):
        assert text in h, text
    # the spill finding sits inside the Hash node's block, not elsewhere
    hash_block = h[h.index('<span class="t">Hash</span>') :]
    assert "PG004" in hash_block[: hash_block.index("<details", 10)]


def test_estimate_factor_filters_and_rows_removed() -> None:
    h = plot_plan_details(_one("row_misestimate.json")).html
    assert re.search(r"\d[\d,]*× (under|over)estimated", h)
    h2 = plot_plan_details(_one("seq_scan_filter.json")).html
    assert "filter <code>" in h2 and "rows removed by filter 199,990" in h2


def test_workers_are_shown() -> None:
    h = plot_plan_details(_one("parallel.json")).html
    assert "workers 2 launched of 2 planned" in h


def test_untrusted_text_is_escaped() -> None:
    plan = _one("seq_scan_filter.json")
    plan.node_data = copy.deepcopy(plan.node_data)
    plan.node_data["relation"][0] = EVIL
    plan.node_data["filter"][0] = EVIL
    plan._nodes = None
    plan._records = None
    plan.query = EVIL
    h = plot_plan_details(plan, findings=[]).html
    assert "<script>alert" not in h and '"onmouseover' not in h
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;onmouseover=x" in h


def test_ten_thousand_node_plan_is_pruned_and_says_so(tmp_path) -> None:
    doc = json.loads((P / "seq_scan_filter.json").read_text())
    scan = doc[0]["Plan"]
    kids = []
    for i in range(10_000):
        k = copy.deepcopy(scan)
        k["Parent Relationship"] = "Member"
        k["Actual Total Time"] = 0.001 * (i % 97 + 1)
        kids.append(k)
    doc[0]["Plan"] = {**scan, "Node Type": "Append", "Plans": kids, "Actual Total Time": 5000.0}
    for key in ("Relation Name", "Filter", "Rows Removed by Filter", "Alias", "Schema"):
        doc[0]["Plan"].pop(key, None)
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    (plan,) = perfnb.read_plans(path)
    view = plot_plan_details(plan, findings=[], max_nodes=1500)
    assert view.nodes_total == 10_001 and view.nodes_shown == 1500
    assert "Pruned:" in view.html and "more child node(s) not drawn" in view.html
    assert len(view.html) < 2_500_000


def test_findings_of_other_plans_do_not_attach() -> None:
    plans = perfnb.read_plans(P)
    all_findings = perfnb.check(plans)
    plan = _one("jit.json")
    h = plot_plan_details(plan, findings=all_findings).html
    assert "PG003" not in h and "PG007" not in h  # sort spill / nested loop belong to other plans
    assert "PG006" in h  # its own finding still attaches
