"""One timeline across sources (Grafana-like), as a Plotly figure with panels on a shared time axis.

Entry point: :func:`plot_timeline`.

Panels, top to bottom, each only when its source is given: load-test users; throughput and failures
(req/s); load-test latency p50/p95/p99 (s); then up to ``max_metric_panels`` metric panels with their
unit on the y axis (derived signals first: p95 latency, error ratio, Apdex, CPU, memory; else the raw
metric series, unit from the Prometheus name suffix). Across every panel: change points as dashed
vertical lines (annotated on their own panel), SLO burn-rate alert windows as shaded spans (merged per
severity, so coinciding windows show once), alert firings as markers. Slow statements logged by
auto_explain are shaded on the latency panel over ``[end − duration, end]`` with a hover marker
naming the statement's costliest node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from perfnb.errors import PerfnbError
from perfnb.plot.interactive import base_layout, esc
from perfnb.plot.loadtest_views import interval_table

if TYPE_CHECKING:
    from perfnb.io.loadtest import LoadTest

__all__ = ["plot_timeline", "slow_statement_windows"]

_PREFERRED = ("p95_latency_s", "error_ratio", "apdex", "cpu_ratio", "memory_ratio")
_DIRECTION: dict[str, Literal["up", "down"]] = {"p95_latency_s": "up", "error_ratio": "up", "apdex": "down", "cpu_ratio": "up",
              "memory_ratio": "up"}  # fmt: skip
_KIND_COLOR = {"regression": "#d62728", "improvement": "#2ca02c", "change": "#7f7f7f"}


def _unit(name: str) -> tuple[str, str]:
    """(axis title unit, tick format) from a signal or Prometheus metric name."""
    n = name.lower()
    if n.endswith(("_s", "_seconds")):
        return "s", ""
    if n.endswith("_ratio"):
        return "%", ".0%"
    if n == "apdex":
        return "score 0–1", ""
    if n.endswith("_bytes"):
        return "bytes", "~s"
    if n.endswith("_per_s"):
        return "per s", ""
    if n.endswith("_total"):
        return "count", "~s"
    return "value", ""


def _val(v: float, name: str) -> str:
    unit, _ = _unit(name)
    if v != v:
        return "n/a"
    if unit == "%":
        return f"{v:.1%}"
    if unit == "s":
        return f"{v * 1e3:.0f} ms" if abs(v) < 1 else f"{v:.2f} s"
    return f"{v:.3g}"


def _metric_series(metrics: Any, signals: Mapping[str, pd.Series] | None) -> dict[str, pd.Series]:
    """The series to draw: derived signals when there are any, else one per raw metric."""
    out: dict[str, pd.Series] = {}
    if signals:
        for k in _PREFERRED:
            if k in signals and signals[k].notna().any():
                out[k] = signals[k]
        for k, v in signals.items():
            if k.startswith(("p95_by_", "requests_by_")) or k in ("requests_total", "errors_total"):
                continue
            if k not in out and v.notna().any():
                out[k] = v
        if out:
            return out
    if metrics is None:
        return out
    f = metrics.frame
    for name, g in f.groupby("metric", observed=True):
        if str(name).endswith("_bucket"):
            continue
        s = g.groupby("timestamp")["value"].mean().sort_index()
        out[str(name) or "(unnamed query)"] = s
    return out


def slow_statement_windows(plans: Iterable[Any]) -> pd.DataFrame:
    """``start, end, duration_s, summary`` of each log-stamped plan (auto_explain logs the end time)."""
    rows = []
    for plan in plans:
        ts = getattr(plan, "timestamp", None)
        if ts is None or pd.isna(ts):
            continue
        dur = getattr(plan, "duration_s", np.nan)
        if dur is None or pd.isna(dur):
            dur = plan.execution_time_s
        dur = float(dur) if dur == dur else 0.0
        nodes = plan.nodes
        text = "plan"
        if len(nodes) and nodes["self_time_s"].notna().any():
            top = nodes.loc[nodes["self_time_s"].idxmax()]
            text = str(top["node_type"])
            if isinstance(top.get("relation"), str):
                text += f" on {top['relation']}"
        end = pd.Timestamp(ts)
        rows.append({"start": end - pd.Timedelta(seconds=dur), "end": end, "duration_s": dur,
                     "summary": text})  # fmt: skip
    return pd.DataFrame(rows, columns=["start", "end", "duration_s", "summary"])


def _merge_spans(spans: list[tuple[pd.Timestamp, pd.Timestamp]]) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def plot_timeline(
    *,
    loadtest: LoadTest | None = None,
    metrics: Any = None,
    signals: Mapping[str, pd.Series] | None = None,
    plans: Iterable[Any] | None = None,
    change_points: Mapping[str, pd.DataFrame] | None = None,
    burn_alerts: pd.DataFrame | None = None,
    alerts: pd.DataFrame | None = None,
    max_metric_panels: int = 4,
    max_change_points: int = 8,
    title: str = "",
) -> go.Figure:
    """Every timestamped source on one shared time axis (UTC), annotated.

    Parameters
    ----------
    loadtest
        Adds users, throughput/failures and latency panels.
    metrics, signals
        A :class:`~perfnb.io.prometheus.Metrics` and/or its derived signals
        (:func:`perfnb.analysis.slo.signals`); signals are computed from *metrics* when not given.
    plans
        Plans; those with a log timestamp (auto_explain) become shaded slow-statement windows.
    change_points
        Signal name → :func:`perfnb.change_points` frame; computed for the drawn signals when not
        given. The *max_change_points* largest (by ``magnitude_ratio``) are drawn.
    burn_alerts
        :func:`perfnb.analysis.slo.multiwindow_alerts` output: shaded spans.
    alerts
        :func:`perfnb.analysis.slo.replay_alerts` output: a marker where each alert fired.
    """
    if signals is None and metrics is not None:
        from perfnb.analysis.slo import signals as derive

        try:
            signals = derive(metrics)
        except PerfnbError:  # raw metric panels still work without derived signals
            signals = {}
    series = dict(list(_metric_series(metrics, signals).items())[:max_metric_panels])
    rows: list[tuple[str, str]] = []  # (key, title)
    if loadtest is not None:
        rows += [("users", "Load test: active users"),
                 ("throughput", "Load test: throughput and failures (req/s)"),
                 ("latency", "Load test: response-time percentiles (s)")]  # fmt: skip
    for name in series:
        unit, _ = _unit(name)
        rows.append((f"m:{name}", f"{esc(name, 60)} ({unit})"))
    if not rows:
        fig = go.Figure()
        base_layout(fig, title=title or "Timeline: no timestamped input", height=200)
        return fig
    heights = [0.6 if k == "users" else 1.0 for k, _ in rows]
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[t for _, t in rows], row_heights=heights)  # fmt: skip
    row_of = {k: i + 1 for i, (k, _) in enumerate(rows)}
    if loadtest is not None:
        iv = interval_table(loadtest)
        tot = iv[iv["label"] == "Total"]
        x = tot["timestamp"]
        fig.add_trace(go.Scatter(x=x, y=tot["users"].astype(float), name="users", line_shape="hv",
                                 line={"color": "#555"}), row=row_of["users"], col=1)  # fmt: skip
        fig.add_trace(go.Scatter(x=x, y=tot["throughput_per_s"].round(3), name="throughput",
                                 line={"color": "#4e79a7"}), row=row_of["throughput"], col=1)  # fmt: skip
        dt = x.diff().dt.total_seconds().bfill().replace(0, np.nan)
        fig.add_trace(go.Scatter(x=x, y=(tot["failures"].astype(float) / dt).fillna(0).round(3),
                                 name="failures/s", line={"color": "#e15759"}),
                      row=row_of["throughput"], col=1)  # fmt: skip
        for col, color in (("p50_s", "#1f77b4"), ("p95_s", "#ff7f0e"), ("p99_s", "#d62728")):
            if tot[col].notna().any():
                fig.add_trace(go.Scatter(x=x, y=tot[col].round(5), name=f"load test {col[:-2]}",
                                         line={"color": color}),
                              row=row_of["latency"], col=1)  # fmt: skip
        fig.update_yaxes(title_text="users", row=row_of["users"], col=1, rangemode="tozero")
        fig.update_yaxes(title_text="req/s", row=row_of["throughput"], col=1, rangemode="tozero")
        fig.update_yaxes(title_text="s", row=row_of["latency"], col=1, rangemode="tozero")
    for name, s in series.items():
        r = row_of[f"m:{name}"]
        unit, fmt = _unit(name)
        fig.add_trace(go.Scatter(x=s.index, y=np.round(s.to_numpy(dtype="float64"), 6),
                                 name=esc(name, 60), line={"width": 1.5}), row=r, col=1)  # fmt: skip
        fig.update_yaxes(title_text=unit, tickformat=fmt or None, row=r, col=1)
    # slow statements: shaded on the latency panel (or the first panel) with hover markers
    stmt_row = row_of.get("latency", 1)
    if plans is not None:
        win = slow_statement_windows(plans)
        if len(win):
            spans = _merge_spans(list(zip(win["start"], win["end"], strict=True)))
            for s0, s1 in spans[:60]:
                fig.add_vrect(x0=s0, x1=s1, fillcolor="#9467bd", opacity=0.18, line_width=0,
                              row=stmt_row, col=1)  # fmt: skip
            top = win.sort_values("duration_s", ascending=False).head(300)
            fig.add_trace(go.Scatter(
                x=top["end"], y=[0] * len(top), mode="markers", name="slow statement (auto_explain)",
                marker={"symbol": "line-ns-open", "size": 12, "color": "#9467bd"},
                hovertext=[f"{esc(t, 120)}: {d * 1e3:.0f} ms"
                           for t, d in zip(top["summary"], top["duration_s"], strict=True)],
                hoverinfo="text+x",
            ), row=stmt_row, col=1)  # fmt: skip
    # change points: a dashed line across all panels, annotated on its own panel
    if change_points is None and signals:
        from perfnb.analysis.trends import change_points as detect

        change_points = {}
        for name in series:
            if name in _DIRECTION:
                try:
                    change_points[name] = detect(series[name].dropna(), direction=_DIRECTION[name])
                except (PerfnbError, ValueError):  # a signal too short to test is skipped
                    continue
    cps = []
    for name, cp in (change_points or {}).items():
        for rec in cp.to_dict("records"):
            cps.append((name, rec))
    cps.sort(key=lambda c: -abs(float(c[1].get("magnitude_ratio", 0) or 0)))
    shown = sorted(cps[:max_change_points], key=lambda c: pd.Timestamp(c[1]["timestamp"]))
    slot: dict[int, int] = {}
    for name, rec in shown:
        ts = pd.Timestamp(rec["timestamp"])
        kind = str(rec.get("kind", "change"))
        color = _KIND_COLOR.get(kind, "#7f7f7f")
        fig.add_shape(type="line", x0=ts, x1=ts, xref="x", y0=0, y1=1, yref="paper",
                      line={"color": color, "dash": "dash", "width": 1})  # fmt: skip
        r = row_of.get(f"m:{name}", 1)
        yref = "y domain" if r == 1 else f"y{r} domain"
        k = slot.get(r, 0)
        slot[r] = k + 1
        before, after = rec.get("median_before", np.nan), rec.get("median_after", np.nan)
        arrow = "▲" if after > before else "▼"
        # staggered inside the panel so neighbouring change points do not overlap
        fig.add_annotation(x=ts, y=0.97 - 0.16 * (k % 4), xref="x", yref=yref, showarrow=False,
                           xanchor="left", yanchor="top",
                           text=f"{arrow} {esc(kind)} {_val(before, name)}→{_val(after, name)}",
                           hovertext=f"change point in {esc(name, 60)} at {ts:%H:%M:%S} UTC",
                           font={"size": 10, "color": color}, bgcolor="rgba(255,255,255,0.85)")  # fmt: skip
    # SLO burn: one shaded span per merged window and severity, across every panel
    if burn_alerts is not None and len(burn_alerts):
        last = max((s.index.max() for s in series.values() if len(s)), default=pd.NaT)
        for k_sev, (sev, g) in enumerate(burn_alerts.groupby("severity", observed=True)):
            ends = g["end"].where(g["end"].notna(), last)
            spans = _merge_spans([(a, b) for a, b in zip(g["start"], ends, strict=True)
                                  if pd.notna(a) and pd.notna(b)])  # fmt: skip
            color = "#d62728" if str(sev) == "page" else "#ff7f0e"
            peak = float(g["max_burn"].max())
            for i, (s0, s1) in enumerate(spans):
                fig.add_shape(type="rect", x0=s0, x1=s1, xref="x", y0=0, y1=1, yref="paper",
                              fillcolor=color, opacity=0.08, line_width=0, layer="below")  # fmt: skip
                if i == 0:
                    fig.add_annotation(x=s0, y=0.035 * k_sev, xref="x", yref="paper", showarrow=False,
                                       xanchor="left", yanchor="bottom",
                                       text=f"SLO burn: {esc(sev)} alert (peak {peak:.1f}×)",
                                       font={"size": 10, "color": color})  # fmt: skip
    if alerts is not None and len(alerts) and alerts["fired_at"].notna().any():
        fired = alerts[alerts["fired_at"].notna()]
        for rec in fired.to_dict("records"):
            sig = str(rec.get("signal", ""))
            r = row_of.get(f"m:{sig}", 1)
            ser = series.get(sig)
            y = 0.0
            if ser is not None and len(ser):
                pos = min(int(ser.index.searchsorted(rec["fired_at"])), len(ser) - 1)
                y = float(ser.iloc[pos])
            fig.add_trace(go.Scatter(
                x=[rec["fired_at"]], y=[y], mode="markers", name=f"alert {esc(rec['rule'])} fired",
                marker={"symbol": "triangle-down", "size": 14, "color": "#d62728"},
                hovertext=[f"{esc(rec['rule'])} ({esc(rec['severity'])}) fired"],
                hoverinfo="text+x",
            ), row=r, col=1)  # fmt: skip
    fig.update_xaxes(title_text="time (UTC)", row=len(rows), col=1)
    base_layout(fig, title=title or "One timeline across sources", height=170 * len(rows) + 140,
                hovermode="x unified")  # fmt: skip
    return fig
