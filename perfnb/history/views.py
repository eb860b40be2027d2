"""Views of a history: per-system sparklines for ``index.html`` and a Plotly trend figure for notebooks.

:func:`index_fragment` is what the report index calls: for each system (and environment) in
``<output>/history.sqlite``, the key numbers (Total p95, throughput, error ratio, Apdex, profile total,
cache hit ratio, Lighthouse score, warning-or-worse findings) as small inline SVG sparklines, each point a
link to its run's report, steps marked (red: regression, green: improvement). No script, no network.

:func:`trend_figure` draws series with Plotly, steps annotated; :func:`figure_html` inlines plotly.js once
and opens a point's report on click.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from perfnb.errors import PerfnbError
from perfnb.history.series import HistorySeries, format_value
from perfnb.history.store import DEFAULT_FILE, History

__all__ = [
    "KEY_SERIES",
    "figure_html",
    "index_fragment",
    "sparkline",
    "system_trends",
    "trend_figure",
]

#: (subject, metric, label) of the numbers shown in the index, in order; subjects ending in ``:`` match
#: any subject with that prefix (the first one found).
KEY_SERIES: tuple[tuple[str, str, str], ...] = (
    ("Total", "p95_s", "p95 (all requests)"),
    ("Total", "throughput_per_s", "throughput"),
    ("Total", "error_ratio", "error ratio"),
    ("Total", "apdex", "Apdex"),
    ("profile", "total_s", "profile total"),
    ("cache:", "hit_ratio", "cache hit ratio"),
    ("page:", "performance_score", "Lighthouse score"),
    ("findings", "critical", "critical findings"),
    ("findings", "warning", "warning findings"),
)

_MAX_POINTS = 60
_STYLE = (
    "<style>.perfnb-trends{margin:1em 0 2em}.perfnb-trends table{width:auto}"
    ".perfnb-trends td{border-bottom:1px solid #eee;padding:2px 10px;vertical-align:middle}"
    ".perfnb-trends .up{color:#b00020}.perfnb-trends .down{color:#1b5e20}"
    ".perfnb-trends svg a circle:hover{r:4}</style>"
)


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def sparkline(
    series: HistorySeries, *, width: int = 180, height: int = 34, link_base: str = ""
) -> str:
    """An inline SVG of the series' last runs: line, one linked point per run, steps marked."""
    runs = series.runs.tail(_MAX_POINTS).reset_index(drop=True)
    y = runs["value"].to_numpy(dtype="float64")
    n = len(y)
    lo, hi = float(np.min(y)), float(np.max(y))
    span = hi - lo or (abs(hi) or 1.0)
    pad = 4

    def px(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def py(v: float) -> float:
        return height - pad - (height - 2 * pad) * ((v - lo) / span if hi > lo else 0.5)

    kinds: dict[int, str] = {}
    if series.direction and len(series) >= 6:
        steps = series.steps()
        offset = len(series) - n
        for _, st in steps.iterrows():
            if int(st["index"]) - offset >= 0:
                kinds[int(st["index"]) - offset] = str(st["kind"])
    points = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(y))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(series.metric)} trend">',
        f'<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="{points}"/>',
    ]
    for i, step_kind in kinds.items():
        color = "#b00020" if step_kind == "regression" else "#1b5e20"
        parts.append(
            f'<line x1="{px(i) - 2:.1f}" x2="{px(i) - 2:.1f}" y1="0" y2="{height}" '
            f'stroke="{color}" stroke-dasharray="2,2"/>'
        )
    for i, row in enumerate(runs.to_dict("records")):
        when = row["started_at"].strftime("%Y-%m-%d %H:%M")
        tip = f"run #{row['run_id']} · {when} · {format_value(float(row['value']), series.unit)}"
        color = {"regression": "#b00020", "improvement": "#1b5e20"}.get(
            kinds.get(int(i), ""), "#1565c0"
        )
        dot = (
            f'<circle cx="{px(int(i)):.1f}" cy="{py(float(row["value"])):.1f}" r="2.5" '
            f'fill="{color}"><title>{_esc(tip)}</title></circle>'
        )
        report = str(row["report"] or "")
        if report:
            href = report if "://" in report else (link_base + report)
            dot = f'<a href="{_esc(href)}">{dot}</a>'
        parts.append(dot)
    parts.append("</svg>")
    return "".join(parts)


