"""Locust readers: real runs made here (data/samples/loadtests) and the corpus (1.x/2.x, custom percentiles)."""

from __future__ import annotations

from pathlib import Path

import pytest

import perfnb
from perfnb.errors import FormatError, InputError
from perfnb.io.loadtest import INTERVALS, REQUESTS, SUMMARY
from perfnb.io.locust import read_locust, read_locust_json
from perfnb.schema import assert_conforms
from tests.conftest import ROOT, SAMPLES

LT = SAMPLES / "loadtests"
BAD = ROOT / "tests" / "fixtures" / "malformed" / "loadtests"


def test_prefix_folder_and_file_give_the_same_run() -> None:
    a = perfnb.read_loadtest(LT / "step" / "run")
    b = perfnb.read_loadtest(LT / "step")
    c = read_locust(LT / "step" / "run_stats_history.csv")
    assert a.stats is not None and b.stats is not None and c.stats is not None
    assert (
        a.stats["requests"].tolist() == b.stats["requests"].tolist() == c.stats["requests"].tolist()
    )
    assert_conforms(a.stats, SUMMARY)
    assert a.history is not None
    assert_conforms(a.history, INTERVALS)
    assert (a.history["percentile_kind"] == "windowed").all()  # --csv-full-history
    assert a.requests is not None  # the CsvRequestLogger file in the folder
    assert_conforms(a.requests, REQUESTS)
    assert a.requests["users"].notna().any()


def test_exact_summary_matches_locust_counts() -> None:
    lt = read_locust(LT / "steady")
    exact = lt.summary().set_index("label")
    assert lt.stats is not None
    tool = lt.stats.set_index("label")
    # the request log may miss a few requests still in flight at stop
    assert int(exact.loc["Total", "requests"]) == pytest.approx(
        int(tool.loc["Total", "requests"]), rel=0.02
    )
    assert exact.loc["Total", "p50_s"] == pytest.approx(tool.loc["Total", "p50_s"], rel=0.15)


def test_locust_json_matches_stats_csv() -> None:
    j = read_locust_json(LT / "step" / "run.json").summary().set_index("label")
    c = read_locust(LT / "step" / "run").stats
    assert c is not None
    c = c.set_index("label")
    for label in c.index:
        # --json is printed after the last CSV write: a few more requests
        assert j.loc[label, "requests"] == pytest.approx(c.loc[label, "requests"], rel=0.01)
        assert j.loc[label, "p95_s"] == pytest.approx(c.loc[label, "p95_s"], abs=0.011)


@pytest.mark.parametrize(
    ("folder", "kind", "labels"),
    [
        ("locust1_2020_quoted_99999", "cumulative", ["get接口"]),
        ("locust2_2021_default_history", "cumulative", ["/"]),
        ("locust2_2025_grpc_fullhistory_custompct", "windowed", None),
        ("locust2_2026_bitcoin_api_429_failures", "cumulative", None),
    ],
)
def test_corpus(corpus: Path, folder: str, kind: str, labels: list[str] | None) -> None:
    lt = read_locust(corpus / "loadtests" / "locust" / folder)
    assert lt.history is not None and lt.history["percentile_kind"].iloc[0] == kind
    if labels:
        assert lt.labels == labels
    s = lt.summary()
    assert s["label"].iloc[-1] == "Total"


def test_failures_breakdown(corpus: Path) -> None:
    lt = read_locust(corpus / "loadtests" / "locust" / "locust2_2026_bitcoin_api_429_failures")
    e = lt.errors()
    assert int(e["count"].sum()) == 1607
    assert set(e["status"].dropna()) == {"429"}


def test_failures_without_stats() -> None:
    with pytest.raises(InputError, match=r"no Locust _stats\.csv"):
        read_locust(BAD / "only_failures.csv")


def test_history_with_bad_value() -> None:
    with pytest.raises(
        FormatError, match=r"bad_history_stats_history.csv:3: .*column 'Requests/s' is not a number"
    ):
        read_locust(BAD / "bad_history_stats_history.csv")


def test_a_prefix_reads_only_its_own_files(tmp_path: Path) -> None:
    """Issue 14: a request log of another run in the folder is named in a warning, never merged."""
    import shutil
    import warnings

    from perfnb.errors import PerfnbWarning

    for part in ("stats", "stats_history", "failures", "exceptions"):
        shutil.copy(LT / "steady" / f"run_{part}.csv", tmp_path / f"cand_{part}.csv")
    shutil.copy(LT / "slow" / "run_requests.csv", tmp_path / "requests.csv")  # another run's log
    shutil.copy(LT / "slow" / "run_stats.csv", tmp_path / "base_stats.csv")  # another prefix
    with pytest.warns(
        PerfnbWarning, match=r"base_stats.csv, requests.csv are not part of .*'cand'"
    ):
        lt = perfnb.read_loadtest(tmp_path / "cand")
    assert lt.requests is None  # not the slow run's requests
    assert lt.stats is not None
    tool = read_locust(LT / "steady").stats
    assert tool is not None
    assert lt.summary()["requests"].tolist() == tool["requests"].tolist()
    assert sorted(Path(f).name for f in lt.meta["ignored_files"]) == [
        "base_stats.csv",
        "requests.csv",
    ]
    # its own log, named after the prefix, is read (and the stray one still is not)
    shutil.copy(LT / "steady" / "run_requests.csv", tmp_path / "cand_requests.csv")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        lt = perfnb.read_loadtest(tmp_path / "cand")
    assert any("requests.csv" in str(w.message) for w in seen)
    assert lt.requests is not None
    assert Path(lt.meta["files"]["requests"]).name == "cand_requests.csv"
    own = perfnb.read_loadtest(LT / "steady" / "run_requests.csv").requests
    assert own is not None and len(lt.requests) == len(own)
