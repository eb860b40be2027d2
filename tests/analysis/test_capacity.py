"""Capacity on real Locust runs made here (data/generate/locust_failing.py, loadtests.py) and the corpus.

Issue 15: no statement names a concurrency beyond twice the highest level run; a run that failed at
its top level never calls that level optimal; stalls and errors above the objective break a level;
Locust's history errors are counted and its 0 placeholders are not percentiles.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import perfnb
from perfnb.analysis.capacity import capacity, levels
from tests.conftest import SAMPLES

LT = SAMPLES / "loadtests"
RUNS = ["stall/run", "unsaturated/run", "step/run", "steady/run", "slow/run", "k6_steady/run.json"]
CORPUS_RUNS = [
    "locust/locust2_2025_grpc_fullhistory_custompct",
    "locust/locust2_2021_default_history",
    "locust/locust2_2026_bitcoin_api_429_failures",
    "locust/locust1_2020_quoted_99999",
    "k6/xk6_dashboard_testdata_result.json",
    "k6/finance_2024_csv_and_json/k6-results.json",
    "jmeter/apache_jmeter_HTMLReportTestFile.csv",
    "gatling/gatling_3.7.4_text_with_stats_json",
    "gatling/gatling_3.9.5_text_with_assertions_simulation.log",
]


def _named_users(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"(\d+) users?\b", text)]


def test_stalled_and_failing_top_level_is_the_breaking_point() -> None:
    """Locust run whose server stalls at 32 users, then sheds load: 32 is broken, 16 is optimal."""
    lt = perfnb.read_loadtest(LT / "stall" / "run")
    assert lt.history is not None
    hist = lt.history
    tot = hist[hist["label"] == "Total"]
    # errors read from the history (they were 0), per tick; they add up to Locust's own total
    assert lt.stats is not None
    total = lt.stats.set_index("label").loc["Total"]
    assert int(tot["failures"].sum()) == int(total["failures"]) > 0
    assert int(tot["requests"].sum()) == int(total["requests"])
    # ticks in which nothing completed carry no percentile (Locust wrote 0 or a frozen window)
    assert not (hist["p95_s"] == 0).any()
    assert hist.loc[hist["requests"] == 0, "p95_s"].isna().all()
    cap = capacity(lt)
    lv = cap.levels.set_index("users")
    assert lv.loc[32, "stalled_intervals"] >= 5
    assert lv.loc[32, "error_ratio"] > 0.05
    assert cap.breaking_users == 32
    assert cap.optimal_users == 16
    assert not lv.loc[32, "meets_objectives"]
    assert "Breaking point: 32 users" in cap.recommendation
    assert "Optimal capacity: 16 users" in cap.recommendation
    assert "plan for at most 16 users" in cap.recommendation
    assert cap.recommendation.count("Recommendation") == 1


def test_unsaturated_run_is_said_so() -> None:
    """1–4 users against a server with room to spare: no peak, no knee, 'not saturated up to 4'."""
    lt = perfnb.read_loadtest(LT / "unsaturated" / "run")
    cap = capacity(lt)
    assert cap.levels["users"].tolist() == [1, 2, 3, 4]
    assert cap.saturated is False
    assert np.isnan(cap.peak_users) and cap.knee_users is None and cap.breaking_users is None
    assert "Not saturated up to 4 users" in cap.recommendation
    assert "R² " in cap.recommendation  # the fit's quality is stated
    # default history: percentiles since the start, so none per level and no optimal claim
    assert cap.levels["p95_s"].isna().all() and cap.optimal_users is None
    assert cap.levels["throughput_per_s"].is_monotonic_increasing


def test_step_run_peak_knee_and_optimal_agree() -> None:
    lt = perfnb.read_locust(LT / "step")
    cap = capacity(lt)
    assert len(cap.levels) >= 6
    assert cap.knee_users is not None and 12 <= cap.knee_users <= 32
    assert cap.saturated is True and 10 <= cap.peak_users <= 40 and cap.r2 > 0.8
    # one number to plan with, at or below where throughput starts to fall
    assert cap.optimal_users is not None and cap.retrograde_users is not None
    assert cap.optimal_users < cap.retrograde_users
    assert f"plan for at most {cap.optimal_users} users" in cap.recommendation


@pytest.mark.parametrize("run", RUNS)
def test_no_statement_beyond_twice_the_highest_level(run: str) -> None:
    lt = perfnb.read_loadtest(LT / run)
    cap = capacity(lt)
    named = _named_users(cap.recommendation)
    assert named and max(named) <= cap.highest_users
    for f in perfnb.check(lt, select=["LT006"]):
        values = [v for k, v in f.evidence.items() if k.endswith("users")]
        assert all(v <= 2 * cap.highest_users for v in values)
        assert max(_named_users(f.title + " " + f.recommendation)) <= cap.highest_users
    if cap.breaking_users is not None:
        assert cap.optimal_users is None or cap.optimal_users < cap.breaking_users


@pytest.mark.parametrize("run", CORPUS_RUNS)
def test_corpus_runs_never_claim_unrun_concurrency(corpus: Path, run: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lt = perfnb.read_loadtest(corpus / "loadtests" / run)
    cap = capacity(lt)
    named = _named_users(cap.recommendation)
    assert not named or max(named) <= cap.highest_users, cap.recommendation
    top = cap.levels.iloc[-1]
    if top["broken"]:
        assert cap.optimal_users != int(top["users"])


def test_failing_corpus_run_is_broken_not_optimal(corpus: Path) -> None:
    """The public Locust run with 74 % HTTP 429 at 50 users (issue 15: errors were read as 0)."""
    lt = perfnb.read_loadtest(
        corpus / "loadtests" / "locust" / "locust2_2026_bitcoin_api_429_failures"
    )
    lv = levels(lt)
    assert lv.set_index("users").loc[50, "error_ratio"] > 0.5
    cap = capacity(lt)
    assert cap.breaking_users == 50 and cap.optimal_users != 50


def test_levels_too_small_to_judge_are_said_so(corpus: Path) -> None:
    """60 requests over two levels (a public Gatling run): no verdict on objectives, a reason instead."""
    log = corpus / "loadtests" / "gatling" / "gatling_3.9.5_text_with_assertions_simulation.log"
    cap = capacity(perfnb.read_loadtest(log))
    assert not cap.levels["enough"].any()
    assert cap.optimal_users is None and cap.breaking_users is None
    assert "No level has enough requests to judge" in cap.recommendation
    assert "No level met the objectives" not in cap.recommendation


def test_errors_present_from_the_lowest_level_are_not_a_breaking_point() -> None:
    """The demo shop fails 1/7 of /product ids at every load (a bug, not capacity): the knee of its
    4-connection pool is still found, no level is optimal, and the recommendation says why."""
    lt = perfnb.read_loadtest(SAMPLES / "demo" / "locust")
    cap = capacity(lt)
    lv = cap.levels.set_index("users")
    assert (lv["error_ratio"] > 0.04).all() and lv.loc[5, "error_ratio"] > 0.05
    assert cap.breaking_users is None and cap.optimal_users is None
    assert cap.knee_users == 20
    assert cap.recommendation.startswith("Errors exceed the 5% objective from the lowest level on")
    assert {f.rule for f in perfnb.check(lt, select=["LT006"])} == {"LT006"}
