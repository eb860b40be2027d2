"""EXPLAIN (FORMAT JSON) reader: samples generated on a real PostgreSQL, psql frames, bad input, the corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

import perfnb
from perfnb.errors import EmptyInputError, FormatError, InputError
from perfnb.io.explain import PLAN_NODES, Plan, plans_from_json, read_plan, read_plans
from perfnb.schema import assert_conforms
from tests.conftest import MALFORMED, SAMPLES

PLANS = SAMPLES / "plans"
JSON_SAMPLES = sorted(PLANS.glob("*.json"))
SERIAL = [
    "seq_scan_filter", "row_misestimate", "sort_spill", "hash_spill", "lossy_bitmap",
    "nested_loop", "heap_fetches", "memoize", "subplans", "trivial", "index_fixed",
]  # fmt: skip


@pytest.mark.parametrize("path", JSON_SAMPLES, ids=lambda p: p.name)
def test_samples_load_and_conform(path) -> None:
    plan = read_plan(path)
    assert isinstance(plan, Plan)
    assert_conforms(plan.nodes, PLAN_NODES)
    assert plan.nodes["node_id"].tolist() == list(range(len(plan.nodes)))
    assert (plan.nodes["self_time_s"].dropna() >= 0).all()
    assert set(plan.nodes["source"]) == {"explain"}
    assert set(plan.nodes["run"]) == {path.stem}


@pytest.mark.parametrize("name", SERIAL)
def test_serial_self_times_sum_to_execution_time(name) -> None:
    plan = read_plan(PLANS / f"{name}.json")
    n = plan.nodes
    root = n["total_time_s"].iloc[0]
    # every node's inclusive time is subtracted once: self times telescope to the root's time ...
    assert abs(n["self_time_s"].sum() - root) <= n["self_time_clamped_s"].sum() + 1e-9
    # ... which is the execution time up to executor start/stop overhead (tens of µs; a few ms when
    # ExecutorEnd removes a spilled sort's temp files)
    assert root <= plan.execution_time_s
    assert plan.execution_time_s - root <= max(5e-4, 0.05 * plan.execution_time_s)
    assert n["self_time_clamped_s"].sum() <= n["self_time_uncertainty_s"].sum()


def test_parallel_plan_divides_by_participating_processes() -> None:
    plan = read_plan(PLANS / "parallel.json")
    n = plan.nodes.set_index("node_type")
    gather = n.loc["Gather Merge"]
    assert gather["workers_launched"] == 2 and gather["processes"] == 1
    scan = n.loc["Seq Scan"]
    assert scan["loops"] == 3 and scan["processes"] == 3
    # the scan's wall time is its share of the critical path (the slowest process below the Gather):
    # at least its per-process average, never the sum over three processes
    assert scan["time_per_loop_s"] <= scan["total_time_s"] < 2 * scan["time_per_loop_s"]
    assert scan["total_time_s"] < gather["total_time_s"]
    assert abs(plan.nodes["self_time_s"].sum() - plan.nodes["total_time_s"].iloc[0]) < 1e-9


def test_cte_initplan_and_subplan_accounting() -> None:
    plan = read_plan(PLANS / "subplans.json")
    n = plan.nodes
    cte = n[n["subplan_name"] == "CTE big"].iloc[0]
    scans = n[n["node_type"] == "CTE Scan"]
    initplan = n[n["subplan_name"].fillna("").str.startswith("InitPlan")].iloc[0]
    subplan = n[n["parent_relationship"] == "SubPlan"].iloc[0]
    assert len(scans) == 2
    # the CTE's time is taken out of the scans that pulled its rows, not counted twice
    assert scans["self_time_s"].sum() + cte["total_time_s"] == pytest.approx(
        scans["total_time_s"].sum() - initplan["total_time_s"], abs=1e-6
    )
    assert subplan["loops"] > 1000  # correlated subquery, once per outer row
    # PEV2's CTE check: sum of self times within 1 % of the root's time, and nothing clamped
    assert n["self_time_s"].sum() == pytest.approx(n["total_time_s"].iloc[0], rel=0.01)
    assert n["self_time_clamped_s"].sum() == 0


def test_psql_framed_equals_raw_json() -> None:
    framed = read_plan(PLANS / "psql_framed.txt")
    raw = read_plan(PLANS / "trivial.json")
    assert framed.nodes["node_type"].tolist() == raw.nodes["node_type"].tolist()
    assert framed.query is None and framed.analyzed


def test_multi_statement_file() -> None:
    plans = read_plans(PLANS / "psql_multi.txt")
    assert [p.index for p in plans] == [0, 1]
    with pytest.raises(
        InputError, match=r"holds 2 plans; expected exactly one \(use perfnb.read_plans"
    ):
        read_plan(PLANS / "psql_multi.txt")


def test_folder_reads_every_plan() -> None:
    plans = read_plans(PLANS)
    assert len(plans) >= len(JSON_SAMPLES) + 3


def test_without_analyze() -> None:
    plan = read_plan(PLANS / "no_analyze.json")
    assert not plan.analyzed
    assert plan.nodes["self_time_s"].isna().all()
    assert plan.nodes["plan_rows"].notna().all()
    with pytest.raises(FormatError, match=r"was EXPLAIN run with ANALYZE\?") as info:
        plan.require_analyze()
    assert info.value.key == "$[0].Plan"


def test_read_sniffs_explain() -> None:
    out = perfnb.read(PLANS / "hash_spill.json")
    assert isinstance(out, list) and isinstance(out[0], Plan)


def test_fields_converted_to_base_units() -> None:
    n = read_plan(PLANS / "sort_spill.json").nodes
    sort = n.iloc[0]
    assert sort["sort_space_type"] == "Disk"
    assert sort["sort_space_used_bytes"] % 1024 == 0
    assert sort["temp_written_blocks"] > 0
    h = read_plan(PLANS / "hash_spill.json").nodes
    assert (h["hash_batches"].dropna() > 1).any()
    lossy = read_plan(PLANS / "lossy_bitmap.json").nodes
    assert lossy["lossy_heap_blocks"].max() > 0


def test_rounding_uncertainty_grows_with_loops() -> None:
    n = read_plan(PLANS / "nested_loop.json").nodes
    inner = n[n["parent_relationship"] == "Inner"].iloc[0]
    assert inner["self_time_uncertainty_s"] == pytest.approx(0.5e-6 * inner["loops"], rel=1e-9)


@pytest.mark.parametrize(
    ("name", "error", "pattern"),
    [
        ("truncated.json", FormatError, r"truncated.json:6: invalid JSON"),
        ("not_a_plan.json", FormatError, r"not_a_plan.json: key \$\[0\]: missing 'Plan'"),
        ("bad_number.json", FormatError, r"key \$\[0\].Plan: 'Actual Total Time' is 'N/A'"),
        ("empty.json", EmptyInputError, r"empty.json: file is empty"),
    ],
)
def test_malformed(name, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        read_plans(MALFORMED / "plans" / name)


def test_plans_from_json_rejects_non_plans() -> None:
    with pytest.raises(FormatError, match=r"missing 'Node Type'"):
        plans_from_json([{"Plan": {"Plans": []}}])
    with pytest.raises(EmptyInputError):
        plans_from_json([])


# ------------------------------------------------------------------------------------------- corpus


def _json_corpus(corpus):
    plans = corpus / "plans"
    files = sorted(plans.rglob("*.json")) + sorted(
        p for p in plans.rglob("*.txt") if "json" in p.name and "text" not in p.name
    )
    return [f for f in files if f.is_file()]


def test_every_corpus_json_plan_loads(corpus) -> None:
    files = _json_corpus(corpus)
    assert len(files) > 150
    count = 0
    for f in files:
        for plan in read_plans(f):
            count += 1
            n = plan.nodes
            assert (n["self_time_s"].dropna() >= 0).all(), f
            if plan.analyzed:
                # every clamp is reported, and the sum telescopes otherwise
                assert abs(n["self_time_s"].sum() - n["total_time_s"].iloc[0]) <= (
                    n["self_time_clamped_s"].sum() + 1e-6
                ), f
    assert count >= len(files)


def test_corpus_cte_plans_pass_pev2_check(corpus) -> None:
    """PEV2's cte-exclusive-time check (sum of exclusive times within 1 % of the root) on JSON CTE plans."""
    checked = 0
    for f in _json_corpus(corpus):
        for plan in read_plans(f):
            n = plan.nodes
            if not plan.analyzed or not n["subplan_name"].fillna("").str.startswith("CTE ").any():
                continue
            checked += 1
            root = n["total_time_s"].iloc[0]
            assert n["self_time_s"].sum() == pytest.approx(root, rel=0.01, abs=2e-5), f
            cte_nodes = n[n["subplan_name"].fillna("").str.startswith("CTE ")]
            assert (cte_nodes["self_time_s"] >= 0).all()
    assert checked >= 5


