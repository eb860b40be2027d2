"""Execute every notebook of the suite with its default parameters (the bundled samples) via papermill."""

from __future__ import annotations

import pytest

from perfnb.report.record import read_records
from perfnb.report.run import ExitCode, list_notebooks, run_notebook

NOTEBOOKS = list_notebooks()

pytestmark = [pytest.mark.notebook, pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_on_sample_data(notebook, tmp_path) -> None:
    result = run_notebook(notebook, {}, output_dir=tmp_path, fail_on="critical")
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.message
    records = read_records(result.notebook)
    assert "findings" in records
    html = result.html.read_text(encoding="utf-8")
    assert "<img" in html or "<svg" in html, "the report shows at least one figure"
    assert (result.folder / "findings.json").is_file()


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
    assert "aggregated requests=255" in html  # the three workers' files are one run


def test_metrics_trends_with_the_streaming_engine(tmp_path) -> None:
    """Issue 9, metrics half: the metrics notebook downsamples with scan_metrics when asked to."""
    nb = next(n for n in NOTEBOOKS if n.stem == "metrics_trends")
    params = {"engine": "stream", "freq": "10s", "window": "30s"}
    result = run_notebook(nb, params, output_dir=tmp_path / "out")
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.message
    assert "findings" in read_records(result.notebook)
