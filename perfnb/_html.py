"""Small HTML builders (core layer), every one escaping the text it did not generate.

Untrusted text (SQL, labels, function names, URLs, file names) reaches reports through findings and
tables; everything here passes it through :func:`html.escape` with quotes, so ``<script>`` shows as text.
:mod:`perfnb.findings`, :mod:`perfnb.plot` and the models' ``_repr_html_`` use these helpers; report code
reaches them through :mod:`perfnb.report.html`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfnb.findings import Findings

__all__ = ["esc", "findings_table", "key_values", "summary_table"]


def esc(value: object) -> str:
    """Escape *value* for HTML text and attribute values.

    Examples
    --------
    >>> esc('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        shown = ", ".join(_fmt(v) for v in list(value)[:5])
        return shown + (" …" if len(value) > 5 else "")
    return str(value)


def key_values(evidence: Mapping[str, Any]) -> str:
    """Evidence as an escaped ``name = value`` list (frames summarised by shape)."""
    parts = []
    for k, v in evidence.items():
        if hasattr(v, "shape") and hasattr(v, "columns"):
            text = f"table {v.shape[0]}×{v.shape[1]}"
        else:
            text = _fmt(v)
        if len(text) > 200:
            text = text[:199] + "…"
        parts.append(f"<code>{esc(k)}</code>&nbsp;=&nbsp;{esc(text)}")
    return "<br>".join(parts)


def findings_table(findings: Findings | Iterable[Any]) -> str:
    """An HTML table of findings, most severe first; every string escaped."""
    items = list(findings)
    if not items:
        return '<p class="perfnb-none">No findings.</p>'
    rows = []
    for f in items:
        sev = f.severity.name
        rows.append(
            "<tr>"
            f'<td><span class="perfnb-sev-{esc(sev)}">{esc(sev)}</span></td>'
            f"<td><code>{esc(f.rule)}</code><br>{esc(f.name)}</td>"
            f"<td><b>{esc(f.title)}</b><br><small>{esc(f.location)}</small></td>"
            f"<td>{key_values(f.evidence)}</td>"
            f"<td>{esc(f.recommendation)}</td>"
            "</tr>"
        )
    head = "<tr><th>severity</th><th>rule</th><th>finding</th><th>evidence</th><th>recommendation</th></tr>"
    return f'<table class="perfnb-findings"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def summary_table(title: str, rows: Mapping[str, Any]) -> str:
    """A titled two-column table (what a model's ``_repr_html_`` shows in JupyterLab); all text escaped."""
    body = "".join(
        f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{esc(_fmt(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<div class='perfnb-model'><b>{esc(title)}</b><table>{body}</table></div>"
