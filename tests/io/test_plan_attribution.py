"""Time attribution on plans PostgreSQL 15 made here (data/generate/plans.py --only attribution).

Parallel plans with per-worker detail (VERBOSE), Memoize under a Gather, one process doing most of the
work (a row that sleeps 0.3 s), and a serial nested loop whose inner index scan ran 100,000 times at a
printed 0.001 ms per loop.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from perfnb.io.explain import read_plan, read_plans
from perfnb.io.plan_table import node_table
from tests.conftest import SAMPLES

ATTRIBUTION = SAMPLES / "plans" / "attribution"
FILES = sorted(ATTRIBUTION.glob("*.json"))
GATHER = ("Gather", "Gather Merge")


def test_samples_are_there() -> None:
    assert {p.stem for p in FILES} >= {
        "parallel_memoize", "parallel_skewed", "parallel_hash_sort", "serial_loops",
    }  # fmt: skip


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_self_times_sum_to_execution_time(path) -> None:
    plan = read_plan(path)
    total = plan.nodes["self_time_s"].sum()
    assert total == pytest.approx(plan.execution_time_s, rel=0.05)
    assert (plan.nodes["self_time_s"] >= 0).all()


@pytest.mark.parametrize("path", [p for p in FILES if p.stem.startswith("parallel")], ids=str)
def test_gather_never_ranked_above_the_node_that_did_the_work(path) -> None:
    n = read_plan(path).nodes
    gathers = n[n["node_type"].isin(GATHER)]
    below = n[n["depth"] > gathers["depth"].min()]
    top_below = below["self_time_s"].max()
    assert (gathers["self_time_s"] < top_below).all()


def test_skewed_workers_credit_the_slow_process_node() -> None:
    plan = read_plan(ATTRIBUTION / "parallel_skewed.json")
    n = plan.nodes
    raw = json.loads((ATTRIBUTION / "parallel_skewed.json").read_text())[0]["Plan"]
    # the sleeping row was handled by one process: the node's average over 3 processes is far below
    # the Gather's time, which is what a per-process average credited to the Gather before
    gather = n[n["node_type"] == "Gather"].iloc[0]
    assert gather["self_ratio"] < 0.05
    top = n.sort_values("self_time_s", ascending=False).iloc[0]
    assert top["node_type"] not in GATHER and top["self_ratio"] > 0.5
    assert raw["Node Type"] == "Aggregate"


def test_memoize_statistics_sum_leader_and_workers() -> None:
    path = ATTRIBUTION / "parallel_memoize.json"
    plan = read_plan(path)
    raw = json.loads(path.read_text())[0]["Plan"]
    found = []

    def walk(node):
        if node["Node Type"] == "Memoize":
            found.append(node)
        for c in node.get("Plans", []):
            walk(c)

    walk(raw)
    memo = found[0]
    hits = memo.get("Cache Hits", 0) + sum(w.get("Cache Hits", 0) for w in memo["Workers"])
    misses = memo.get("Cache Misses", 0) + sum(w.get("Cache Misses", 0) for w in memo["Workers"])
    row = plan.nodes[plan.nodes["node_type"] == "Memoize"].iloc[0]
    assert row["cache_hits"] == hits > memo.get("Cache Hits", 0)
    assert row["cache_misses"] == misses
    # every lookup is a hit or a miss: the sum over processes matches the node's loops
    assert hits + misses == row["loops"]


def test_worker_sorts_are_summed() -> None:
    path = ATTRIBUTION / "parallel_hash_sort.json"
    plan = read_plan(path)
    n = plan.nodes
    sort = n[(n["node_type"] == "Sort") & (n["depth"] > 2)].iloc[0]
    raw = json.loads(path.read_text())[0]["Plan"]
    node = raw
    while node["Node Type"] != "Sort" or "Workers" not in node:
        node = node["Plans"][0]
    kb = node.get("Sort Space Used", 0) + sum(w.get("Sort Space Used", 0) for w in node["Workers"])
    assert sort["sort_space_used_bytes"] == kb * 1024


def test_serial_rounding_is_capped_by_the_parent() -> None:
    plan = read_plan(ATTRIBUTION / "serial_loops.json")
    n = plan.nodes.set_index("node_id")
    inner = n[n["loops"] >= 100_000].iloc[0]
    parent = n.loc[int(inner["parent_id"])]
    # printed 0.001 ms × 100,000 loops = 100 ms, more than the parent's measured total
    assert inner["time_per_loop_s"] * inner["loops"] > parent["total_time_s"]
    # capped: the children fit in the parent, the excess is within the rounding and reported
    kids = n[n["parent_id"] == parent.name]
    assert kids["total_time_s"].sum() <= parent["total_time_s"] * (1 + 1e-9)
    assert inner["self_time_note"] == "rounding"
    assert 0 < inner["self_time_clamped_s"] <= inner["self_time_uncertainty_s"]
    assert n["self_time_s"].sum() == pytest.approx(n["total_time_s"].iloc[0], rel=1e-9)


def test_node_table_is_one_frame_sliced_per_plan() -> None:
    plans = read_plans(ATTRIBUTION)
    table = node_table(plans)
    assert table["plan_id"].nunique() == len(plans)
    for k, plan in enumerate(plans):
        part = table[table["plan_id"] == k].drop(columns="plan_id").reset_index(drop=True)
        assert np.allclose(
            part["self_time_s"].to_numpy(), plan.nodes["self_time_s"].to_numpy(), equal_nan=True
        )
        assert (
            part["node_type"].astype(str).tolist() == plan.nodes["node_type"].astype(str).tolist()
        )


def test_a_bad_statement_is_named_and_the_others_kept() -> None:
    from perfnb.errors import FormatError
    from perfnb.io.explain import plans_from_json
    from perfnb.io.explain_flatten import flatten_statements

    good = json.loads((SAMPLES / "plans" / "parallel.json").read_text())[0]
    bad = json.loads(json.dumps(good))
    bad["Plan"]["Plans"][0]["Actual Loops"] = [1]
    errors = []
    _, starts, kept = flatten_statements(
        [good, bad, good], path="x", on_error=lambda k, e: errors.append((k, e.key))
    )
    assert kept == [0, 2] and len(starts) == 3
    assert errors == [(1, "$[1].Plan.Plans[0]")]
    with pytest.raises(FormatError, match=r"\$\[1\]\.Plan\.Plans\[0\]: 'Actual Loops' is \[1\]"):
        plans_from_json([good, bad])