def _pick(series: Sequence[HistorySeries], subject: str, metric: str) -> HistorySeries | None:
    for s in series:
        if s.metric != metric:
            continue
        if s.subject == subject or (subject.endswith(":") and s.subject.startswith(subject)):
            return s
    return None


def system_trends(history: History, *, system: str, env: str = "", link_base: str = "") -> str:
    """An HTML table of the key numbers' sparklines for one system and environment ("" if none)."""
    all_series = [
        s
        for s in history.series(system=system, env=env, last_runs=_MAX_POINTS)
        if (s.subject, s.metric) in {(k[0], k[1]) for k in KEY_SERIES}
        or any(
            s.subject.startswith(k[0]) and s.metric == k[1]
            for k in KEY_SERIES
            if k[0].endswith(":")
        )
    ]
    rows = []
    for subject, metric, label in KEY_SERIES:
        s = _pick(all_series, subject, metric)
        if s is None or len(s) < 2:
            continue
        last = float(s.values[-1])
        before = float(np.median(s.values[:-1]))
        delta = ""
        if before and math.isfinite(before) and s.unit != "count":
            change = last / before - 1
            bad = (change > 0) if s.direction == "up" else (change < 0)
            cls = "up" if bad and abs(change) >= 0.05 else ("down" if abs(change) >= 0.05 else "")
            text = "±0%" if abs(change) < 0.005 else f"{change:+.0%}"
            delta = f'<span class="{cls}">{text} vs median of earlier runs</span>'
        rows.append(
            f"<tr><td>{_esc(label)}</td><td>{sparkline(s, link_base=link_base)}</td>"
            f"<td>{_esc(format_value(last, s.unit))}</td><td>{delta}</td>"
            f"<td>{len(s)} runs</td></tr>"
        )
    for f in history.check(system=system, env=env, last_runs=_MAX_POINTS):
        ev = f.evidence
        s = _pick(
            history.series(
                system=system, env=env, subject=str(ev["subject"]), last_runs=_MAX_POINTS
            ),
            str(ev["subject"]),
            str(ev["metric"]),
        )
        if s is None:
            continue
        rows.append(
            f'<tr><td class="up">{_esc(ev["metric"])} {_esc(ev["subject"])}</td>'
            f"<td>{sparkline(s, link_base=link_base)}</td>"
            f"<td>{_esc(format_value(float(ev['newest_value']), s.unit))}</td>"
            f'<td class="up">{float(ev["change_ratio"]):+.0%} since run #{int(ev["step_run_id"])}</td>'
            f"<td>{len(s)} runs</td></tr>"
        )
    if not rows:
        return ""
    title = " · ".join(x for x in (system or "(no system tag)", env) if x)
    return f"<h3>{_esc(title)}</h3><table>{''.join(rows)}</table>"


def index_fragment(output_dir: str | os.PathLike[str]) -> str:
    """The trends section of ``index.html``: one sparkline table per system ("" without a history)."""
    path = Path(output_dir) / DEFAULT_FILE
    if not path.is_file():
        return ""
    try:
        history = History(path, create=False)
    except PerfnbError as err:
        return f'<p class="perfnb-trends">History not shown: {_esc(err)}</p>'
    try:
        runs = history.runs()
        if runs.empty:
            return ""
        blocks = []
        for (system, env), _part in runs.groupby(["system", "env"], sort=True):
            block = system_trends(history, system=str(system), env=str(env))
            if block:
                blocks.append(block)
    finally:
        history.close()
    if not blocks:
        return ""
    return (
        f'{_STYLE}<section class="perfnb-trends"><h2>Trends across runs</h2>'
        "<p>Each point is a run (newest right) and links to its report; dashed lines mark steps "
        "(red: worse, green: better).</p>" + "".join(blocks) + "</section>"
    )


# ------------------------------------------------------------------------------------------------ Plotly


