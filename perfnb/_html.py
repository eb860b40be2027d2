"""Small HTML builders (core layer), every one escaping the text it did not generate.

Untrusted text (SQL, labels, function names, URLs, file names) reaches reports through findings and
tables; everything here passes it through :func:`html.escape` with quotes, so ``<script>`` shows as text.
:mod:`perfnb.plot` and the models' ``_repr_html_`` use these helpers; :mod:`perfnb.report.html`
re-exports :func:`esc` and builds the findings tables.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["esc", "summary_table"]


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


def summary_table(title: str, rows: Mapping[str, Any]) -> str:
    """A titled two-column table (what a model's ``_repr_html_`` shows in JupyterLab); all text escaped."""
    body = "".join(
        f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{esc(_fmt(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<div class='perfnb-model'><b>{esc(title)}</b><table>{body}</table></div>"
