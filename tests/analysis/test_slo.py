"""SLO math, alert replay, saturation, load balancing, and the MT rules on the real Prometheus samples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perfnb
from perfnb.analysis import slo

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "metrics"
IDX = pd.date_range("2024-01-01", periods=121, freq="min", tz="UTC")


def test_error_budget_and_burn_with_reset() -> None:
    total = pd.Series(np.arange(121) * 1000.0, IDX)
    bad = pd.Series(np.arange(121) * 20.0, IDX)  # 2 % errors
    total.iloc[60:] -= total.iloc[60]  # counter reset
    bad.iloc[60:] -= bad.iloc[60]
    b = slo.error_budget(total, bad, 0.99)
    assert b["error_ratio"] == pytest.approx(0.02, rel=0.02) and b[
        "budget_consumed_ratio"
    ] == pytest.approx(2, rel=0.02)
    br = slo.burn_rates(total, bad, 0.999, windows=["1h", "5min"])
    assert br["burn_1h"].iloc[-1] == pytest.approx(20.0, rel=0.05)


def test_multiwindow_policy_fires_only_when_both_windows_burn() -> None:
    total = pd.Series(np.arange(121) * 1000.0, IDX)
    errs = np.zeros(121)
    errs[90:] = np.cumsum(np.full(31, 200.0))  # 20 % errors in the last 30 minutes
    al = slo.multiwindow_alerts(total, pd.Series(errs, IDX), 0.999)
    page = al[(al["severity"] == "page") & (al["long_window"] == "1h")]
    assert (
        len(page) == 1 and page["start"].iloc[0] == IDX[94]
    )  # 1h ratio > 14.4 × 0.1 % after 5 bad minutes and pd.isna(page["end"].iloc[0])
    assert slo.SRE_POLICY[0].burn_rate == 14.4 and slo.SRE_POLICY[3].burn_rate == 1.0


def test_replay_prometheus_for_semantics() -> None:
    s = pd.Series([0.5] * 10 + [1.5] * 7 + [0.5] * 3 + [1.5] * 3, index=IDX[:23])
    out = slo.replay_alerts({"p95_latency_s": s}, slo.default_rules())
    assert len(out) == 1
    row = out.iloc[0]
    assert (
        row["pending_at"] == IDX[10]
        and row["fired_at"] == IDX[15]
        and row["resolved_at"] == IDX[17]
    )


def test_apdex_from_buckets_exact_on_bounds() -> None:
    rows = pd.DataFrame(
        {
            "timestamp": [IDX[0]] * 4,
            "le": ["0.5", "2", "5", "+Inf"],
            "value": [60.0, 90.0, 95.0, 100.0],
        }
    )
    a = slo.apdex_from_buckets(rows, t_s=0.5)
    assert a.iloc[0] == pytest.approx((60 + 30 / 2) / 100) and not a.attrs["approximate"]


def test_saturation_and_load_balance() -> None:
    sat = slo.saturation({"cpu": pd.Series([0.5, 0.75, 0.9, 0.95])})
    assert sat["above_warning_ratio"].iloc[0] == 0.75 and sat["above_critical_ratio"].iloc[0] == 0.5
    lb = slo.load_balance({"a": 80, "b": 10, "c": 10}, p95_s={"a": 0.2, "b": 0.2, "c": 0.6})
    assert lb["share_vs_fair"].iloc[0] == pytest.approx(2.4) and lb["p95_vs_median"].iloc[
        2
    ] == pytest.approx(3)


def test_load_rules(tmp_path: Path) -> None:
    rules = slo.load_rules(SAMPLES / "alert_rules.toml")
    assert [r.name for r in rules] == ["FastP95", "FastErrors"]
    bad = tmp_path / "r.json"
    bad.write_text('[{"name": "x"}]')
    with pytest.raises(perfnb.errors.InputError, match="alert rule 0"):
        slo.load_rules(bad)


def test_rules_on_real_prometheus_samples() -> None:
    m = perfnb.read_metrics(sorted(SAMPLES.glob("query_range_*.json")))
    m.window = "10s"
    sig = slo.signals(m)
    assert {"p95_latency_s", "apdex", "error_ratio", "cpu_ratio", "memory_ratio"} <= set(sig)
    found = perfnb.check(m)
    codes = {f.rule for f in found}
    assert {"MT001", "MT005", "MT006", "MT008"} <= codes
    mt1 = [f for f in found if f.rule == "MT001" and f.location == "p95_latency_s"]
    assert mt1 and all(f.evidence["change_ratio"] > 0 for f in mt1)
    replay = slo.replay_alerts(sig, slo.load_rules(SAMPLES / "alert_rules.toml"))
    assert "FastP95" in set(replay["rule"])
    assert not math.isnan(sig["apdex"].iloc[-1])


def test_mt007_two_real_backends_leave_one_out() -> None:
    # issue 15: the median of two p95s includes the instance itself, so b/((a+b)/2) < 2 never fired.
    # In the real Prometheus run backend b turns ~2× slower after 50 s (data/generate/metrics.py).
    m = perfnb.read_metrics(
        [SAMPLES / "query_range_latency_buckets.json", SAMPLES / "query_range_requests_total.json"]
    )
    sig = slo.signals(m)
    a, b = sig["p95_run_by_backend:a"].iloc[-1], sig["p95_run_by_backend:b"].iloc[-1]
    assert b > 1.5 * a
    mt7 = [f for f in perfnb.check(m) if f.rule == "MT007"]
    assert [f.location for f in mt7] == ["backend=b"]
    assert mt7[0].evidence["p95_vs_median"] == pytest.approx(b / a)
    assert "median of its peers" in mt7[0].title
    lb = slo.load_balance({"a": 1, "b": 1}, p95_s={"a": 0.2, "b": 0.5})
    assert lb["p95_vs_median"].tolist() == pytest.approx([0.4, 2.5])
