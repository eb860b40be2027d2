"""Metric trend figures: change points with levels, burn rates with alert windows, bucket heatmaps.

Entry points: :func:`plot_change_points`, :func:`plot_burn_rates`, :func:`plot_bucket_heatmap`. Each draws on
``ax`` (created if ``None``) and returns it.
"""

from __future__ import annotations

import itertools
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from perfnb.analysis.promql import parse_le

__all__ = ["plot_bucket_heatmap", "plot_burn_rates", "plot_change_points"]

_KIND_COLOR = {"regression": "#d62728", "improvement": "#2ca02c", "change": "#7f7f7f"}


def _ax(ax: Axes | None, **kw: Any) -> Axes:
    if ax is None:
        _, ax = plt.subplots(**kw)
    return ax


def plot_change_points(
    series: pd.Series,
    cps: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str = "",
    ylabel: str = "",
) -> Axes:
    """The series, its change points and segment medians.

    Draws the series (one line), each segment's median as a step (one more line) and a dashed vertical line
    per change point coloured by kind.
    """
    ax = _ax(ax, figsize=(9, 3.5))
    s = series.dropna()
    x = s.index if isinstance(s.index, pd.DatetimeIndex) else np.arange(len(s))
    ax.plot(
        x,
        s.to_numpy(),
        lw=1,
        color="#1f77b4",
        label=str(series.name) if series.name is not None else "value",
    )
    edges = [0, *[int(i) for i in cps["index"]], len(s)]
    lx: list[Any] = []
    ly: list[float] = []
    for a, b in itertools.pairwise(edges):
        if b > a:
            level = float(np.median(s.to_numpy()[a:b]))
            lx += [x[a], x[b - 1]]
            ly += [level, level]
    if lx:
        ax.plot(lx, ly, color="black", lw=2, alpha=0.7, label="segment median")
    for pos, kind in zip(cps["index"].tolist(), cps["kind"].astype(str).tolist(), strict=True):
        ax.axvline(x[int(pos)], color=_KIND_COLOR.get(kind, "#7f7f7f"), ls="--", lw=1.2)  # type: ignore[arg-type]
    name = str(series.name) if series.name is not None else "series"
    ax.set_title(title or f"{name}: {len(cps)} change point(s)")
    unit = "s" if name.endswith(("_s", "_seconds")) else "ratio" if name.endswith("_ratio") else ""
    ax.set_ylabel(ylabel or (f"{name} ({unit})" if unit else name))
    if isinstance(x, pd.DatetimeIndex):
        _time_axis(ax)
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_burn_rates(
    burn: pd.DataFrame,
    alerts: pd.DataFrame | None = None,
    *,
    thresholds: dict[str, float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Burn rates per window with the policy's levels and the alert intervals shaded.

    One line per ``burn_<w>`` column, dotted lines at *thresholds*, alert intervals shaded (red for page,
    orange for ticket).
    """
    ax = _ax(ax, figsize=(9, 3.5))
    for label, values in _same_lines(burn):
        ax.plot(burn.index, values.to_numpy(), lw=1, label=label)
    for name, level in (thresholds or {}).items():
        ax.axhline(level, ls=":", color="grey", lw=1)
        ax.annotate(name, (burn.index[0], level), fontsize="x-small", color="grey")
    if alerts is not None:
        for start, end_, sev in zip(
            alerts["start"], alerts["end"], alerts["severity"], strict=True
        ):
            end = burn.index[-1] if pd.isna(end_) else end_
            color = "#d62728" if sev == "page" else "#ff7f0e"
            ax.axvspan(start, end, color=color, alpha=0.12)
    ax.set_ylabel("burn rate (× budget)")
    ax.set_title("Error-budget burn rate")
    ax.legend(loc="upper left", fontsize="small", ncol=4)
    _time_axis(ax)
    return ax


def _time_axis(ax: Axes) -> None:
    """Few, concise date ticks (no overlapping labels) and the axis title with its unit."""
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(minticks=3, maxticks=7)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))  # type: ignore[no-untyped-call]
    ax.set_xlabel("time (UTC)")


def _same_lines(burn: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """Columns with identical values drawn once, labelled ``1h = 5min``.

    Data shorter than the windows fills every window the same; eight coinciding lines made an
    unreadable legend.
    """
    groups: list[tuple[list[str], pd.Series]] = []
    for col in burn.columns:
        v = burn[col]
        for names, ref in groups:
            if np.allclose(
                v.to_numpy(dtype="float64"), ref.to_numpy(dtype="float64"), equal_nan=True
            ):
                names.append(col.removeprefix("burn_"))
                break
        else:
            groups.append(([col.removeprefix("burn_")], v))
    return [(" = ".join(names), v) for names, v in groups]


def plot_bucket_heatmap(buckets: pd.DataFrame, *, ax: Axes | None = None, title: str = "") -> Axes:
    """Heatmap (one ``pcolormesh``) of per-bucket (non-cumulative) counts over time from ``le`` bucket rows."""
    ax = _ax(ax, figsize=(9, 3.5))
    les = buckets["le"].astype(str).map(parse_le)
    w = pd.DataFrame(
        {
            "timestamp": buckets["timestamp"].to_numpy(),
            "le": les.to_numpy(),
            "v": buckets["value"].to_numpy(dtype="float64"),
        }
    )
    grid = w.pivot_table(index="le", columns="timestamp", values="v", aggfunc="sum").sort_index()
    cum = grid.to_numpy()
    per = np.diff(np.vstack([np.zeros((1, cum.shape[1])), cum]), axis=0).clip(min=0)
    labels = [f"≤{u:g}" if np.isfinite(u) else "+Inf" for u in grid.index]
    mesh = ax.pcolormesh(
        grid.columns, np.arange(len(labels)), per, shading="nearest", cmap="viridis"
    )
    ax.set_yticks(np.arange(len(labels)), labels)
    ax.set_ylabel("bucket (s)")
    ax.set_title(title or "Latency histogram buckets over time")
    ax.figure.colorbar(mesh, ax=ax, label="observations")
    if pd.api.types.is_datetime64_any_dtype(grid.columns):
        _time_axis(ax)
    return ax