def test_corpus_version_fields(corpus) -> None:
    pg18 = [
        p
        for f in sorted((corpus / "plans" / "joe_fixtures" / "pg18").glob("*.json"))
        for p in read_plans(f)
    ]
    rows = np.concatenate([p.nodes["actual_rows"].dropna().to_numpy() for p in pg18])
    assert len(rows)
    pg17 = [
        p
        for f in sorted((corpus / "plans" / "joe_fixtures" / "pg17").glob("*.json"))
        for p in read_plans(f)
    ]
    assert any(p.nodes["shared_hit_blocks"].notna().any() for p in pg17)


def test_corpus_text_plans_load(corpus) -> None:
    plans_dir = corpus / "plans"
    files = [
        f
        for f in sorted(plans_dir.rglob("*.txt"))
        if "json" not in f.name
        and f.parent.name not in ("line_wrapped", "flame_explain")  # wrapped pastes; SQL files
    ]
    loaded = 0
    for f in files:
        try:
            plans = read_plans(f)
        except FormatError:
            continue
        loaded += 1
        for plan in plans:
            assert (plan.nodes["self_time_s"].dropna() >= 0).all(), f
    assert loaded >= 190, loaded


def test_pev2_cte_oracle_on_its_text_fixtures(corpus) -> None:
    """PEV2's cte-exclusive-time.spec: sum of exclusive times within 1 % of the root, for its 5 plans."""
    files = sorted((corpus / "plans" / "pev2_fixtures" / "cte_exclusive_time").glob("*"))
    assert len(files) == 5
    for f in files:
        n = read_plan(f).nodes
        assert n["self_time_s"].sum() == pytest.approx(n["total_time_s"].iloc[0], rel=0.01), f


