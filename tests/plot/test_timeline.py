"""The timeline across sources: shared time axis, units, change points, burn spans, statements."""

from __future__ import annotations

import pytest

import perfnb
from perfnb.analysis import slo
from perfnb.plot.timeline import plot_timeline, slow_statement_windows
from tests.conftest import SAMPLES

DEMO = SAMPLES / "demo"


@pytest.fixture(scope="module")
def metrics():
    return perfnb.read_metrics(SAMPLES / "metrics")


def test_metrics_timeline_annotations(metrics) -> None:
    sig = slo.signals(metrics)
    burn = slo.multiwindow_alerts(sig["requests_total"], sig["errors_total"], 0.99)
    rule = slo.AlertRule(name="HighLatencyP95", signal="p95_latency_s", op=">", threshold=1.0,
                         for_="10s", severity="critical")  # fmt: skip
    alerts = slo.replay_alerts(sig, [rule])
    fig = plot_timeline(metrics=metrics, signals=sig, burn_alerts=burn, alerts=alerts)
    lay = fig.layout
    # panels share the bottom x axis
    assert lay.xaxis.matches == "x4" and lay.xaxis4.title.text == "time (UTC)"
    titles = [a.text for a in lay.annotations]
    assert "p95_latency_s (s)" in titles and "error_ratio (%)" in titles
    assert lay.yaxis.title.text == "s" and lay.yaxis2.title.text == "%"
    assert lay.yaxis2.tickformat == ".0%"
    # change points: dashed lines spanning the figure, annotated with before → after
    lines = [s for s in lay.shapes if s.type == "line"]
    assert lines and all(s.yref == "paper" and s.line.dash == "dash" for s in lines)
    assert any("regression" in t and "→" in t for t in titles)
    # burn windows merged: fewer spans than alert rows, labelled once per severity
    rects = [s for s in lay.shapes if s.type == "rect"]
    assert 0 < len(rects) <= len(burn)
    assert sum("SLO burn" in t for t in titles) == burn["severity"].nunique()
    assert any(t.name == "alert HighLatencyP95 fired" for t in fig.data)


def test_demo_timeline_with_load_test_and_slow_statements() -> None:
    lt = perfnb.read_loadtest(DEMO / "locust")
    plans = perfnb.read_plans(DEMO / "postgresql.json")
    met = perfnb.read_metrics(DEMO / "prometheus")
    fig = plot_timeline(loadtest=lt, metrics=met, plans=plans)
    names = [t.name for t in fig.data]
    assert {"users", "throughput", "failures/s", "load test p95"} <= set(names)
    assert "slow statement (auto_explain)" in names
    win = slow_statement_windows(plans)
    assert len(win) > 10 and (win["end"] >= win["start"]).all()
    assert any(s.type == "rect" and s.fillcolor == "#9467bd" for s in fig.layout.shapes)
    assert fig.layout.yaxis3.title.text == "s"
    assert all(t.xaxis in ("x", "x2", "x3", "x4", "x5", "x6", None) for t in fig.data)


def test_nothing_to_draw() -> None:
    fig = plot_timeline()
    assert "no timestamped input" in fig.layout.title.text
