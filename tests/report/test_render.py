"""HTML rendering: escaped untrusted text, self-contained, titled, code hidden."""

from __future__ import annotations

import re

import nbformat

from perfnb.findings import Finding, Findings, Severity
from perfnb.report.record import MIME, read_records
from perfnb.report.render import render_html

EVIL = '<script>alert(1)</script>"onmouseover="alert(2)'


def _executed_notebook() -> nbformat.NotebookNode:
    """A notebook as papermill would leave it, with a findings output and a figure."""
    findings = Findings(
        [Finding(rule="T1", name="x", severity=Severity.critical, title=EVIL, location=EVIL)]
    )
    nb = nbformat.v4.new_notebook()
    nb.metadata["title"] = "Report <title> & co"
    code = nbformat.v4.new_code_cell("secret_code_marker = 1")
    code.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/html": findings._repr_html_(),
                MIME: {"name": "findings", "data": findings.to_dict()},
                "text/plain": repr(findings),
            },
        ),
        nbformat.v4.new_output(
            "display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
        ),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), code]
    return nb


def test_untrusted_text_is_escaped_and_code_hidden() -> None:
    html = render_html(_executed_notebook(), banner=EVIL)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # nbconvert re-serialises text nodes (&quot; becomes "), which is harmless in text; no tag may carry it
    assert not re.search(r"<[^>]*\bonmouseover=", html)
    assert "secret_code_marker" not in html
    assert "<title>Report &lt;title&gt; &amp; co</title>" in html
    assert 'src="data:image/png;base64,' in html


def test_self_contained() -> None:
    html = render_html(_executed_notebook())
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"<link[^>]*stylesheet", html)
    assert "mathjax" not in html.lower() or "cdn" not in html.lower()
    assert not re.search(r"https?://(?!www\.w3\.org)[^\"' ]+\.(js|css)\b", html)


def test_include_code_for_exports() -> None:
    assert "secret_code_marker" in render_html(_executed_notebook(), include_code=True)


def test_records_round_trip() -> None:
    records = read_records(_executed_notebook())
    assert records["findings"]["max_severity"] == "critical"
