"""Load-test analyses: percentiles/Apdex, histogram merge and error bound, capacity (USL, knee), comparison."""

from __future__ import annotations

import numpy as np
import pytest

import perfnb
from perfnb.analysis.capacity import capacity, correct_coordinated_omission, usl
from perfnb.analysis.compare import compare_loadtests
from perfnb.analysis.histogram import LatencyHistogram
from perfnb.analysis.latency import apdex, percentile
from perfnb.errors import InputError
from perfnb.io.locust import read_locust
from tests.conftest import SAMPLES

LT = SAMPLES / "loadtests"


def test_percentile_methods() -> None:
    v = [100.0, 170.0, 329.0]
    assert percentile(v, 0.5) == 170.0
    assert percentile(v, 0.9, method="weibull") == 329.0
    assert percentile(v, 0.9) == pytest.approx(297.2)
    assert np.isnan(percentile([], 0.5))
    with pytest.raises(InputError):
        percentile(v, 0.5, method="nope")


def test_apdex_counts_failures_as_frustrated() -> None:
    assert apdex([0.1, 0.1], [True, False], t_s=0.5) == 0.5
    assert apdex([0.1, 1.0, 3.0], [True, True, True], t_s=0.5, f_s=1.5) == 0.5


def test_histogram_error_bound_and_exact_merge() -> None:
    rng = np.random.default_rng(1)
    v = rng.lognormal(-3, 1, 20000)
    whole = LatencyHistogram.from_values(v)
    parts = [LatencyHistogram.from_values(c) for c in np.array_split(v, 7)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged + p
    assert np.array_equal(merged.counts, whole.counts)
    assert merged.min_s == whole.min_s and merged.max_s == whole.max_s
    assert merged.mean_s == pytest.approx(v.mean())
    for q in (0.5, 0.9, 0.95, 0.99, 0.999):
        exact = float(np.quantile(v, q, method="inverted_cdf"))
        assert abs(merged.quantile(q) - exact) / exact <= merged.relative_error + 1e-12


def test_capacity_finds_the_knee_of_the_real_step_run() -> None:
    lt = read_locust(LT / "step")
    cap = capacity(lt)
    assert len(cap.levels) >= 6
    assert cap.knee_users is not None and 12 <= cap.knee_users <= 32
    assert cap.kappa > 0 and 10 <= cap.peak_users <= 40
    assert cap.r2 > 0.8
    assert cap.max_throughput_per_s == pytest.approx(
        float(usl(cap.peak_users, cap.lam, cap.sigma, cap.kappa))
    )
    assert "knee" in cap.recommendation
    assert (cap.little["ratio"] > 0).all()


def test_compare_halves_of_steady_run_no_change() -> None:
    a, b = read_locust(LT / "steady").split()
    diff = compare_loadtests(a, b)
    r = diff.table
    primary = r[r["primary"]].set_index("label")
    assert primary.loc["Total", "verdict"] == "no significant change"
    assert (primary["verdict"] != "regression").all()
    assert diff.verdict == "no significant change" and not perfnb.check(diff)


def test_compare_slowed_run_is_a_regression() -> None:
    diff = compare_loadtests(read_locust(LT / "steady"), read_locust(LT / "slow"))
    r = diff.table
    primary = r[r["primary"]].set_index("label")
    assert primary.loc["Total", "verdict"] == "regression"
    assert primary.loc["Total", "ci_low_ratio"] > 0.05
    assert diff.verdict == "regression" and "bootstrap" in diff.method
    found = perfnb.check(diff).by_rule("loadtest-regression")
    assert {f.location for f in found} >= {"/api/cart", "Total"}
    assert all("against baseline 'steady'" in f.title for f in found)


def _stats_only(tmp_path, run: str):
    """A copy of a real Locust run's default CSV output only (no request log): what most users have."""
    import shutil

    folder = tmp_path / run
    folder.mkdir()
    for f in (LT / run).glob("run_*.csv"):
        shutil.copy(f, folder / f.name)
    return folder / "run"


def test_compare_locust_stats_csvs_without_requests(tmp_path) -> None:
    base = perfnb.read_loadtest(_stats_only(tmp_path, "steady"))
    cand = perfnb.read_loadtest(_stats_only(tmp_path, "slow"))
    assert not base.has_requests and not cand.has_requests
    diff = compare_loadtests(base, cand)
    assert diff.confidence is None and "no confidence interval" in diff.method
    assert diff.table["ci_low_ratio"].isna().all()
    assert diff.verdict == "regression"
    found = perfnb.check(diff).by_rule("loadtest-regression")
    labels = {f.location for f in found}
    assert "/api/search" in labels and "Total" in labels  # p95 70 -> 91 ms; Total 52 -> 78 ms
    assert "no confidence interval" in found[0].evidence["method"]


def test_a_a_comparison_gives_no_finding(tmp_path) -> None:
    stats = perfnb.read_loadtest(_stats_only(tmp_path, "steady"))
    requests = read_locust(LT / "steady")
    for a, b in ((stats, stats), (requests, requests), (requests, stats)):
        diff = compare_loadtests(a, b)
        assert diff.verdict == "no significant change", diff.headline
        assert not perfnb.check(diff)


def test_coordinated_omission_correction() -> None:
    out = correct_coordinated_omission([0.05, 0.35], 0.1)
    assert sorted(out.round(2).tolist()) == [0.05, 0.05, 0.15, 0.25, 0.35]
    assert np.percentile(out, 90) > np.percentile([0.05, 0.35], 90) * 0.5


def test_intervals_from_requests_are_exact() -> None:
    lt = read_locust(LT / "steady")
    iv = lt.intervals("5s")
    assert set(iv["percentile_kind"]) == {"exact"}
    assert int(iv[iv["label"] == "Total"]["requests"].sum()) == len(lt.requests)  # type: ignore[arg-type]


def test_histograms_of_split_run_merge_exactly() -> None:
    lt = read_locust(LT / "steady")
    a, b = lt.split()
    whole, ha, hb = lt.histograms(), a.histograms(), b.histograms()
    for label, h in whole.items():
        merged = ha[label] + hb[label]
        assert np.array_equal(merged.counts, h.counts)
        exact = float(np.quantile(lt.requests["response_time_s"], 0.95, method="inverted_cdf"))  # type: ignore[index]
        if label == "Total":
            assert abs(merged.quantile(0.95) - exact) / exact <= merged.relative_error + 1e-12


def test_summary_corrects_coordinated_omission() -> None:
    from pathlib import Path

    import perfnb

    log = (
        Path(__file__).resolve().parents[2]
        / "data"
        / "samples"
        / "loadtests"
        / "step"
        / "requests.csv"
    )
    lt = perfnb.read_loadtest(log)
    plain = lt.summary().set_index("label")
    fixed = lt.summary(expected_interval_s=0.05).set_index("label")
    assert (fixed["requests"] == plain["requests"]).all()  # counts stay those of real requests
    rt = lt.requests["response_time_s"].to_numpy()
    expected = np.percentile(correct_coordinated_omission(rt, 0.05), 99)
    assert fixed.loc["Total", "p99_s"] == pytest.approx(expected, rel=1e-12)
    assert fixed.loc["Total", "p99_s"] > plain.loc["Total", "p99_s"]
    assert fixed["estimate"].iloc[0] == "exact:linear:co=0.05s"
    assert correct_coordinated_omission([0.1, 0.35, 0.2], 0.1).round(2).tolist() == [
        0.1,
        0.35,
        0.2,
        0.25,
        0.15,
        0.05,
        0.1,
    ]
