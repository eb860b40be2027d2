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


# --- the domain reports with their interactive (Plotly) views -------------------------------------

# what each report must carry: Plotly trace types and layout markers found in its HTML
EXPECTED = {
    "profile_hotspots": ['"type":"icicle"', '"colorscale"'],
    "loadtest_report": ['"matches":"x4"', '"type":"table"', '"type":"scatter"', "USL fit"],
    "metrics_trends": ['"matches":"x4"', "regression", '"type":"scatter"'],
    "performance_report": ['"type":"icicle"', '"matches":"x', "slow statement (auto_explain)"],
    "web_vitals": ['"type":"indicator"', '"type":"table"', '"type":"bar"', "objective 80%"],
    "plan_review": ['class="perfnb-plan"', "<details open"],
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Each domain notebook run once on its samples; the rendered HTML paths by notebook name."""
    from perfnb.report.run import ExitCode, list_notebooks, run_notebook

    out = tmp_path_factory.mktemp("reports")
    done = {}
    for nb in list_notebooks():
        if nb.stem in EXPECTED:
            result = run_notebook(
                nb, {}, output_dir=out / nb.stem, fail_on="critical", defaults=True
            )
            assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.message
            done[nb.stem] = result.html
    return done


@pytest.mark.notebook
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_domain_report_carries_interactive_views(reports, name) -> None:
    html = reports[name].read_text(encoding="utf-8")
    for marker in EXPECTED[name]:
        assert marker in html, f"{name}: {marker!r} missing"
    assert reports[name].stat().st_size <= 8_000_000
    # plotly.js inline exactly once (its licence banner); no script loaded from a URL (the library's
    # own topojson default URL is only used by geo maps, which no view draws)
    assert html.count("plotly.js v") == (0 if name == "plan_review" else 1)
    assert "<script src=" not in html


@pytest.mark.notebook
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_domain_report_loads_offline_without_console_errors(reports, name) -> None:
    result = browser.load(reports[name])
    assert result.console == [], result.console
    assert result.decoded == result.images
    assert result.drawn == result.plots, f"{result.plots - result.drawn} figure(s) did not draw"
    if name != "plan_review":
        assert result.plots >= 1
    if name == "profile_hotspots":
        assert result.search and all(
            s.split("_")[0].isdigit() and int(s.split("_")[0]) > 0 for s in result.search
        ), result.search


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
