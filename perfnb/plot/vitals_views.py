"""Interactive web-vitals and cache views (Plotly), Lighthouse-style.

Entry points: :func:`plot_lighthouse_overview` (score gauges 0–100 per run over a table of metric values
with units, coloured by Lighthouse's own metric scores), :func:`plot_opportunities` (opportunities
de-duplicated across runs, by estimated savings), :func:`plot_crux_p75_history` (p75 per metric over
CrUX collection periods, with the good/poor thresholds), :func:`plot_cache_hit_ratio_over_time`
(hit ratio per interval between snapshots with the 80 % objective).

Colours are Lighthouse's: score ≥ 0.9 green, ≥ 0.5 orange, else red.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from perfnb.analysis.cache import intervals
from perfnb.plot.interactive import base_layout, esc

if TYPE_CHECKING:
    from perfnb.io.redis import CacheStats

__all__ = [
    "plot_cache_hit_ratio_over_time",
    "plot_crux_p75_history",
    "plot_lighthouse_overview",
    "plot_opportunities",
]

GOOD, AVERAGE, POOR = "#0cce6b", "#ffa400", "#ff4e42"


def _score_colour(score: float) -> str:
    if score != score:
        return "#999999"
    return GOOD if score >= 0.9 else AVERAGE if score >= 0.5 else POOR


def _value(v: float, unit: str) -> str:
    if v != v:
        return "n/a"
    if unit == "s":
        return f"{v * 1e3:,.0f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "bytes":
        return f"{v / 1024:,.0f} KiB"
    return f"{v:.3f}"


def plot_lighthouse_overview(lighthouse: Any, *, max_runs: int = 6) -> go.Figure:
    """Performance score gauges (0–100) per run above the metric values with units, coloured.

    *lighthouse* is what :func:`perfnb.read_lighthouse` returns (``runs`` and ``metrics`` frames).
    """
    runs = lighthouse.runs.head(max_runs)
    n = max(len(runs), 1)
    m = lighthouse.metrics
    order = ["FCP", "LCP", "TBT", "CLS", "SI", "TTI", "TTFB", "MPFID"]
    metrics = [x for x in order if x in set(m["metric"].astype(str))]
    fig = make_subplots(
        rows=2,
        cols=n,
        specs=[[{"type": "indicator"}] * n, [{"type": "table", "colspan": n}] + [None] * (n - 1)],
        row_heights=[0.38, 0.62],
        vertical_spacing=0.08,
        horizontal_spacing=0.06,
    )
    for i, r in enumerate(runs.to_dict("records")):
        score = float(r["performance_score"]) if pd.notna(r["performance_score"]) else np.nan
        fig.add_trace(
            go.Indicator(
                mode="gauge+number",
                value=round(score * 100) if score == score else 0,
                number={"suffix": "", "font": {"color": _score_colour(score), "size": 34}},
                title={
                    "text": f"{esc(r['run'], 40)}<br><sup>{esc(r['form_factor'])}</sup>",
                    "font": {"size": 13},
                },
                gauge={
                    "axis": {"range": [0, 100], "tickvals": [0, 50, 90, 100]},
                    "bar": {"color": _score_colour(score), "thickness": 0.35},
                    "steps": [
                        {"range": [0, 50], "color": "#fde8e7"},
                        {"range": [50, 90], "color": "#fff3e0"},
                        {"range": [90, 100], "color": "#e6f9ef"},
                    ],
                },
            ),
            row=1,
            col=i + 1,
        )
    header = ["metric"] + [esc(r, 30) for r in runs["run"]]
    cells: list[list[str]] = [[esc(x) for x in metrics]]
    fills: list[list[str]] = [["#f7f7f7"] * len(metrics)]
    for run in runs["run"]:
        sub = m[m["run"] == run].set_index("metric")
        col, fill = [], []
        for name in metrics:
            if name in sub.index:
                row = sub.loc[name]
                col.append(_value(float(row["value"]), str(row["unit"])))
                fill.append(_score_colour(float(row["score"])) + "55")
            else:
                col.append("n/a")
                fill.append("#ffffff")
        cells.append(col)
        fills.append(fill)
    fig.add_trace(
        go.Table(
            header={
                "values": [f"<b>{h}</b>" for h in header],
                "align": "left",
                "fill_color": "#eee",
            },
            cells={"values": cells, "fill_color": fills, "align": "left", "height": 24},
        ),
        row=2,
        col=1,
    )
    base_layout(
        fig,
        title="Lighthouse performance score (0–100) and metric values "
        "(green good, orange needs improvement, red poor)",
        height=580,
    )
    fig.update_layout(margin={"t": 120})
    return fig


def plot_opportunities(lighthouse: Any, *, top: int = 12) -> go.Figure:
    """Opportunities de-duplicated across runs: median estimated savings (s), runs that report it."""
    a = lighthouse.audits
    a = a[(a["kind"].astype(str) == "opportunity") & (a["savings_s"].fillna(0) > 0)]
    nruns = int(lighthouse.runs["run"].nunique()) or 1
    if a.empty:
        fig = go.Figure()
        base_layout(fig, title="Lighthouse opportunities: none with estimated savings", height=200)
        return fig
    g = (
        a.groupby("audit", observed=True)
        .agg(
            title=("title", "first"),
            savings_s=("savings_s", "median"),
            savings_bytes=("savings_bytes", "median"),
            runs=("run", "nunique"),
        )
        .sort_values("savings_s", ascending=False)
        .head(top)
        .iloc[::-1]
    )
    kib = [f", {b / 1024:,.0f} KiB" if b == b and b > 0 else "" for b in g["savings_bytes"]]
    fig = go.Figure(
        go.Bar(
            x=(g["savings_s"] * 1e3).round(0),
            y=[esc(t, 70) for t in g["title"]],
            orientation="h",
            marker_color="#4e79a7",
            text=[
                f"{s * 1e3:,.0f} ms{k} · {r}/{nruns} runs"
                for s, k, r in zip(g["savings_s"], kib, g["runs"], strict=True)
            ],
            textposition="auto",
            hovertext=[esc(x) for x in g.index],
            hovertemplate="%{hovertext}: %{x} ms<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="estimated savings (ms, median over runs)")
    fig.update_yaxes(title_text="")
    base_layout(fig, title=f"Opportunities across {nruns} runs, each listed once",
                height=140 + 32 * len(g))  # fmt: skip
    return fig


def plot_crux_p75_history(crux: pd.DataFrame) -> go.Figure:
    """p75 of each metric over CrUX collection periods, one panel per metric, thresholds shaded."""
    present = {str(x) for x in crux["metric"]}
    metrics: list[str] = [m for m in ("LCP", "INP", "CLS", "FCP", "TTFB") if m in present]
    metrics = metrics or sorted(present)
    fig = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[f"{m} p75" for m in metrics])  # fmt: skip
    for i, name in enumerate(metrics, start=1):
        d = crux[crux["metric"].astype(str) == name].sort_values("period_end")
        unit = str(d["unit"].iloc[0]) if len(d) else ""
        fig.add_trace(
            go.Scatter(x=d["period_end"], y=d["p75"].round(4), name=f"{name} p75",
                       mode="lines+markers", line={"color": "#333"}),
            row=i, col=1,
        )  # fmt: skip
        good, poor = d["good_max"].dropna(), d["poor_min"].dropna()
        if len(good):
            fig.add_hline(y=float(good.iloc[0]), line_dash="dash", line_color=GOOD, row=i, col=1,
                          annotation_text="good", annotation_position="top right")  # fmt: skip
        if len(poor):
            fig.add_hline(y=float(poor.iloc[0]), line_dash="dash", line_color=POOR, row=i, col=1,
                          annotation_text="poor", annotation_position="top right")  # fmt: skip
        fig.update_yaxes(title_text="s" if unit == "s" else "score" if unit == "unitless" else
                         esc(unit), rangemode="tozero", row=i, col=1)  # fmt: skip
    fig.update_xaxes(title_text="end of the 28-day collection period", row=len(metrics), col=1)
    key = esc(crux["key"].iloc[0], 80) if len(crux) else ""
    base_layout(fig, title=f"CrUX p75 history: {key}", height=200 * len(metrics) + 120,
                showlegend=False)  # fmt: skip
    return fig


def plot_cache_hit_ratio_over_time(stats: CacheStats, *, min_ratio: float = 0.8) -> go.Figure:
    """Hit ratio of each interval between snapshots, with the objective line (default 80 %).

    The x axis is the snapshot time; snapshots taken within the same second are numbered instead.
    A single snapshot has no interval: its counters since start are shown as one point, labelled so.
    """
    iv = intervals(stats)
    snaps = stats.snapshots
    fig = go.Figure()
    ts = snaps["timestamp"]
    by_time = ts.notna().all() and ts.nunique() == len(ts)
    if len(iv):
        # each interval's ratio holds from the previous snapshot to this one: draw it as a step
        # segment over that span (one interval is a line across it, not a lone dot)
        order = list(snaps["snapshot"])
        at = dict(zip(order, snaps["timestamp"] if by_time else order, strict=True))
        starts = [at[order[order.index(k) - 1]] for k in iv["snapshot"]]
        x = [*starts, at[iv["snapshot"].iloc[-1]]]
        ratio = iv["hit_ratio"].astype("float64").round(4).tolist()
        lookups = (iv["hits"] + iv["misses"]).astype("float64").tolist()
        ev = iv["evictions"].astype("float64").tolist()
        fig.add_trace(go.Scatter(
            x=x, y=[*ratio, ratio[-1]], mode="lines+markers", line_shape="hv",
            name="hit ratio per interval",
            customdata=np.stack([[*lookups, lookups[-1]], [*ev, ev[-1]]], axis=-1),
            hovertemplate="%{y:.1%} of %{customdata[0]:,.0f} lookups, "
            "%{customdata[1]:,.0f} evictions<extra></extra>",
        ))  # fmt: skip
        title = f"{esc(stats.kind)} hit ratio between {len(snaps)} snapshots"
    else:
        row = snaps.iloc[-1]
        total = float(row["hits"]) + float(row["misses"])
        since = float(row["hits"]) / total if total else np.nan
        fig.add_trace(go.Scatter(x=[row["timestamp"] if by_time else 0], y=[since],
                                 mode="markers", name="since server start",
                                 marker={"size": 12}))  # fmt: skip
        title = f"{esc(stats.kind)} hit ratio since server start (one snapshot: no interval)"
    fig.add_hline(
        y=min_ratio,
        line_dash="dash",
        line_color=POOR,
        annotation_text=f"objective {min_ratio:.0%}",
        annotation_position="top left",
    )
    fig.update_yaxes(title_text="hits / lookups (%)", range=[0, 1.05], tickformat=".0%")
    fig.update_xaxes(title_text="snapshot time (UTC)" if by_time else "snapshot number",
                     dtick=None if by_time else 1)  # fmt: skip
    base_layout(fig, title=title, height=360)
    return fig
