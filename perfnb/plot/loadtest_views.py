"""Interactive load-test views (Plotly): the JMeter-dashboard set, one ``plot_*`` per view.

Entry points:

* :func:`plot_loadtest_dashboard` — over time, on one shared x axis (seconds since the run started, so
  a baseline lines up): active users, throughput and failures, errors by status or message, and
  p50/p90/p95/p99 for Total and each label (labels start hidden: click the legend);
* :func:`plot_response_time_distribution` — the CDF per label; runs that kept only the tool's summary
  (Locust without ``--csv-full-history`` requests) are drawn from its percentile columns and say so;
* :func:`plot_errors_table` — message, label, status, count, first and last seen;
* :func:`plot_capacity` — throughput per user level with the USL fit, solid over the measured range
  and dashed beyond it, the peak, knee and optimal levels.

Labels and error messages are untrusted text: they reach the figures escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from perfnb.plot.interactive import base_layout, esc

if TYPE_CHECKING:
    from perfnb.analysis.capacity import Capacity
    from perfnb.io.loadtest import LoadTest

__all__ = [
    "interval_table",
    "plot_capacity",
    "plot_errors_table",
    "plot_loadtest_dashboard",
    "plot_response_time_distribution",
]

_PCT = {"p50_s": "#1f77b4", "p90_s": "#2ca02c", "p95_s": "#ff7f0e", "p99_s": "#d62728"}
_PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#bab0ac"]  # fmt: skip


def interval_table(lt: LoadTest, freq: str = "5s") -> pd.DataFrame:
    """``lt.intervals()`` plus ``elapsed_s``, with Locust's cumulative history counts per interval."""
    iv = lt.intervals(freq) if lt.has_requests else lt.intervals()
    iv = iv.copy()
    t0 = iv["timestamp"].min()
    iv["elapsed_s"] = (iv["timestamp"] - t0).dt.total_seconds()
    if not lt.has_requests and lt.history is not None:
        # Locust's history counts requests and failures cumulatively: per interval is the difference
        parts = []
        for _, g in iv.groupby("label", observed=True, sort=False):
            g = g.sort_values("timestamp").copy()
            for col in ("requests", "failures"):
                v = g[col].astype("float64")
                if v.is_monotonic_increasing:
                    g[col] = v.diff().fillna(v).clip(lower=0)
            parts.append(g)
        iv = pd.concat(parts, ignore_index=True)
    return iv


def _errors_over_time(lt: LoadTest, freq: str) -> pd.DataFrame:
    """Failures per interval by status (or message when there is no status): wide, index elapsed_s."""
    req = lt.requests if lt.has_requests else None
    if req is None:
        return pd.DataFrame()
    failed = req[~req["success"]]
    if failed.empty:
        return pd.DataFrame()
    status = failed["status"].astype("string").fillna("")
    key = status.where(status != "", failed["error"].astype("string").fillna("error").str[:40])
    t0 = req["timestamp"].min()
    bucket = (failed["timestamp"] - t0).dt.total_seconds() // pd.Timedelta(freq).total_seconds()
    step = pd.Timedelta(freq).total_seconds()
    g = (
        pd.DataFrame({"t": bucket * step, "key": key.astype(str)})
        .groupby(["t", "key"])
        .size()
        .unstack(fill_value=0)
    )
    return g


