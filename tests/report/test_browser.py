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
