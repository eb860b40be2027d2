"""Plotly figures in notebooks and reports: plotly.js inlined once, everything offline.

Entry points: :func:`show` (display a figure in a notebook), :func:`figure_html` (one figure as an HTML
fragment), :func:`write_html` (a standalone page), plus the small helpers the ``plot_*`` modules share
(:func:`base_layout`, :func:`hover_text`).

Why not a Plotly renderer: ``notebook_connected`` loads plotly.js from a CDN (reports must open offline) and
``notebook`` wraps the library in require.js calls that our nbconvert template leaves out. :func:`show`
emits a plain ``text/html`` output instead: the first figure a kernel shows carries plotly.js inline
(~4.8 MB), later ones only their ``<div>`` and a ``Plotly.newPlot`` call, so a papermill report holds the
library exactly once. JupyterLab runs the same script when the notebook is trusted.

Untrusted text (function names, SQL, labels, URLs) goes into figures only through :func:`esc`: Plotly
renders a subset of HTML in text and hover labels and decodes entities, so an escaped ``<script>`` shows
as text. Plotly's own JSON encoder escapes ``<``, ``>`` and ``/`` inside the ``<script>``.
"""

from __future__ import annotations

import html
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


__all__ = [
    "CONFIG",
    "SEARCH_JS",
    "base_layout",
    "esc",
    "figure_html",
    "reset",
    "show",
    "write_html",
]

#: Plotly config for every figure: no logo, no "edit in Chart Studio" link, PNG export at 2×.
CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "scrollZoom": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

#: Highlights matching frames; runs after the plot is created (``{plot_id}`` is Plotly's placeholder).
#: Reads only the figure's own data and the user's typed text; writes only colours and a count.
SEARCH_JS = """
(function () {
  var gd = document.getElementById('{plot_id}');
  if (!gd || !window.Plotly || !gd.data || !gd.data[0]) { return; }
  var tr = gd.data[0];
  var base = (tr.marker.colors || []).slice();
  var hay = tr.labels.map(function (l, i) {
    return (String(l) + ' ' + String((tr.hovertext || [])[i] || '')).toLowerCase();
  });
  var box = document.getElementById('{plot_id}-search');
  var info = document.getElementById('{plot_id}-count');
  if (!box || !info) { return; }
  function escq(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
  }
  box.addEventListener('input', function () {
    var q = escq(box.value.trim().toLowerCase());
    var n = 0;
    var cols = base.map(function (c, i) {
      if (!q) { return c; }
      if (hay[i].indexOf(q) >= 0) { n += 1; return '#e4007c'; }
      return '#e8e8e8';
    });
    Plotly.restyle(gd, {'marker.colors': [cols]}, [0]);
    info.textContent = q ? (n + ' matching frame' + (n === 1 ? '' : 's')) : '';
  });
})();
"""

_state = {"js_sent": False}


def esc(value: object, limit: int = 200) -> str:
    """Escape *value* for a Plotly text or hover label, cut to *limit* characters.

    Examples
    --------
    >>> esc("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    """
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _esc(text)


def reset() -> None:
    """Forget that plotly.js was sent (the next :func:`show` inlines it again)."""
    _state["js_sent"] = False


def base_layout(fig: go.Figure, *, title: str, height: int = 420, **layout: Any) -> go.Figure:
    """Common look: a title, white template, compact margins, automargin on every axis."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        template="plotly_white",
        height=height,
        margin={"l": 70, "r": 30, "t": 60, "b": 50},
        hoverlabel={"align": "left"},
        font={"size": 12},
        **layout,
    )
    # automargin keeps long tick labels inside the figure; tickangle "auto" rotates crowded ones
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def figure_html(fig: go.Figure, *, include_plotlyjs: bool = False, div_id: str = "") -> str:
    """*fig* as an HTML fragment (a ``<div>`` and its script); plotly.js inline when asked."""
    meta = fig.layout.meta
    search = isinstance(meta, dict) and bool(meta.get("perfnb_search"))
    div_id = div_id or f"perfnb-{uuid.uuid4().hex[:12]}"
    # the search box is static HTML (inserting it from script after layout left JupyterLab's
    # table-cell outputs too short, with a scrollbar); the script only wires it up
    bar = (
        f'<div style="margin:4px 0"><input type="search" id="{div_id}-search" '
        'placeholder="Search frames (name or file)" aria-label="Search frames" '
        'style="padding:3px 6px;width:260px;font:13px sans-serif"> '
        f'<span id="{div_id}-count" style="font:13px sans-serif;color:#555"></span></div>'
        if search
        else ""
    )
    return bar + str(
        fig.to_html(
            post_script=SEARCH_JS if search else None,
            full_html=False,
            include_plotlyjs=include_plotlyjs,
            config=CONFIG,
            div_id=div_id,
            validate=False,
        )
    )


class FigureView:
    """A displayable wrapper: ``text/html`` with plotly.js inline the first time in this kernel."""

    def __init__(self, fig: go.Figure) -> None:
        self.figure = fig

    def _repr_html_(self) -> str:
        first = not _state["js_sent"]
        _state["js_sent"] = True
        return figure_html(self.figure, include_plotlyjs=first)


def show(fig: go.Figure) -> None:
    """Display *fig* in the running notebook (plotly.js inlined with the first figure only).

    Outside IPython this does nothing; use :func:`write_html` for a standalone file.
    """
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency through ipykernel
        return
    display(FigureView(fig))  # type: ignore[no-untyped-call]


def write_html(
    figs: go.Figure | list[go.Figure],
    path: str | os.PathLike[str],
    *,
    title: str,
    intro: str = "",
) -> Path:
    """Write one self-contained HTML page holding *figs* (plotly.js inline once) and return its path.

    *title* and *intro* are plain text and escaped.
    """
    items = figs if isinstance(figs, list) else [figs]
    parts = [figure_html(f, include_plotlyjs=i == 0) for i, f in enumerate(items)]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(title)}</title>"
        "<style>body{font:14px/1.4 system-ui,sans-serif;margin:16px auto;max-width:1400px}</style>"
        f"</head><body><h1>{_esc(title)}</h1>"
        + (f"<p>{_esc(intro)}</p>" if intro else "")
        + "\n".join(parts)
        + "</body></html>\n"
    )
    out = Path(path)
    out.write_text(page, encoding="utf-8")
    return out