def plot_loadtest_dashboard(
    lt: LoadTest, *, baseline: LoadTest | None = None, freq: str = "5s"
) -> go.Figure:
    """Four panels sharing the time axis: users, throughput, errors, response-time percentiles.

    Parameters
    ----------
    lt
        The run. Per-request inputs are binned every *freq*; summary-only inputs use the tool's
        history (Locust's windowed percentiles; the title says which).
    baseline
        An earlier run, overlaid dashed on users, throughput and p95 (aligned on time since start).
    """
    iv = interval_table(lt, freq)
    tot = iv[iv["label"] == "Total"]
    kind = str(tot["percentile_kind"].iloc[0]) if len(tot) else ""
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05,
        row_heights=[0.16, 0.24, 0.2, 0.4],
        subplot_titles=(
            "Active users",
            "Throughput and failures (req/s)",
            "Errors per interval by status or message",
            f"Response-time percentiles (s), {kind}",
        ),
    )
    x = tot["elapsed_s"]
    if tot["users"].notna().any():
        fig.add_trace(
            go.Scatter(x=x, y=tot["users"].astype(float), name="users", line_shape="hv",
                       line={"color": "#555"}, legendgroup="users"),
            row=1, col=1,
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(x=x, y=tot["throughput_per_s"].round(3), name="throughput",
                   line={"color": "#4e79a7"}),
        row=2, col=1,
    )  # fmt: skip
    step = pd.Timedelta(freq).total_seconds() if lt.has_requests else None
    if step is None and len(x) > 1:
        step = float(np.median(np.diff(x.to_numpy())))
    dt = x.diff().fillna(step or 1.0).replace(0, np.nan) if not lt.has_requests else step or 1.0
    fail_rate = (tot["failures"].astype(float) / dt).fillna(0)
    fig.add_trace(
        go.Scatter(x=x, y=fail_rate.round(3), name="failures/s", line={"color": "#e15759"}),
        row=2, col=1,
    )  # fmt: skip
    errs = _errors_over_time(lt, freq)
    if len(errs.columns):
        for i, col in enumerate(errs.columns[:8]):
            fig.add_trace(
                go.Bar(x=errs.index, y=errs[col], name=f"errors {esc(col, 40)}",
                       marker_color=_PALETTE[(i + 2) % len(_PALETTE)]),
                row=3, col=1,
            )  # fmt: skip
        fig.update_layout(barmode="stack")
    else:
        per_label = iv[iv["label"] != "Total"]
        for i, (name, g) in enumerate(per_label.groupby("label", observed=True)):
            if g["failures"].fillna(0).sum() > 0:
                fig.add_trace(
                    go.Bar(x=g["elapsed_s"], y=g["failures"], name=f"failures {esc(name, 40)}",
                           marker_color=_PALETTE[i % len(_PALETTE)]),
                    row=3, col=1,
                )  # fmt: skip
        fig.update_layout(barmode="stack")
    for col, color in _PCT.items():
        if tot[col].notna().any():
            fig.add_trace(
                go.Scatter(x=x, y=tot[col].round(5), name=f"Total {col[:-2]}",
                           line={"color": color}),
                row=4, col=1,
            )  # fmt: skip
    for i, (name, g) in enumerate(iv[iv["label"] != "Total"].groupby("label", observed=True)):
        for col in ("p50_s", "p95_s", "p99_s"):
            if g[col].notna().any():
                fig.add_trace(
                    go.Scatter(x=g["elapsed_s"], y=g[col].round(5),
                               name=f"{esc(name, 40)} {col[:-2]}", visible="legendonly",
                               line={"color": _PALETTE[i % len(_PALETTE)], "width": 1,
                                     "dash": {"p50_s": "dot", "p95_s": "solid"}.get(col, "dash")},
                               legendgroup=f"label{i}"),
                    row=4, col=1,
                )  # fmt: skip
    if baseline is not None:
        bt = interval_table(baseline, freq)
        bt = bt[bt["label"] == "Total"]
        base = f"baseline {esc(baseline.run, 40)}"
        dash = {"dash": "dash", "color": "#999"}
        if bt["users"].notna().any():
            fig.add_trace(go.Scatter(x=bt["elapsed_s"], y=bt["users"].astype(float),
                                     name=f"{base} users", line_shape="hv", line=dash),
                          row=1, col=1)  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=bt["elapsed_s"],
                y=bt["throughput_per_s"].round(3),
                name=f"{base} throughput",
                line=dash,
            ),
            row=2,
            col=1,
        )
        fig.add_trace(
            go.Scatter(x=bt["elapsed_s"], y=bt["p95_s"].round(5), name=f"{base} p95", line=dash),
            row=4,
            col=1,
        )
    fig.update_yaxes(title_text="users", row=1, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="req/s", row=2, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="errors", row=3, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="response time (s)", row=4, col=1, rangemode="tozero")
    fig.update_xaxes(title_text="time since start (s)", row=4, col=1)
    title = f"Load test {esc(lt.run, 60)} over time ({esc(lt.source)})"
    base_layout(fig, title=title, height=900, hovermode="x unified",
                legend={"orientation": "v", "x": 1.02, "y": 1})  # fmt: skip
    return fig


