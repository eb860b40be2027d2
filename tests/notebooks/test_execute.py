"""Execute every notebook of the suite with its default parameters (the bundled samples) via papermill.

Every report passes the visible-text scan (no NaN/None/reprs/warnings/long floats), shows each finding's
title once below its header, and the performance report's first screen states the verdict and names the
top bottleneck with its location (issue 16).
"""

from __future__ import annotations

import re

import pytest

from perfnb.findings import Findings
from perfnb.report.html import group_findings, split_location
from perfnb.report.record import read_records
from perfnb.report.run import ExitCode, list_notebooks, project_root, run_notebook
from tests.report.visible import body_after_header, problems, visible_text

NOTEBOOKS = list_notebooks()

pytestmark = [pytest.mark.notebook, pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_on_sample_data(notebook, tmp_path) -> None:
    result = run_notebook(notebook, {}, output_dir=tmp_path, fail_on="critical", defaults=True)
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.message
    records = read_records(result.notebook)
    assert "findings" in records
    html = result.html.read_text(encoding="utf-8")
    assert "<img" in html or "<svg" in html, "the report shows at least one figure"
    assert (result.folder / "findings.json").is_file()
    check_report(html, Findings.from_json(result.folder / "findings.json"), result.exit_code)


def check_report(html: str, findings: Findings, exit_code: int) -> None:
    """The checks every report passes (issue 16's acceptance)."""
    assert problems(html) == [], problems(html)[:5]
    text = visible_text(html)
    first = text[:1500]
    verdict = {ExitCode.OK: ("PASS", "WARN"), ExitCode.FINDINGS: ("FAIL",)}[ExitCode(exit_code)]
    assert any(v in first for v in verdict), first
    assert "status: ok" not in text
    body = body_after_header(html)
    titles = [re.sub(r"\s*\(×\d+\)$", "", g.worst.title) for g in group_findings(findings)]
    for title in set(titles):
        # once per finding: two places with the same problem (node 2 and node 4) are two rows
        n = sum(t == title or title in t for t in titles)
        assert body.count(title) == n, f"{title!r} appears {body.count(title)} times, not {n}"
    strong = [g for g in group_findings(findings) if g.worst.severity >= 2]
    if strong:
        where, _ = split_location(strong[0].worst.location)
        assert "Top bottleneck:" in first and where in first, first


def test_performance_report_first_screen_names_the_bottleneck(tmp_path) -> None:
    """The demo: verdict and top bottleneck (a plan node or statement) on the first screen."""
    nb = next(n for n in NOTEBOOKS if n.stem == "performance_report")
    result = run_notebook(nb, {}, output_dir=tmp_path, defaults=True)
    first = visible_text(result.html.read_text(encoding="utf-8"))[:1500]
    assert result.exit_code == ExitCode.FINDINGS
    assert "FAIL" in first and "critical" in first
    assert re.search(
        r"Top bottleneck: .*(Seq Scan on orders|statement time).* at (node \d|queryid)", first
    )


@pytest.mark.parametrize("where", ["notebooks", "elsewhere"])
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_on_its_defaults_wherever_the_kernel_starts(notebook, where, tmp_path) -> None:
    """Issue 14: `papermill --cwd notebooks` (JupyterLab's Run All) and from an unrelated folder."""
    import papermill

    cwd = project_root() / "notebooks" if where == "notebooks" else tmp_path
    out = tmp_path / f"{notebook.stem}.ipynb"
    papermill.execute_notebook(
        str(notebook),
        str(out),
        cwd=str(cwd),
        kernel_name="python3",
        progress_bar=False,
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )
    assert "findings" in read_records(out)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_malformed_input_gives_format_error(notebook, tmp_path) -> None:
    from perfnb.report.run import notebook_parameters

    params = notebook_parameters(notebook)
    path_params = [
        n for n in params if n.endswith("_path") and params[n]["default"] not in ("''", '""', "")
    ]
    if not path_params:
        pytest.skip("no path parameter with a default")
    bad = tmp_path / "garbage.json"
    bad.write_text('{"this": "is not any perfnb format"}\n')
    result = run_notebook(notebook, {path_params[0]: str(bad)}, output_dir=tmp_path)
    assert result.exit_code == ExitCode.INPUT, result.message
    assert str(bad) in result.message


@pytest.mark.parametrize("engine", ["stream", "dask"])
def test_loadtest_report_on_a_folder_of_worker_files(engine, tmp_path, corpus) -> None:
    """Issue 9: the load-test notebook takes a folder of worker files and an ``engine`` parameter."""
    if engine == "dask":
        pytest.importorskip("distributed")
    jtl = corpus / "loadtests" / "jmeter" / "apache_jmeter_HTMLReportTestFile.csv"
    header, *rows = jtl.read_text().splitlines()
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for i in range(3):
        (fleet / f"worker{i}.jtl").write_text("\n".join([header, *rows[i::3]]) + "\n")
    nb = next(n for n in NOTEBOOKS if n.stem == "loadtest_report")
    result = run_notebook(
        nb, {"loadtest_path": str(fleet), "engine": engine}, output_dir=tmp_path / "out"
    )
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.message
    html = result.html.read_text(encoding="utf-8")
    # the three workers' files are one run
    assert re.search(r"requests \(aggregated\)</th><td[^>]*>255<", html)
    assert problems(html) == []


def test_metrics_trends_with_the_streaming_engine(tmp_path) -> None:
    """Issue 9, metrics half: the metrics notebook downsamples with scan_metrics when asked to."""
    nb = next(n for n in NOTEBOOKS if n.stem == "metrics_trends")
    params = {"engine": "stream", "freq": "10s", "window": "30s"}
    result = run_notebook(nb, params, output_dir=tmp_path / "out", defaults=True)
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.message
    assert "findings" in read_records(result.notebook)


def test_plan_review_on_a_log_with_the_streaming_engine(tmp_path) -> None:
    """Issue 20.2: plan_review reads a server log in bounded memory with ``log_engine="stream"``."""
    nb = next(n for n in NOTEBOOKS if n.stem == "plan_review")
    log = project_root() / "data" / "samples" / "plans" / "auto_explain" / "workload.log"
    params = {"plan_path": str(log), "log_engine": "stream"}
    result = run_notebook(nb, params, output_dir=tmp_path / "out")
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.message
    html = result.html.read_text(encoding="utf-8")
    assert "33 plan(s) in the log, read in bounded memory: kept the worst of each of 10" in html
    assert "workload.log at 2026-12-03 " in html  # kept plans are named by their log time
    assert problems(html) == []


def test_report_over_real_outputs(tmp_path) -> None:
    """Issue 16: `perfnb report` over real Locust + auto_explain + cProfile + Prometheus outputs."""
    from perfnb.report.suite import run_report

    demo = project_root() / "data" / "samples" / "demo"
    result = run_report(
        {
            "profile": str(demo / "profile.pstats"),
            "plans": str(demo / "postgresql.json"),
            "loadtest": str(demo / "locust"),
            "metrics": str(demo / "prometheus"),
        },
        output_dir=tmp_path,
    )
    assert result.exit_code == ExitCode.FINDINGS
    for run in result.runs:
        check_report(run.html.read_text(encoding="utf-8"), run.findings, run.exit_code)
    overall = next(r for r in result.runs if r.notebook.stem == "performance_report")
    first = visible_text(overall.html.read_text(encoding="utf-8"))[:1500]
    assert "FAIL" in first
    assert re.search(
        r"Top bottleneck: .*Seq Scan on orders.* at \S*\s?node \d+: .*Seq Scan on orders", first
    )
    index = result.index.read_text(encoding="utf-8")
    assert index.count(">performance_report</a>") == 1 and "v-fail" in index