def trend_figure(
    series: Sequence[HistorySeries], *, link_base: str = "", height_per_series: int = 220
) -> Any:
    """A Plotly figure: one panel per series, runs as linked points, steps annotated."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not series:
        return go.Figure()
    fig = make_subplots(
        rows=len(series),
        cols=1,
        shared_xaxes=False,
        subplot_titles=[f"{s.subject} · {s.metric} ({s.system or '-'} {s.env})" for s in series],
        vertical_spacing=min(0.08, 0.3 / max(1, len(series))),
    )
    for k, s in enumerate(series, start=1):
        runs = s.runs
        links = [
            ("" if not r else r if "://" in r else link_base + r)
            for r in runs["report"].astype(str)
        ]
        text = [
            f"run #{rid}<br>{format_value(float(v), s.unit)}<br>{c[:12]}"
            for rid, v, c in zip(runs["run_id"], runs["value"], runs["commit_id"], strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=runs["started_at"],
                y=runs["value"],
                mode="lines+markers",
                name=f"{s.subject} {s.metric}",
                customdata=links,
                text=text,
                hovertemplate="%{text}<br>%{x|%Y-%m-%d %H:%M}<extra>click: open report</extra>",
                showlegend=False,
            ),
            row=k,
            col=1,
        )
        if s.direction and len(s) >= 6:
            for _, st in s.steps().iterrows():
                color = "#b00020" if st["kind"] == "regression" else "#1b5e20"
                x = runs["started_at"].iloc[int(st["index"])]
                fig.add_vline(x=x, line_dash="dash", line_color=color, row=k, col=1)
                ratio = float(st["median_after"]) / float(st["median_before"]) - 1
                fig.add_annotation(
                    x=x,
                    y=float(st["median_before"]),  # low in the panel, clear of its title
                    text=f"{st['kind']} {ratio:+.0%} (run #{int(st['run_id'])})",
                    showarrow=True,
                    ax=50,
                    ay=-20,
                    xanchor="left",
                    arrowcolor=color,
                    font={"color": color},
                    row=k,
                    col=1,
                )
        fig.update_yaxes(title_text=s.unit or "value", row=k, col=1)
    fig.update_layout(
        height=max(300, height_per_series * len(series)),
        margin={"l": 60, "r": 20, "t": 40, "b": 30},
        template="plotly_white",
    )
    return fig


def figure_html(fig: Any, *, div_id: str = "perfnb-history-trends") -> str:
    """The figure as an HTML fragment with plotly.js inlined (offline), a click opening the point's report."""
    post = (
        "var gd=document.getElementById('{plot_id}');"
        "gd.on('plotly_click',function(d){var u=d.points[0].customdata;"
        "if(u){window.open(u,'_blank');}});"
    )
    return str(fig.to_html(include_plotlyjs=True, full_html=False, div_id=div_id, post_script=post))


def pick_series(
    history: History,
    *,
    system: str = "",
    env: str = "",
    subject: str = "",
    metric: str = "",
    findings: Sequence[Any] = (),
) -> list[HistorySeries]:
    """The series a trend view shows: the ones asked for, else the key numbers and any that stepped."""
    if subject or metric:
        return history.series(
            system=system or None, env=env or None, subject=subject or None, metric=metric or None
        )
    everything = history.series(system=system or None, env=env or None)
    chosen: list[HistorySeries] = []
    for f in findings:
        ev = f.evidence
        for s in everything:
            key = (s.system, s.env, s.subject, s.metric)
            if key == (ev.get("system"), ev.get("env"), ev.get("subject"), ev.get("metric")):
                chosen.append(s)
    for key_subject, key_metric, _label in KEY_SERIES[:4]:
        for s in everything:
            if (s.subject, s.metric) == (key_subject, key_metric) and s not in chosen:
                chosen.append(s)
    return chosen


def link_base(folder: str | os.PathLike[str] | None) -> str:
    """A ``file://`` prefix for report links stored relative to *folder* ("" for none)."""
    if not folder:
        return ""
    return Path(folder).resolve().as_uri() + "/"
