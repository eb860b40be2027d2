from __future__ import annotations

import pandas as pd
import pytest

from perfnb.analysis import timeline
from perfnb.errors import SchemaError


def _intervals() -> pd.DataFrame:
    t0 = pd.Timestamp("2026-11-27T00:00:00Z")
    rows = []
    for i in range(40):
        users = 5 if i < 10 else 10 if i < 20 else 20 if i < 30 else 40
        for label, base in (("/search", 0.1), ("/report", 0.2)):
            slow = 1.0 if users < 20 else (8.0 if label == "/search" else 1.2)
            rows.append(
                {
                    "timestamp": t0 + pd.Timedelta(seconds=i),
                    "label": label,
                    "users": users,
                    "p95_s": base * slow,
                    "throughput_per_s": 10.0,
                }
            )
    return pd.DataFrame(rows)


def test_steps_jumps_and_sentences() -> None:
    iv = _intervals()
    steps = timeline.load_steps(iv)
    assert steps["users"].tolist() == [5, 10, 20, 40]
    assert steps["duration_s"].tolist()[:3] == [10.0, 10.0, 10.0]
    per_step = timeline.step_latency(iv, steps)
    jumps = timeline.latency_jumps(per_step, min_ratio=2.0)
    assert [(j.label, j.users_before, j.users_after) for j in jumps] == [("/search", 10, 20)]
    plans = pd.DataFrame(
        {
            "timestamp": [
                iv["timestamp"].iloc[0],
                iv["timestamp"].iloc[45],
                iv["timestamp"].iloc[50],
            ],
            "duration_s": [0.03, 0.2, 0.5],
            "summary": [
                "Index Scan on orders",
                "Seq Scan on orders",
                "Seq Scan on orders (filter)",
            ],
        }
    )
    (sentence,) = timeline.correlate(jumps, statements=plans, profile_top="the database driver")
    assert sentence.startswith(
        "p95 of /search rose from 100 ms to 800 ms when users went from 10 to 20"
    )
    assert "2 statement(s)" in sentence
    assert "(500 ms) was Seq Scan on orders (filter)" in sentence
    assert sentence.endswith("the database driver.")


def test_missing_columns_are_schema_errors() -> None:
    with pytest.raises(SchemaError, match="lacks column\\(s\\) 'users'"):
        timeline.load_steps(pd.DataFrame({"timestamp": []}))


def test_one_step_k6_run_has_one_step() -> None:
    """A real k6 constant-vus run (one load step): Int64 users once made the step vanish (KeyError 'start')."""
    import perfnb
    from perfnb.report import performance
    from tests.conftest import SAMPLES

    lt = perfnb.read_loadtest(SAMPLES / "loadtests" / "k6_steady" / "run.json")
    iv = lt.intervals()
    assert str(iv["users"].dtype) == "Int64"
    per_label = iv[iv["label"] != "Total"]
    steps = timeline.load_steps(per_label, min_duration_s=5)
    assert steps["users"].tolist() == [4]
    assert steps["start"].iloc[0] == iv["timestamp"].min()
    one = timeline.load_steps(per_label.iloc[:1])
    assert one["users"].tolist() == [4]
    assert performance.story({"loadtest": lt}) == []  # no jump in one step; no crash
