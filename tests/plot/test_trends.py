"""Trend figures: assert on artists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import perfnb
from perfnb.analysis import slo
from perfnb.plot.trends import plot_bucket_heatmap, plot_burn_rates, plot_change_points

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "metrics"


def test_change_point_figure() -> None:
    idx = pd.date_range("2024-01-01", periods=60, freq="min", tz="UTC")
    s = pd.Series(
        np.r_[np.full(30, 1.0), np.full(30, 2.0)] + np.tile([0.01, -0.01], 30),
        index=idx,
        name="p95",
    )
    ax = plot_change_points(s, perfnb.change_points(s, direction="up"))
    assert len(ax.lines) == 3  # series, segment medians, one change point
    assert ax.lines[2].get_color() == "#d62728"


def test_burn_and_heatmap() -> None:
    idx = pd.date_range("2024-01-01", periods=30, freq="min", tz="UTC")
    total = pd.Series(np.arange(30) * 100.0, idx)
    bad = pd.Series(np.arange(30) * 10.0, idx)
    br = slo.burn_rates(total, bad, 0.99, windows=["1h", "5min"])
    ax = plot_burn_rates(br, slo.multiwindow_alerts(total, bad, 0.99), thresholds={"page": 14.4})
    distinct = {tuple(np.round(br[c].fillna(-1).to_numpy(), 9)) for c in br.columns}
    assert len(ax.lines) == len(distinct) + 1  # coinciding windows drawn once, plus the threshold
    assert ax.get_xlabel() == "time (UTC)"
    b = perfnb.read_prometheus(SAMPLES / "query_range_latency_buckets_rate.json")
    ax = plot_bucket_heatmap(b)
    assert len(ax.collections) == 1 and len(ax.get_yticklabels()) == b["le"].nunique()