def test_text_and_json_agree_on_structure(corpus) -> None:
    folder = corpus / "plans" / "kiroku_pg18"
    a = read_plan(next(folder.glob("*.json"))).nodes
    b = read_plan(next(folder.glob("*.txt"))).nodes
    for col in ("node_type", "parent_relationship", "subplan_name", "relation", "loops"):
        assert (
            a[col].astype("string").fillna("").tolist()
            == b[col].astype("string").fillna("").tolist()
        )


def test_text_sample_matches_json_sample() -> None:
    a = read_plan(PLANS / "subplans.json").nodes
    b = read_plan(PLANS / "subplans_text.txt").nodes
    for col in ("node_type", "parent_relationship", "subplan_name", "relation", "alias", "loops"):
        assert (
            a[col].astype("string").fillna("").tolist()
            == b[col].astype("string").fillna("").tolist()
        )
    assert b["hash_batches"].iloc[1] == a["hash_batches"].iloc[1]
    assert b["self_time_s"].sum() == pytest.approx(b["total_time_s"].iloc[0])
    assert isinstance(perfnb.read(PLANS / "subplans_text.txt")[0], Plan)


def test_parallel_append_children_share_the_append_divisor(corpus) -> None:
    plan = read_plan(corpus / "plans" / "flame_explain" / "example_ParallelAppend.json")
    n = plan.nodes
    # FlameExplain's quirk case: without the shared divisor the Append's children sum to 2× its time
    assert not (n["self_time_note"].astype("string") == "parallel-overlap").any()


def test_json_roundtrip_of_raw() -> None:
    plan = read_plan(PLANS / "trivial.json")
    assert json.loads(json.dumps(plan.raw))["Plan"]["Node Type"] == "Index Scan"


def test_worker_detail_and_leader_share() -> None:
    plan = read_plan(PLANS / "parallel.json")
    w = plan.workers
    assert set(w["worker"]) == {0, 1}
    scan_id = int(plan.nodes.loc[plan.nodes["node_type"] == "Seq Scan", "node_id"].iloc[0])
    leader = plan.leader_share().set_index("node_id")
    # the leader participated: node loops (3) = 2 workers + leader
    assert leader.loc[scan_id, "leader_loops"] == 1
    rows = plan.nodes.set_index("node_id").loc[scan_id, "actual_rows_total"]
    assert w.loc[w["node_id"] == scan_id, "actual_rows_total"].sum() + leader.loc[
        scan_id, "leader_rows"
    ] == pytest.approx(rows)
    assert read_plan(PLANS / "trivial.json").workers.empty


def test_plans_frame_lists_a_folder_without_building_node_frames():
    """Listing plans read file by file reads their flattened columns, not one node frame per plan (issue 20)."""
    from perfnb.io.explain import plans_frame

    plans = perfnb.read_plans(SAMPLES / "plans")
    frame = plans_frame(plans)
    assert all(p._nodes is None for p in plans)
    assert frame["nodes"].tolist() == [len(p.nodes) for p in plans]
    assert frame["root"].tolist() == [str(p.nodes["node_type"].iloc[0]) for p in plans]
