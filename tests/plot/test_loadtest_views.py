"""Interactive load-test views: trace types, shared axes, titles and axis units; no images."""

from __future__ import annotations

import pytest

import perfnb
from perfnb.analysis.capacity import capacity
from perfnb.plot import loadtest_views as v
from tests.conftest import SAMPLES

LT = SAMPLES / "loadtests"


@pytest.fixture(scope="module")
def step():
    return perfnb.read_loadtest(LT / "step")


@pytest.fixture(scope="module")
def demo():
    return perfnb.read_loadtest(SAMPLES / "demo" / "locust")


def test_dashboard_has_shared_time_axis_and_units(step) -> None:
    base = perfnb.read_loadtest(LT / "steady")
    fig = v.plot_loadtest_dashboard(step, baseline=base)
    lay = fig.layout
    # four rows on one x axis: every lower panel matches the bottom one
    assert lay.xaxis.matches == "x4" and lay.xaxis2.matches == "x4" and lay.xaxis3.matches == "x4"
    assert lay.xaxis4.title.text == "time since start (s)"
    assert [lay[f"yaxis{i}"].title.text for i in ("", 2, 3, 4)] == [
        "users",
        "req/s",
        "errors",
        "response time (s)",
    ]
    names = [t.name for t in fig.data]
    for n in (
        "users",
        "throughput",
        "failures/s",
        "Total p50",
        "Total p90",
        "Total p95",
        "Total p99",
        "errors 500",
    ):
        assert n in names, n
    assert any(n.startswith("/api/cart p95") for n in names)
    assert any("baseline steady" in n for n in names)
    assert "over time" in lay.title.text


def test_dashboard_on_locust_history_counts_per_interval(demo) -> None:
    fig = v.plot_loadtest_dashboard(demo)
    fail = next(t for t in fig.data if t.name == "failures/s")
    assert max(fail.y) < 100  # cumulative counts would climb to 305
    assert "windowed" in fig.layout.annotations[3].text


def test_cdf_from_locust_percentile_columns(demo) -> None:
    fig = v.plot_response_time_distribution(demo)
    assert len(fig.data) >= 2, "the demo's stats-only Locust run must not give an empty chart"
    assert all("tool percentiles" in t.name for t in fig.data)
    assert all(len(t.x) >= 4 for t in fig.data)
    assert "percentile columns" in fig.layout.title.text
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.xaxis.title.text == "response time (s, log scale)"


def test_cdf_per_label_with_requests(step) -> None:
    fig = v.plot_response_time_distribution(step)
    assert {t.name for t in fig.data} >= {"Total", "/api/cart", "/api/items", "/api/search"}
    assert max(len(t.x) for t in fig.data) <= 400


def test_errors_table(step, demo) -> None:
    fig = v.plot_errors_table(step)
    (table,) = fig.data
    assert table.type == "table"
    assert table.cells.values[3][0] == "27"
    assert table.cells.values[4][0] != "n/a"  # first seen from the per-request data
    demo_table = v.plot_errors_table(demo).data[0]
    assert demo_table.cells.values[4][0] == "n/a"


def test_capacity_curve_states_its_range(step) -> None:
    fig = v.plot_capacity(capacity(step))
    names = [t.name for t in fig.data]
    assert names[0] == "measured" and any(n.startswith("USL fit") for n in names)
    assert not any("extrapolated" in n for n in names)  # no curve beyond the levels that were run
    hi = max(fig.data[0].x)
    assert all(max(t.x) <= hi for t in fig.data if t.x is not None)
    assert fig.layout.xaxis.title.text == "concurrent users"
    assert fig.layout.yaxis.title.text == "throughput (req/s)"
    texts = [a.text for a in fig.layout.annotations]
    assert "measured range" in texts and any(t.startswith("knee") for t in texts)


def test_labels_are_escaped(step) -> None:
    lt = perfnb.read_loadtest(LT / "step")
    evil = "<script>alert(1)</script>"
    lt.requests["label"] = lt.requests["label"].cat.rename_categories({"/api/cart": evil})
    fig = v.plot_errors_table(lt)
    assert "&lt;script&gt;" in fig.data[0].cells.values[1][0]
    dist = v.plot_response_time_distribution(lt)
    assert all("<script>" not in t.name for t in dist.data)
