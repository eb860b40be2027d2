"""Load-test figures: artists, not images."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from perfnb.analysis.capacity import capacity
from perfnb.io.locust import read_locust
from perfnb.plot.latency import (
    plot_errors,
    plot_latency_cdf,
    plot_percentiles_over_time,
    plot_throughput_vs_users,
)
from tests.conftest import SAMPLES

LT = SAMPLES / "loadtests"


def test_plots() -> None:
    lt = read_locust(LT / "step")
    ax = plot_percentiles_over_time(lt)
    assert len(ax.get_lines()) == 3
    ax = plot_throughput_vs_users(capacity(lt))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "measured" in labels and any(t.startswith("USL") for t in labels)
    ax = plot_errors(lt)
    assert len(ax.patches) >= 1
    ax = plot_latency_cdf(lt)
    assert len(ax.get_lines()) == len(lt.labels) + 1
    ax = plot_latency_cdf(lt, baseline=read_locust(LT / "steady"))
    assert len(ax.get_lines()) == 2
    plt.close("all")


def test_static_cdf_not_empty_on_stats_only_locust() -> None:
    import perfnb
    from perfnb.plot.latency import plot_latency_cdf
    from tests.conftest import SAMPLES

    lt = perfnb.read_loadtest(SAMPLES / "demo" / "locust")
    ax = plot_latency_cdf(lt)
    assert len(ax.lines) >= 2
    assert all("tool percentiles" in line.get_label() for line in ax.lines)
