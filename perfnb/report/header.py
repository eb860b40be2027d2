"""The first screen of every report: the verdict, the sources and time window, the top bottlenecks, contents.

:func:`verdict` turns findings and the run's outcome into ``pass``/``warn``/``fail``/``error`` the same way
the exit code does (``fail`` exactly when ``perfnb run`` exits 1, ``error`` when the notebook did not run to
the end); :func:`header_html` builds the header that :func:`perfnb.report.render.render_html` puts above
the notebook's sections. Every string that came from data is escaped here.

Entry points: :func:`verdict`, :func:`header_html`, :func:`headings`, :class:`Header`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfnb.findings import Findings, Severity
from perfnb.report.format import fmt_value, severity_badge
from perfnb.report.html import esc, group_findings, key_values, source_of, split_location

__all__ = ["VERDICTS", "Header", "header_html", "headings", "verdict"]

#: Verdict → what it means, shown beside it.
VERDICTS = {
    "pass": "no finding at warning or above",
    "warn": "findings to look at, none at or above the fail-on level",
    "fail": "findings at or above the fail-on level",
    "error": "the notebook did not run to the end",
}


def verdict(findings: Findings, *, fail_on: Severity, failed: bool = False) -> str:
    """The verdict of a run, consistent with its exit code.

    ``error`` if the run failed; ``fail`` if a finding is at or above *fail_on* (exit code 1);
    ``warn`` if one is at warning or above; else ``pass``.

    Examples
    --------
    >>> verdict(Findings(), fail_on=Severity.critical)
    'pass'
    """
    if failed:
        return "error"
    top = findings.max_severity
    if top is not None and top >= fail_on:
        return "fail"
    if top is not None and top >= Severity.warning:
        return "warn"
    return "pass"


@dataclass
class Header:
    """What the header shows."""

    title: str
    verdict: str
    findings: Findings
    fail_on: Severity
    exit_code: int
    started: dt.datetime
    sources: Mapping[str, str] = field(default_factory=dict)
    window: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    toc: Sequence[tuple[str, str]] = ()
    top_n: int = 3


def headings(markdown_sources: Iterable[str]) -> list[tuple[str, str]]:
    """``(anchor, text)`` of the level-2 headings, with the ids nbconvert gives them (spaces → ``-``)."""
    out = []
    for text in markdown_sources:
        for line in text.splitlines():
            m = re.match(r"^##\s+(.+?)\s*#*\s*$", line)
            if m:
                title = re.sub(r"[`*]", "", m.group(1))
                out.append((title.replace(" ", "-"), title))
    return out


def _short_path(value: str) -> str:
    """The last two parts of a local path (a report needn't show the machine's folders)."""
    if "://" in value or not value:
        return value
    parts = Path(value).parts
    return "/".join(parts[-2:]) if len(parts) > 1 else value


def _counts(findings: Findings) -> str:
    groups = group_findings(findings)
    counts = {
        s.name: sum(g.worst.severity == s for g in groups) for s in sorted(Severity, reverse=True)
    }
    text = " · ".join(f"{n:,} {name}" for name, n in counts.items() if n)
    return text or "no findings"


def _card(group: Any) -> str:
    f = group.worst
    where, plan = split_location(f.location)
    count = f" (×{group.count:,})" if group.count > 1 else ""
    plan_html = f'<div class="perfnb-card-plan">in {esc(plan)}</div>' if plan else ""
    run = f" · run {esc(', '.join(group.runs[:2]))}" if group.runs else ""
    return (
        f'<div class="perfnb-card perfnb-card-{esc(f.severity.name)}">'
        f"<div>{severity_badge(f.severity.name)} <small>{esc(source_of(f.rule))}{run}</small></div>"
        f'<div class="perfnb-card-what">{esc(group.title)}{esc(count)}</div>'
        f'<div class="perfnb-card-where">where: <b>{esc(where) or "—"}</b></div>{plan_html}'
        f'<div class="perfnb-card-bad">{key_values(f.evidence, limit=3)}</div>'
        f'<div class="perfnb-card-do">what to do: {esc(f.recommendation) or "—"}</div>'
        "</div>"
    )


def header_html(h: Header) -> str:
    """The header's HTML: verdict line, counts, sources and window, top bottleneck cards, contents."""
    groups = [g for g in group_findings(h.findings) if g.worst.severity >= Severity.warning]
    local = h.started.astimezone()
    when = f"{local:%a %d %b %Y %H:%M} {local.tzname() or ''}".strip()
    lines = [
        f'<header class="perfnb-header perfnb-verdict-{esc(h.verdict)}">',
        f'<div class="perfnb-title">{esc(h.title)}</div>',
        f'<div class="perfnb-verdict"><span class="perfnb-verdict-word">{esc(h.verdict.upper())}</span> '
        f"{esc(_counts(h.findings))}"
        f" <small>(fail on {esc(h.fail_on.name)} · exit code {h.exit_code} · "
        f"{esc(VERDICTS.get(h.verdict, ''))})</small></div>",
    ]
    if groups:
        top = groups[0].worst
        where, _ = split_location(top.location)
        lines.append(
            f'<p class="perfnb-top">Top bottleneck: <b>{esc(groups[0].title)}</b>'
            + (f" at <b>{esc(where)}</b>" if where else "")
            + ".</p>"
        )
    if h.message and h.verdict == "error":
        lines.append(f'<p class="perfnb-error">{esc(h.message)}</p>')
    meta = []
    if h.sources:
        src = ", ".join(
            f'{esc(k)}: <code title="{esc(v)}">{esc(_short_path(v))}</code>'
            for k, v in h.sources.items()
        )
        meta.append(f"sources: {src}")
    start, end = h.window.get("start"), h.window.get("end")
    if start and end:
        meta.append(f"data from {esc(fmt_value(_ts(start)))} to {esc(fmt_value(_ts(end)))}")
    meta.append(f"run {esc(when)}")
    lines.append(f'<p class="perfnb-meta">{" · ".join(meta)}</p>')
    if groups:
        cards = "".join(_card(g) for g in groups[: h.top_n])
        lines.append(f'<div class="perfnb-cards">{cards}</div>')
    if h.toc:
        items = "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t in h.toc)
        lines.append(f'<nav class="perfnb-toc"><b>Contents</b><ol>{items}</ol></nav>')
    lines.append("</header>")
    return "\n".join(lines)


def _ts(value: Any) -> Any:
    import pandas as pd

    try:
        return pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
