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
