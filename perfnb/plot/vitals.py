"""Web-vitals and cache figures: metric values per Lighthouse run, p75 ratings, cache hit ratio.

Entry points: :func:`plot_lighthouse_runs`, :func:`plot_assessment`, :func:`plot_crux_history`,
:func:`plot_cache_hit_ratio`. Each takes a frame (or loaded object), draws on ``ax`` and returns it.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from perfnb.analysis.cache import intervals
from perfnb.io.redis import CacheStats

__all__ = [
    "plot_assessment",
    "plot_cache_hit_ratio",
    "plot_crux_history",
    "plot_lighthouse_runs",
]

_COLORS = {"good": "#0cce6b", "needs-improvement": "#ffa400", "poor": "#ff4e42", "": "#999999"}


def _ax(ax: Axes | None, **kw: Any) -> Axes:
    if ax is None:
        _, ax = plt.subplots(**kw)
    return ax


def plot_lighthouse_runs(metrics: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Grouped bars: each weighted metric's score (0–1) per Lighthouse run."""
    ax = _ax(ax, figsize=(8, 4))
    data = metrics[metrics["weight"] > 0].pivot_table(
        index="metric", columns="run", values="score", observed=True, aggfunc="first"
    )
    data.plot.bar(ax=ax, rot=0)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("metric score")
    ax.set_title("Lighthouse metric scores per run")
    return ax


def plot_assessment(assessment: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars of p75 / good threshold per metric and group, coloured by rating."""
    from perfnb.analysis.vitals import THRESHOLDS

    ax = _ax(ax, figsize=(8, max(2.5, 0.3 * len(assessment))))
    keys = [c for c in ("key", "page", "form_factor") if c in assessment.columns]
    labels, values, colors = [], [], []
    for rec in assessment.to_dict("records"):
        th = THRESHOLDS.get(str(rec["metric"]))
        if th is None:
            continue
        labels.append(" ".join([str(rec[k]) for k in keys] + [str(rec["metric"])]))
        values.append(float(rec["p75"]) / th.good)
        colors.append(_COLORS.get(str(rec["rating"]), "#999999"))
    ax.barh(labels, values, color=colors)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("p75 / good threshold (≤ 1 is good)")
    ax.set_title("p75 assessment")
    return ax


def plot_crux_history(crux: pd.DataFrame, *, metric: str = "LCP", ax: Axes | None = None) -> Axes:
    """Stacked areas of good / needs-improvement / poor densities over CrUX collection periods."""
    ax = _ax(ax, figsize=(8, 3.5))
    d = crux[crux["metric"] == metric].sort_values("period_end")
    x = d["period_end"].dt.tz_localize(None)
    ax.stackplot(
        x,
        d["good_ratio"],
        d["needs_improvement_ratio"],
        d["poor_ratio"],
        colors=[_COLORS["good"], _COLORS["needs-improvement"], _COLORS["poor"]],
        labels=["good", "needs improvement", "poor"],
    )
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of page loads")
    ax.set_title(f"CrUX {metric} distribution")
    ax.legend(loc="lower left", fontsize="small")
    return ax


def plot_cache_hit_ratio(
    stats: CacheStats, *, min_ratio: float = 0.8, ax: Axes | None = None
) -> Axes:
    """Hit ratio of each interval between snapshots, with the threshold line."""
    ax = _ax(ax, figsize=(8, 3))
    iv = intervals(stats)
    ax.plot(iv["snapshot"], iv["hit_ratio"], marker="o", label="hit ratio")
    ax.axhline(min_ratio, color="red", linestyle="--", label=f"threshold {min_ratio:.0%}")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("snapshot")
    ax.set_ylabel("hits / lookups")
    ax.set_title(f"{stats.kind} hit ratio between snapshots")
    ax.legend(loc="lower right")
    return ax
