from __future__ import annotations

from perfnb.analysis.vitals import assess
from perfnb.io.lighthouse import read_lighthouse
from perfnb.io.redis import read_redis_info
from perfnb.io.rum import read_rum
from perfnb.plot import vitals as plots
from tests.conftest import DATA


def test_lighthouse_runs():
    rep = read_lighthouse(DATA / "samples" / "vitals")
    ax = plots.plot_lighthouse_runs(rep.metrics)
    assert len(ax.patches) == 5 * 4  # 5 weighted metrics × 4 runs


def test_assessment_bars():
    a = assess(read_rum(DATA / "samples" / "vitals" / "rum.ndjson"))
    ax = plots.plot_assessment(a)
    assert len(ax.patches) == len(a)


def test_cache_hit_ratio():
    ax = plots.plot_cache_hit_ratio(read_redis_info(DATA / "samples" / "cache" / "redis_info.txt"))
    assert len(ax.lines[0].get_xdata()) == 4
    assert ax.lines[1].get_ydata()[0] == 0.8
