"""The performance report on the demo data finds every planted bottleneck; the healthy baseline passes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import perfnb
from perfnb.cli import cli
from perfnb.report import performance
from perfnb.report.run import ExitCode
from tests import browser
from tests.conftest import SAMPLES

DEMO = SAMPLES / "demo"
HEALTHY = SAMPLES / "demo-healthy"


def _sources(folder, *, plans=True):
    paths = {
        "profile": folder / "profile.pstats",
        "plans": folder / "postgresql.json" if plans else "",
        "statements": folder / "pg_stat_statements.csv",
        "loadtest": folder / "locust",
        "lighthouse": folder / "lighthouse.json",
        "cache": folder / "redis_info.txt",
        "metrics": folder / "prometheus",
    }
    return performance.load_sources({k: str(v) for k, v in paths.items() if v})


@pytest.fixture(scope="module")
def demo():
    sources = _sources(DEMO)
    findings = perfnb.Findings()
    for obj in sources.values():
        findings = findings + perfnb.check(obj)
    return sources, findings


def _where(findings, rule):
    return [f.location + " " + f.title for f in findings.by_rule(rule)]


def test_finds_every_planted_bottleneck(demo) -> None:
    _, findings = demo
    # 1. the query without its index: a Seq Scan on orders filtering on customer_email
    seq = findings.by_rule("seq-scan-filter")
    assert any("orders" in f.location and "customer_email" in f.recommendation for f in seq)
    # 2. N+1: the per-order order_items query
    assert any("order_items" in w for w in _where(findings, "n-plus-one"))
    # 3. the CPU-heavy function
    assert any("price_histogram" in w for w in _where(findings, "own-code-hot-spot"))
    # 4. the endpoint failing for some inputs
    assert any("/product" in f.location for f in findings.by_rule("error-ratio"))
    # 5. the cache with a poor hit ratio
    assert findings.by_rule("low-cache-hit-ratio")


def test_summary_and_timeline(demo) -> None:
    sources, _ = demo
    summary = performance.standard_summary(sources).set_index("metric")
    assert summary.loc["error ratio", "status"] == "fail"
    assert summary.filter(like="cache hit ratio", axis=0)["status"].iloc[0] == "fail"
    story = performance.story(sources)
    assert story, "the timeline finds at least one latency jump between load steps"
    assert any("Seq Scan on orders" in s for s in story)
    assert any("when users went from" in s for s in story)
    assert any(s.startswith("Prometheus: p95_latency_s shifted") and "users" in s for s in story)


def test_healthy_baseline_has_no_critical_finding() -> None:
    sources = _sources(HEALTHY, plans=False)
    for obj in sources.values():
        worst = perfnb.check(obj).max_severity
        assert worst is None or worst < perfnb.Severity.critical, (obj, perfnb.check(obj))


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize(
    ("folder", "plans", "code"), [(DEMO, True, ExitCode.FINDINGS), (HEALTHY, False, ExitCode.OK)]
)
def test_perfnb_report_fail_on_critical(folder, plans, code, tmp_path) -> None:
    args = [
        "report",
        "--profile",
        str(folder / "profile.pstats"),
        "--loadtest",
        str(folder / "locust"),
        "--statements",
        str(folder / "pg_stat_statements.csv"),
        "--lighthouse",
        str(folder / "lighthouse.json"),
        "--cache",
        str(folder / "redis_info.txt"),
        "--metrics",
        str(folder / "prometheus"),
        "-o",
        str(tmp_path),
        "--fail-on",
        "critical",
    ]
    if plans:
        args += ["--plans", str(folder / "postgresql.json")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output + result.stderr
    assert (tmp_path / "index.html").is_file()
    # the real report, in a real headless Chromium with the network cut off
    (html,) = tmp_path.glob("*/performance_report/*/performance_report.html")
    page = browser.load(html)
    assert page.console == [], page.console
    assert page.images + page.plots >= 2  # static PNGs and Plotly figures
    assert page.decoded == page.images
    # inline scripts only (plotly.js once, the figures, the flame-graph search): nothing loaded
    assert "<script src=" not in html.read_text(encoding="utf-8")
    assert page.drawn == page.plots, "every Plotly figure drew"
    assert "performance.load_sources" not in page.dom, "code cells are hidden"
