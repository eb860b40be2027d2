"""Large auto_explain logs grouped by query in bounded memory (issue 20.2), on real logs made here."""

from __future__ import annotations

import itertools

import pytest

import perfnb
from perfnb.analysis.plans import query_groups
from perfnb.errors import FormatError, InputError
from perfnb.io.plan_scan import _entry_ranges, scan_auto_explain
from tests.conftest import SAMPLES

LOGS = SAMPLES / "plans" / "auto_explain"
WORKLOAD = LOGS / "workload.log"


@pytest.mark.parametrize("chunk", [5_000, 20_000, 10**9])
def test_stream_equals_reading_everything(chunk) -> None:
    scan = scan_auto_explain(WORKLOAD, chunk_bytes=chunk)
    expected = query_groups(perfnb.read_plans(WORKLOAD)).set_index("query_group")
    got = scan.frame.set_index("query_group")
    assert scan.plans == int(expected["plans"].sum())
    assert sorted(got.index) == sorted(expected.index)
    for key in expected.index:
        assert got.loc[key, "plans"] == expected.loc[key, "plans"]
        assert got.loc[key, "total_time_s"] == pytest.approx(expected.loc[key, "total_time_s"])
        assert got.loc[key, "max_time_s"] == pytest.approx(expected.loc[key, "max_time_s"])
        assert got.loc[key, "query"] == expected.loc[key, "query"]


def test_partitions_start_on_entries() -> None:
    parts = _entry_ranges(WORKLOAD, 3_000)
    assert len(parts) > 10
    data = WORKLOAD.read_bytes()
    assert parts[0].start == 0 and parts[-1].end == len(data)
    for a, b in itertools.pairwise(parts):
        assert a.end == b.start
        assert data[b.start : b.start + 4] == b"2026"  # a log line prefix, not a tab continuation


def test_worst_plans_are_the_slowest_of_their_group() -> None:
    scan = scan_auto_explain(WORKLOAD, chunk_bytes=8_000)
    worst = scan.worst_plans(top=3)
    frame = scan.frame
    assert [p.total_time_s for p in worst] == frame["max_time_s"].head(3).tolist()
    assert all(p.nodes["self_time_s"].notna().all() for p in worst)


def test_jsonlog_and_text_plans() -> None:
    scan = scan_auto_explain(LOGS / "postgresql.json", chunk_bytes=2_000)
    plans = perfnb.read_auto_explain(LOGS / "postgresql.json")
    assert scan.plans == len(plans)
    stderr = scan_auto_explain(LOGS / "postgresql.log", chunk_bytes=2_000)
    # the stderr log also holds two text-format plans: grouped by their Query Text too
    assert stderr.plans == scan.plans
    assert len(stderr.worst_plans()) == len(stderr.groups)


def test_csvlog_is_refused_with_a_hint() -> None:
    with pytest.raises(FormatError, match="csvlog cannot be cut"):
        scan_auto_explain(LOGS / "postgresql.csv")


def test_dask_engine_gives_the_same_groups() -> None:
    pytest.importorskip("distributed")
    from perfnb.engine import local_client

    with local_client(n_workers=1, threads_per_worker=1) as client:
        scan = scan_auto_explain(WORKLOAD, engine="dask", client=client, chunk_bytes=20_000)
    assert scan.frame.equals(scan_auto_explain(WORKLOAD, chunk_bytes=50_000).frame)


@pytest.mark.parametrize("reader", [perfnb.read_auto_explain, perfnb.read_plans])
def test_read_with_the_stream_engine_keeps_each_groups_worst_plan(reader) -> None:
    """read_auto_explain/read_plans(engine="stream"): bounded memory, the group table of the whole log."""
    every = perfnb.read_plans(WORKLOAD)
    plans = reader(WORKLOAD, engine="stream")
    expected = query_groups(every)
    groups = query_groups(plans)  # the whole log's table, not one row per kept plan
    assert plans.meta["plans_read"] == len(every) == int(groups["plans"].sum())
    assert len(plans) == len(expected) == len(groups)
    assert groups["query_group"].tolist() == expected["query_group"].tolist()
    assert groups["total_time_s"].tolist() == pytest.approx(expected["total_time_s"].tolist())
    for k, plan in enumerate(plans):
        # the kept plan is the group's slowest, named by when it was logged
        assert groups.loc[k, "worst_plan"] == k
        same = every[int(expected.loc[k, "worst_plan"])]
        assert plan.timestamp == same.timestamp
        assert plan.total_time_s == pytest.approx(same.total_time_s)
        assert plan.nodes["self_time_s"].tolist() == same.nodes["self_time_s"].tolist()
        assert groups.loc[k, "worst_plan_ref"] == plan.meta["ref"]
        assert plan.meta["ref"].startswith("workload.log at 2026-12-03 ")
    hot = perfnb.analysis.plans.group_hotspots(plans, top=2, n=1)
    assert hot["plans"].tolist() == expected["plans"].head(2).tolist()
    findings = list(perfnb.check(plans))
    assert findings
    refs = {p.meta["ref"] for p in plans}
    assert all(f.evidence["plan"] in refs for f in findings)  # the log time, not a position


def test_read_plans_with_the_dask_engine_equals_stream() -> None:
    pytest.importorskip("distributed")
    from perfnb.engine import local_client

    with local_client(n_workers=1, threads_per_worker=1) as client:
        dask = perfnb.read_plans(WORKLOAD, engine="dask", client=client)
    stream = perfnb.read_plans(WORKLOAD, engine="stream")
    assert query_groups(dask).equals(query_groups(stream))
    assert [p.total_time_s for p in dask] == [p.total_time_s for p in stream]


def test_stream_engine_refuses_what_it_cannot_cut(tmp_path) -> None:
    import gzip

    gz = tmp_path / "postgresql.log.gz"
    gz.write_bytes(gzip.compress(WORKLOAD.read_bytes()))
    assert len(perfnb.read_plans(gz)) == 33  # the in-memory reader decompresses it
    with pytest.raises(FormatError, match="cannot be cut into byte ranges") as err:
        perfnb.read_plans(gz, engine="stream")
    assert "zcat" in str(err.value)
    with pytest.raises(InputError, match="encoding"):
        perfnb.read_auto_explain(WORKLOAD, engine="stream", encoding="latin-1")
    with pytest.raises(InputError, match="unknown engine"):
        perfnb.read_plans(WORKLOAD, engine="spark")


def test_explain_files_read_whole_whatever_the_engine() -> None:
    path = SAMPLES / "plans" / "psql_multi.txt"
    streamed, whole = perfnb.read_plans(path, engine="stream"), perfnb.read_plans(path)
    assert len(streamed) == len(whole) == 2
    assert all(a.nodes.equals(b.nodes) for a, b in zip(streamed, whole, strict=True))


def test_groups_by_query_identifier_like_query_group() -> None:
    """A logged plan with EXPLAIN VERBOSE's Query Identifier is grouped as query_group groups it."""
    from perfnb.analysis.plans import query_group
    from perfnb.scan.plans import _fingerprint

    plan = perfnb.read_plan(SAMPLES / "plans" / "parallel.json")
    qid = plan.raw["Query Identifier"]
    assert query_group(plan) == f"queryid {qid}"
    assert _fingerprint(plan.query, qid)[0] == query_group(plan)
