"""Reports in a real headless Chromium: they load offline, images decode, no console errors, no script."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
import pytest

from perfnb.report.render import render_html
from tests import browser
from tests.report.test_render import EVIL, _executed_notebook

pytestmark = pytest.mark.service


def _png() -> str:
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def test_report_renders_offline_in_chromium(tmp_path) -> None:
    nb = _executed_notebook()
    nb.cells[1].outputs[1] = nbformat.v4.new_output(
        "display_data", data={"image/png": _png(), "text/plain": "fig"}
    )
    page = tmp_path / "report.html"
    render_html(nb, page, banner=EVIL)
    result = browser.load(page)
    assert result.console == [], result.console
    assert result.images == 1 and result.decoded == 1
    assert result.scripts == 1, "only the test's probe script may be on the page"
    assert "alert(1)" in result.dom and "<script>alert(1)" not in result.dom
    assert "secret_code_marker" not in result.dom


@pytest.mark.notebook
def test_a_real_report_opens_offline_with_its_header(tmp_path) -> None:
    """A report of the suite (header, cards, contents, formatted tables, figures) in a real browser."""
    import re

    from perfnb.report.run import list_notebooks, run_notebook
    from tests.report.visible import problems

    nb = next(p for p in list_notebooks() if p.stem == "profile_hotspots")
    result = run_notebook(nb, {}, output_dir=tmp_path, defaults=True)
    html = result.html.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", html), "off-machine"
    page = browser.load(result.html)
    assert page.console == [], page.console
    assert page.images >= 3 and page.decoded == page.images
    assert "perfnb-header" in page.dom and "Top bottleneck:" in page.dom
    assert 'class="perfnb-toc"' in page.dom
    assert problems(page.dom.split('id="perfnb-probe"')[0]) == []
