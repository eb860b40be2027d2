"""Interactive web-vitals and cache views: gauges, coloured values, opportunities once, objective."""

from __future__ import annotations

import perfnb
from perfnb.plot import vitals_views as v
from tests.conftest import SAMPLES


def test_overview_gauges_and_coloured_values() -> None:
    lh = perfnb.read_lighthouse(SAMPLES / "vitals")
    fig = v.plot_lighthouse_overview(lh)
    gauges = [t for t in fig.data if t.type == "indicator"]
    assert len(gauges) == 4
    assert all(tuple(g.gauge.axis.range) == (0, 100) for g in gauges)
    assert sorted(g.value for g in gauges) == [30, 30, 30, 82]
    (table,) = [t for t in fig.data if t.type == "table"]
    values = table.cells.values
    assert list(values[0][:2]) == ["FCP", "LCP"]
    assert values[1][1] == "2.21 s" and values[1][2] == "150 ms"  # units on every value
    fills = table.cells.fill.color
    assert fills[2][1].startswith(v.POOR)  # mobile LCP 11.8 s is red
    assert "score (0–100)" in fig.layout.title.text


def test_opportunities_once_across_runs() -> None:
    lh = perfnb.read_lighthouse(SAMPLES / "vitals")
    fig = v.plot_opportunities(lh)
    (bar,) = fig.data
    assert bar.type == "bar" and bar.orientation == "h"
    assert len(set(bar.y)) == len(bar.y), "each opportunity once"
    assert all("4/4 runs" in t for t in bar.text)
    assert fig.layout.xaxis.title.text == "estimated savings (ms, median over runs)"


def test_crux_history(corpus) -> None:
    crux = perfnb.read_crux(
        corpus / "metrics" / "crux" / "crux_history_api_url_desktop_github.json"
    )
    fig = v.plot_crux_p75_history(crux)
    assert {t.name for t in fig.data} >= {"LCP p75", "CLS p75"}
    assert fig.layout.yaxis.title.text == "s"
    assert any(a.text == "good" for a in fig.layout.annotations)


def test_cache_hit_ratio_with_objective() -> None:
    fig = v.plot_cache_hit_ratio_over_time(perfnb.read(SAMPLES / "cache" / "redis_info_poor.txt"))
    (line,) = fig.data
    assert len(line.x) == 2 and line.y[0] == line.y[1] == 0.12  # a segment, not a lone dot
    assert fig.layout.yaxis.tickformat == ".0%"
    assert fig.layout.yaxis.title.text == "hits / lookups (%)"
    assert any(a.text == "objective 80%" for a in fig.layout.annotations)
    mc = v.plot_cache_hit_ratio_over_time(perfnb.read(SAMPLES / "cache" / "memcached_stats.txt"))
    assert mc.layout.xaxis.title.text == "snapshot number"