def _ecdf_points(values: np.ndarray, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """At most *n* points of the empirical CDF (quantiles at even probabilities): small files."""
    v = np.sort(values[np.isfinite(values)])
    if v.size <= n:
        return v, np.arange(1, v.size + 1) / max(v.size, 1)
    p = np.linspace(0, 1, n)
    return np.quantile(v, p), p


def _percentile_points(row: pd.Series) -> tuple[list[float], list[float]]:
    pts = [("min_s", 0.0), ("p50_s", 0.5), ("p90_s", 0.9), ("p95_s", 0.95), ("p99_s", 0.99),
           ("max_s", 1.0)]  # fmt: skip
    xs, ps = [], []
    for col, p in pts:
        v = row.get(col)
        if v is not None and pd.notna(v) and float(v) > 0:
            xs.append(float(v))
            ps.append(p)
    return xs, ps


def plot_response_time_distribution(
    lt: LoadTest, *, baseline: LoadTest | None = None, labels: bool = True
) -> go.Figure:
    """Response-time CDF per label and Total (log x); with *baseline*, its Total dashed.

    Without per-request data the curve joins the tool's own percentiles (min, p50, p90, p95, p99,
    max from Locust's stats CSV, for example): markers on the points, and the legend says
    "tool percentiles". A histogram-aggregated run (``engine="stream"``) uses its histograms.
    """
    fig = go.Figure()
    kind = ""

    def add(run: LoadTest, dashed: bool) -> str:
        suffix = f" ({esc(run.run, 40)}, baseline)" if dashed else ""
        line: dict[str, Any] = {"dash": "dash"} if dashed else {}
        if run.has_requests and run.requests is not None:
            req = run.requests[~run.requests["is_controller"]]
            groups = [("Total", req)]
            if labels and not dashed:
                groups += [(str(k), g) for k, g in req.groupby("label", observed=True)]
            for i, (name, g) in enumerate(groups):
                xs, ps = _ecdf_points(g["response_time_s"].to_numpy(dtype="float64"))
                width = 3 if name == "Total" else 1.5
                color = "#222" if name == "Total" else _PALETTE[i % len(_PALETTE)]
                fig.add_trace(
                    go.Scatter(
                        x=np.round(xs, 6),
                        y=np.round(ps, 4),
                        name=esc(name, 50) + suffix,
                        line={"width": width, "color": color, **line},
                    )
                )
            return "empirical CDF of every request"
        if run.aggregate is not None:
            for i, (name, h) in enumerate(run.histograms(run.aggregate.sub_buckets).items()):
                if name != "Total" and (dashed or not labels):
                    continue
                nz = np.flatnonzero(h.counts)
                fig.add_trace(
                    go.Scatter(
                        x=h.values()[nz],
                        y=np.cumsum(h.counts[nz]) / h.count,
                        name=esc(name, 50) + suffix,
                        line_shape="hv",
                        line={"color": _PALETTE[i % len(_PALETTE)], **line},
                    )
                )
            return "CDF of the streamed histograms"
        if run.stats is not None and len(run.stats):
            st = run.stats
            for i, row in enumerate(st.to_dict("records")):
                name = str(row["label"])
                if name != "Total" and (dashed or not labels):
                    continue
                pxs, pps = _percentile_points(pd.Series(row))
                color = "#222" if name == "Total" else _PALETTE[i % len(_PALETTE)]
                fig.add_trace(go.Scatter(
                    x=pxs, y=pps, mode="lines+markers",
                    name=f"{esc(name, 50)}{suffix} (tool percentiles)",
                    line={"width": 3 if name == "Total" else 1.5, "color": color, **line},
                ))  # fmt: skip
            return f"drawn from {esc(run.source)}'s percentile columns (no per-request data)"
        return "no response times in this input"

    kind = add(lt, False)
    if baseline is not None:
        add(baseline, True)
    ticks = [1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60]
    fig.update_xaxes(
        type="log",
        title_text="response time (s, log scale)",
        tickvals=ticks,
        ticktext=[f"{t * 1e3:g} ms" if t < 1 else f"{t:g} s" for t in ticks],
    )
    fig.update_yaxes(title_text="fraction of requests", range=[0, 1.02], tickformat=".0%")
    base_layout(fig, title=f"Response-time distribution per label: {kind}", height=460)
    return fig


def plot_errors_table(lt: LoadTest, *, top: int = 30) -> go.Figure:
    """Errors as a table: message, label, status, count, first and last seen (per-request data)."""
    e = lt.errors().head(top).copy()
    first: list[str] = []
    last: list[str] = []
    req = lt.requests if lt.has_requests else None
    for rec in e.to_dict("records"):
        seen = pd.Series(dtype="datetime64[ns, UTC]")
        if req is not None:
            m = (~req["success"]) & (req["label"].astype(str) == str(rec["label"]))
            if str(rec.get("status", "")):
                m &= req["status"].astype("string").fillna("") == str(rec["status"])
            seen = req.loc[m, "timestamp"]
        first.append(seen.min().strftime("%H:%M:%S") if len(seen) else "n/a")
        last.append(seen.max().strftime("%H:%M:%S") if len(seen) else "n/a")
    cols = {
        "message": [esc(x, 160) for x in e.get("error", pd.Series([""] * len(e))).fillna("")],
        "label": [esc(x, 60) for x in e["label"]],
        "status": [esc(x, 12) for x in e.get("status", pd.Series([""] * len(e))).fillna("")],
        "count": [f"{int(c):,}" for c in e["count"]],
        "first seen (UTC)": first,
        "last seen (UTC)": last,
    }
    fig = go.Figure(
        go.Table(
            columnwidth=[5, 2, 1, 1, 1.3, 1.3],
            header={"values": [f"<b>{k}</b>" for k in cols], "align": "left",
                    "fill_color": "#eee"},
            cells={"values": list(cols.values()), "align": "left", "height": 24},
        )
    )  # fmt: skip
    total = int(lt.errors()["count"].sum()) if len(e) else 0
    title = (
        f"Errors: {total:,} failed requests in {len(lt.errors()):,} kinds"
        if len(e)
        else "Errors: none recorded"
    )
    base_layout(fig, title=title, height=min(160 + 26 * max(len(e), 1), 900))
    return fig


def plot_capacity(cap: Capacity, *, title: str = "") -> go.Figure:
    """Throughput per user level with the USL fit: solid over the measured users, dashed beyond."""
    lv = cap.levels
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=lv["users"], y=lv["throughput_per_s"].round(3), mode="markers", name="measured",
        marker={"size": 9, "color": "#4e79a7"},
        customdata=np.stack([lv["p95_s"].fillna(np.nan).round(4)], axis=-1),
        hovertemplate="%{x} users: %{y} req/s, p95 %{customdata[0]} s<extra></extra>",
    ))  # fmt: skip
    if np.isfinite(cap.lam):
        lo, hi = float(lv["users"].min()), float(lv["users"].max())
        n_in = np.linspace(max(lo, 1.0), hi, 120)
        fig.add_trace(go.Scatter(
            x=n_in, y=np.round(cap.curve(n_in), 3), name=(
                f"USL fit σ={cap.sigma:.3g} κ={cap.kappa:.3g} (R²={cap.r2:.2f})"
            ), line={"color": "#e15759"},
        ))  # fmt: skip
        # the fit is drawn over the levels that were run only: a curve beyond them would be a claim
        # about loads nobody measured (issue 15)
        fig.add_vrect(
            x0=lo,
            x1=hi,
            fillcolor="#4e79a7",
            opacity=0.06,
            line_width=0,
            annotation_text="measured range",
            annotation_position="top left",
        )
        if np.isfinite(cap.peak_users) and lo <= cap.peak_users <= hi:
            fig.add_vline(
                x=cap.peak_users,
                line_dash="dot",
                line_color="#555",
                annotation_text=f"USL peak N*≈{cap.peak_users:.0f}",
                annotation_position="bottom right",
            )
    for users, name, color in ((cap.knee_users, "knee", "#d62728"),
                               (cap.optimal_users, "optimal", "#2ca02c"),
                               (cap.breaking_users, "breaking", "#000")):  # fmt: skip
        if users is not None:
            fig.add_vline(
                x=users,
                line_dash="dash",
                line_color=color,
                annotation_text=f"{name} {users}",
                annotation_position="top right",
            )
    fig.update_xaxes(title_text="concurrent users", rangemode="tozero")
    fig.update_yaxes(title_text="throughput (req/s)", rangemode="tozero")
    base_layout(fig, title=title or "Capacity: throughput versus users with the USL fit",
                height=440)  # fmt: skip
    return fig
