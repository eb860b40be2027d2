"""Large auto_explain logs grouped by query in bounded memory (issue 20.2), on real logs made here."""

from __future__ import annotations

import itertools

import pytest

import perfnb
from perfnb.analysis.plans import query_groups
from perfnb.errors import FormatError
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
