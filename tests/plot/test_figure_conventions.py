"""Every interactive figure: a title, and every cartesian axis that carries data has a title."""

from __future__ import annotations

import pytest

import perfnb
from perfnb.analysis import slo
from perfnb.analysis.capacity import capacity
from perfnb.plot import flame, loadtest_views, timeline, vitals_views
from tests.conftest import SAMPLES


def _figures():
    prof = perfnb.read_profile(SAMPLES / "profiles" / "pyspy_after.raw.txt")
    base = perfnb.read_profile(SAMPLES / "profiles" / "pyspy_before.raw.txt")
    lt = perfnb.read_loadtest(SAMPLES / "loadtests" / "step")
    demo = perfnb.read_loadtest(SAMPLES / "demo" / "locust")
    met = perfnb.read_metrics(SAMPLES / "metrics")
    sig = slo.signals(met)
    lh = perfnb.read_lighthouse(SAMPLES / "vitals")
    yield "flame", flame.plot_flame(prof)
    yield "flame bottom-up", flame.plot_flame(prof, direction="bottom-up")
    yield "flame diff", flame.plot_flame_diff(perfnb.compare_profiles(base, prof))
    yield "dashboard", loadtest_views.plot_loadtest_dashboard(lt)
    yield "dashboard locust", loadtest_views.plot_loadtest_dashboard(demo)
    yield "cdf", loadtest_views.plot_response_time_distribution(lt)
    yield "cdf locust", loadtest_views.plot_response_time_distribution(demo)
    yield "errors", loadtest_views.plot_errors_table(lt)
    yield "capacity", loadtest_views.plot_capacity(capacity(lt))
    yield "timeline", timeline.plot_timeline(metrics=met, signals=sig, loadtest=demo)
    yield "lighthouse", vitals_views.plot_lighthouse_overview(lh)
    yield "opportunities", vitals_views.plot_opportunities(lh)
    yield (
        "cache",
        vitals_views.plot_cache_hit_ratio_over_time(
            perfnb.read(SAMPLES / "cache" / "redis_info.txt")
        ),
    )


FIGURES = list(_figures())


@pytest.mark.parametrize(("name", "fig"), FIGURES, ids=[n for n, _ in FIGURES])
def test_title_and_axis_titles(name, fig) -> None:
    assert fig.layout.title.text, f"{name}: no title"
    used_y, used_x = set(), set()
    for t in fig.data:
        if t.type in ("scatter", "bar"):
            used_x.add(t.xaxis or "x")
            if not (t.type == "bar" and t.orientation == "h"):  # labelled by category ticks
                used_y.add(t.yaxis or "y")
    for ref in used_y:
        assert fig.layout["yaxis" + ref[1:]].title.text, f"{name}: y axis {ref} has no title"
    # shared x axes: the bottom one carries the title for all panels
    if used_x:
        titled = [fig.layout["xaxis" + ref[1:]].title.text for ref in used_x]
        assert any(titled), f"{name}: no x axis title"
