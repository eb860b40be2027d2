"""Load-test analyses: percentiles/Apdex, histogram merge and error bound, capacity (USL, knee), comparison."""

from __future__ import annotations

import numpy as np
import pytest

import perfnb
from perfnb.analysis.capacity import correct_coordinated_omission
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
        if not f.name.endswith("_requests.csv"):  # the prefix's request log (CsvRequestLogger)
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


def _hdr_java(values_us: list[int], interval_us: int) -> list[int]:
    """HdrHistogram (Java) ``recordValueWithExpectedInterval``, as written there, in integers."""
    out = []
    for v in values_us:
        out.append(v)
        missing = v - interval_us
        while missing >= interval_us:
            out.append(missing)
            missing -= interval_us
    return out


def test_coordinated_omission_correction() -> None:
    out = correct_coordinated_omission([0.05, 0.35], 0.1)
    # HdrHistogram adds r − k·I only while ≥ I: 0.25, 0.15 (not 0.05)
    assert sorted(out.round(2).tolist()) == [0.05, 0.15, 0.25, 0.35]
    assert np.percentile(out, 90) > np.percentile([0.05, 0.35], 90) * 0.5


def test_coordinated_omission_matches_hdrhistogram_on_a_real_run() -> None:
    """Locust's request log (real run): the same multiset as HdrHistogram's Java rule, none below I."""
    import perfnb

    lt = perfnb.read_loadtest(LT / "step" / "run_requests.csv")
    rt = lt.requests["response_time_s"].to_numpy()  # type: ignore[index]
    us = np.rint(rt * 1e6).astype("int64")
    for interval_us in (20_000, 50_000, 100_000):
        ours = correct_coordinated_omission(us / 1e6, interval_us / 1e6)
        ref = np.sort(np.array(_hdr_java(us.tolist(), interval_us))) / 1e6
        assert len(ours) == len(ref) > len(us)
        np.testing.assert_allclose(np.sort(ours), ref, atol=1e-9)
        added = ours[len(us) :]
        assert added.min() >= interval_us / 1e6 - 1e-12


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
        / "run_requests.csv"
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
        0.1,
    ]


@pytest.mark.parametrize("run", ["steady", "step", "slow"])
def test_apdex_estimated_from_locust_stats_brackets_the_exact_value(run: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Locust's stats CSV alone (its default output): Apdex from its percentile columns, with bounds
    that hold the exact Apdex of the same run's request log (CsvRequestLogger)."""
    import shutil

    import perfnb
    from perfnb.analysis.latency import apdex_from_percentiles, locust_half_step

    shutil.copy(LT / run / "run_stats.csv", tmp_path / "run_stats.csv")
    est = perfnb.read_loadtest(tmp_path / "run")
    assert est.requests is None
    exact = perfnb.read_loadtest(LT / run / "run_requests.csv")
    for t in (0.02, 0.03, 0.05, 0.1, 0.5):
        s = est.summary(apdex_t_s=t).set_index("label")
        x = exact.summary(apdex_t_s=t).set_index("label")
        for label in s.index:
            pts = est.meta["percentiles"][label]
            err = float(s.loc[label, "error_ratio"])
            a, lo, hi = apdex_from_percentiles(pts, err, t, half_step=locust_half_step)
            assert s.loc[label, "apdex"] == pytest.approx(a)
            assert lo - 0.01 <= x.loc[label, "apdex"] <= hi + 0.01, (label, t)  # log misses a few
            assert str(s.loc[label, "estimate"]).startswith("tool:apdex-from-percentiles±")
    assert np.isfinite(est.summary()["apdex"]).all()  # was NaN for every Locust stats CSV
    assert perfnb.check(est, select=["LT003"], apdex_t_s=0.02, apdex_min=0.9)  # the rule can fire


@pytest.mark.parametrize("run", ["steady", "step", "slow"])
def test_apdex_from_locust_json_histograms_brackets_the_exact_value(run: str) -> None:
    """Locust's --json output (bucketed histograms): bounds from its rounding hold the exact Apdex."""
    import perfnb
    from perfnb.analysis.latency import apdex_from_percentiles, locust_half_step

    est = perfnb.read_loadtest(LT / run / "run.json")
    exact = perfnb.read_loadtest(LT / run / "run_requests.csv")
    for t in (0.02, 0.05, 0.1):
        s = est.summary(apdex_t_s=t).set_index("label")
        x = exact.summary(apdex_t_s=t).set_index("label")
        pts = est.meta["percentiles"]["Total"]
        a, lo, hi = apdex_from_percentiles(
            pts, float(s.loc["Total", "error_ratio"]), t, half_step=locust_half_step
        )
        assert s.loc["Total", "apdex"] == pytest.approx(a)
        assert hi - lo < 0.05  # histograms bracket far tighter than the stats CSV's percentiles
        assert lo - 0.002 <= x.loc["Total", "apdex"] <= hi + 0.002, t
