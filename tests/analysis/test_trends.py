"""Change points: Otava compatibility on its published data, calibration on noise, API behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfnb.analysis.trends import CHANGE_POINTS, change_points
from perfnb.errors import InputError
from perfnb.schema import assert_conforms


def _tb(corpus: Path) -> tuple[np.ndarray, dict]:
    cpd = corpus / "metrics" / "cpd"
    x = pd.read_csv(cpd / "otava_tigerbeetle_series.csv")["value"].to_numpy(dtype=float)
    return x, json.loads((cpd / "otava_tigerbeetle_expected.json").read_text())


def test_otava_tigerbeetle_expectations(corpus: Path) -> None:
    x, exp = _tb(corpus)
    assert len(exp["cases"]) == 10
    for case in exp["cases"]:
        got = change_points(
            x,
            method="otava",
            window_len=case["window_len"],
            max_pvalue=case["max_pvalue"],
            min_magnitude=case["min_magnitude"],
        )
        assert got["index"].tolist() == case["expected_change_point_indexes"], case["test"]


def test_otava_defaults_and_mongodb(corpus: Path) -> None:
    x, _ = _tb(corpus)
    assert change_points(x, method="otava")["index"].tolist() == [
        15,
        61,
        71,
        95,
        117,
        131,
        192,
        212,
    ]
    m = json.loads((corpus / "metrics" / "cpd" / "mongodb_profiling_small.json").read_text())
    assert len(change_points(m["series"], method="otava")) == m["expected"] == 9
    cal = change_points(m["series"])
    assert len(cal) == 9


def test_calibrated_controls_false_positives() -> None:
    rng = np.random.default_rng(7)
    series = [rng.normal(100, 5, 2000) for _ in range(10)] + [
        rng.lognormal(0, 1, 500) for _ in range(10)
    ]
    cal = sum(len(change_points(s)) for s in series)
    ota = sum(len(change_points(s, method="otava")) for s in series)
    assert cal <= 1 and ota >= 10


def test_calibrated_finds_step_in_heavy_tails() -> None:
    rng = np.random.default_rng(3)
    x = np.r_[rng.lognormal(0, 1, 300), rng.lognormal(1.0, 1, 300)]
    cps = change_points(x, direction="up")
    assert len(cps) == 1 and abs(int(cps["index"].iloc[0]) - 300) <= 15
    assert cps["kind"].iloc[0] == "regression" and cps["pvalue"].iloc[0] < 0.01


def test_result_table_with_times_and_directions() -> None:
    idx = pd.date_range("2024-01-01", periods=80, freq="min", tz="UTC")
    s = pd.Series(np.r_[np.full(40, 0.9), np.full(40, 0.7)] + np.tile([0.01, -0.01], 40), index=idx)
    cps = change_points(s, direction="down")
    assert_conforms(cps, CHANGE_POINTS)
    row = cps.iloc[0]
    assert row["timestamp"] == idx[40] and row["kind"] == "regression"
    assert row["change_ratio"] == pytest.approx(0.7 / 0.9 - 1, abs=1e-3)
    assert change_points(s.to_numpy(), direction="up")["kind"].iloc[0] == "improvement"


def test_nan_handling() -> None:
    x = np.r_[np.full(30, 1.0), np.full(30, 2.0)] + np.tile([0.01, -0.01], 30)
    x[5] = np.nan
    with pytest.raises(InputError, match="first at position 5"):
        change_points(x)
    assert change_points(x, nan="interpolate")["index"].tolist() == [30]
    assert change_points(x, nan="drop")["index"].tolist() == [29]
    assert len(change_points([1.0])) == 0


def _planted(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """Level shifts of 2–3 σ every 40–120 points in Gaussian noise, flapping: baseline, up by δ for L
    points, baseline, down by δ for L points, … so the shifts cancel over long stretches (as in a tiled
    real series) and a whole-series test sees nothing."""
    rng = np.random.default_rng(seed)
    level = np.full(n, 100.0)
    pos: list[int] = []
    p = int(rng.integers(40, 120))
    while True:
        width, delta = int(rng.integers(40, 120)), float(rng.uniform(2.0, 3.0) * 5.0)
        gap = int(rng.integers(40, 120))
        if p + 2 * width + gap >= n - 40:
            break
        level[p : p + width] += delta
        level[p + width + gap : p + 2 * width + gap] -= delta
        pos += [p, p + width, p + width + gap, p + 2 * width + gap]
        p += 2 * width + gap + int(rng.integers(40, 120))
    return level + rng.normal(0.0, 5.0, n), pos


@pytest.mark.parametrize(("n", "series"), [(1_000, 20), (10_000, 2), (100_000, 1)])
def test_calibrated_recall_holds_as_series_grow(n: int, series: int) -> None:
    # issue 15: binary segmentation from the whole series went blind past ~10k points (shifts that
    # cancel out leave the global CUSUM flat); seeded intervals keep the recall the same at every size
    planted = found = false = 0
    for seed in range(series):
        x, pos = _planted(n, 1000 * n + seed)
        got = change_points(x)["index"].to_numpy()
        truth = np.asarray(pos)
        planted += len(pos)
        found += sum(bool(len(got)) and int(np.min(np.abs(got - p))) <= 10 for p in pos)
        false += sum(int(np.min(np.abs(truth - g))) > 10 for g in got)
    assert planted >= 100
    assert found / planted >= 0.95, (found, planted)
    assert false / planted <= 0.03, (false, planted)


@pytest.mark.parametrize(("n", "series"), [(1_000, 100), (10_000, 20), (100_000, 4)])
def test_calibrated_false_alarms_do_not_grow_with_length(n: int, series: int) -> None:
    rng = np.random.default_rng(n)
    normal = [len(change_points(rng.normal(100, 5, n))) for _ in range(series)]
    heavy = [len(change_points(rng.lognormal(0, 1, n))) for _ in range(series)]
    # max_pvalue 0.01 per series: at most ~1 % of noise series may show any change point
    assert sum(k > 0 for k in normal + heavy) <= max(1, round(0.02 * 2 * series))


def test_calibrated_rate_on_tiled_tigerbeetle(corpus: Path) -> None:
    # the real series from Otava's tests, tiled: as many change points per 1,000 points at 100k as at 1k
    x, _ = _tb(corpus)
    rates = [len(change_points(np.resize(x, n))) / n * 1000 for n in (1_000, 10_000, 100_000)]
    assert min(rates) > 0 and max(rates) / min(rates) < 1.25, rates
