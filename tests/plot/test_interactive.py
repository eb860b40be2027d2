"""plotly.js goes into the first figure a kernel shows, and only that one."""

from __future__ import annotations

import plotly.graph_objects as go

from perfnb.plot import interactive


def test_plotly_js_inlined_once_then_reset() -> None:
    interactive.reset()
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    first = interactive.FigureView(fig)._repr_html_()
    second = interactive.FigureView(fig)._repr_html_()
    assert "plotly.js v" in first and "plotly.js v" not in second
    assert "Plotly.newPlot" in second and "<script src=" not in first + second
    interactive.reset()
    assert "plotly.js v" in interactive.FigureView(fig)._repr_html_()
    interactive.reset()


def test_untrusted_text_cannot_close_the_script() -> None:
    fig = go.Figure(go.Scatter(x=[1], y=[1], name="</script><script>alert(1)</script>"))
    html = interactive.figure_html(fig)
    assert "</script><script>alert(1)" not in html


def test_write_html_escapes_title(tmp_path) -> None:
    fig = go.Figure()
    out = interactive.write_html([fig, fig], tmp_path / "x.html", title="<b>t</b>", intro="<i>")
    text = out.read_text()
    assert "&lt;b&gt;t&lt;/b&gt;" in text and "<i>" not in text
    assert text.count("plotly.js v") == 1
