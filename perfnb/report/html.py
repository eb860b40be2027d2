"""Small HTML builders for reports, every one escaping the text it did not generate.

Untrusted text (SQL, labels, function names, URLs, file names) reaches reports through findings and
tables; everything here passes it through :func:`html.escape` with quotes, so ``<script>`` shows as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfnb.findings import Finding, Findings

__all__ = [
    "FindingGroup",
    "esc",
    "findings_table",
    "group_findings",
    "key_values",
    "source_of",
    "split_location",
]


def esc(value: object) -> str:
    """Escape *value* for HTML text and attribute values.

    Examples
    --------
    >>> esc('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


#: what a rule code's prefix reads (the "source" column of findings tables)
SOURCES = {
    "CA": "cache",
    "LT": "load test",
    "MT": "metrics",
    "PG": "PostgreSQL",
    "PR": "profile",
    "WV": "web vitals",
}


def source_of(rule: str) -> str:
    """The kind of input a rule reads, from its code's prefix (``PG001`` → ``PostgreSQL``)."""
    return SOURCES.get(rule[:2].upper(), rule.rstrip("0123456789") or "—")


def split_location(location: str) -> tuple[str, str]:
    """``(where, plan)``: plan rules write ``node 2: Seq Scan on t — SELECT …``; the query is the plan."""
    where, sep, plan = location.partition(" — ")
    return (where, plan) if sep else (location, "")


@dataclass
class FindingGroup:
    """Findings of one rule at one place (across runs or plans): the worst one and how many there were."""

    worst: Finding
    count: int
    runs: list[str]

    @property
    def title(self) -> str:
        """The worst instance's title without the ``(×N)`` that :meth:`Findings.collapse` appends."""
        return _TIMES.sub("", self.worst.title)


_TIMES = re.compile(r"\s*\(×\d+\)$")


def group_findings(findings: Iterable[Finding]) -> list[FindingGroup]:
    """Group findings by rule and location, most severe first; a collapsed finding counts its repeats."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.rule, f.location), []).append(f)
    out = []
    for repeats in groups.values():
        worst = max(repeats, key=lambda f: (int(f.severity), _magnitude(f)))
        count = sum(int(f.evidence.get("occurrences", 1) or 1) for f in repeats)
        runs = sorted({f.run for f in repeats if f.run})
        out.append(FindingGroup(worst, count, runs))
    out.sort(
        key=lambda g: (
            -int(g.worst.severity),
            _CAUSE_FIRST.get(g.worst.rule[:2].upper(), 9),
            -_magnitude(g.worst),
            g.worst.rule,
        )
    )
    return out


#: Within a severity, findings that name a cause (a plan node, a statement, a function, the cache)
#: come before the symptoms they produce (latency shifts, failed requests, slow pages).
_CAUSE_FIRST = {"PG": 0, "PR": 1, "CA": 2, "LT": 3, "MT": 4, "WV": 5}


def _magnitude(f: Finding) -> float:
    """How bad, for ordering equals: the first ratio or duration in the evidence."""
    for key in ("self_ratio", "time_ratio", "error_ratio", "change_ratio", "removed_ratio"):
        v = f.evidence.get(key)
        if isinstance(v, int | float) and v == v:
            return float(v)
    return 0.0


def key_values(evidence: Mapping[str, Any], *, limit: int = 6) -> str:
    """Evidence as an escaped list of ``name: value`` with units (tables and long lists summarised)."""
    from perfnb.report.format import _label, fmt_value

    parts = []
    for k, v in list(evidence.items())[:limit]:
        if k == "occurrences":
            continue
        text = fmt_value(v, str(k))
        if len(text) > 160:
            text = text[:159] + "…"
        parts.append(f'<span class="perfnb-ev">{esc(_label(str(k)))}: <b>{esc(text)}</b></span>')
    return " ".join(parts)


def findings_table(findings: Findings | Iterable[Any]) -> str:
    """An HTML table of findings, grouped by rule and place, most severe first; every string escaped."""
    from perfnb.report.format import severity_badge

    items = list(findings)
    if not items:
        return '<p class="perfnb-none">No findings.</p>'
    rows = []
    for g in group_findings(items):
        f = g.worst
        where, plan = split_location(f.location)
        runs = ", ".join(g.runs[:3]) + (f" +{len(g.runs) - 3}" if len(g.runs) > 3 else "")
        count = f"×{g.count:,}" if g.count > 1 else ""
        rows.append(
            "<tr>"
            f"<td>{severity_badge(f.severity.name)}</td>"
            f'<td><b>{esc(g.title)}</b> <span class="perfnb-count">{esc(count)}</span>'
            f"<br><small><code>{esc(f.rule)}</code> {esc(f.name)}</small></td>"
            f"<td>{esc(where) or '—'}</td>"
            f"<td>{esc(source_of(f.rule))}</td>"
            f"<td>{esc(runs) or '—'}</td>"
            f'<td class="perfnb-plan">{esc(plan) or "—"}</td>'
            f"<td>{key_values(f.evidence)}</td>"
            f"<td>{esc(f.recommendation) or '—'}</td>"
            "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "severity",
            "finding",
            "where",
            "source",
            "run",
            "plan",
            "evidence",
            "what to do",
        )
    )
    return (
        '<table class="perfnb-findings"><thead><tr>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
