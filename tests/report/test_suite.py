"""``perfnb report``: dated folders, report.json, index.html with verdicts, baselines matched by name."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from perfnb.cli import cli
from perfnb.errors import ConfigError
from perfnb.report import suite
from perfnb.report.run import ExitCode
from tests.fixtures.make_notebooks import findings_notebook

pytestmark = pytest.mark.notebook


@pytest.fixture
def fake_suite(tmp_path, monkeypatch):
    folder = tmp_path / "nbs"
    folder.mkdir()
    reader = findings_notebook(folder / "profile_hotspots.ipynb", path_param="profile_path")
    monkeypatch.setattr(suite, "list_notebooks", lambda: [reader])
    return tmp_path


def test_report_folder_index_and_verdicts(tmp_path, monkeypatch) -> None:
    nb = findings_notebook(
        tmp_path / "profile_hotspots.ipynb", path_param="profile_path", read=False
    )
    monkeypatch.setattr(suite, "list_notebooks", lambda: [nb])
    out = tmp_path / "reports"
    first = suite.run_report({"profile": "anything"}, output_dir=out, fail_on="critical")
    assert first.exit_code == ExitCode.OK
    summary = json.loads((first.folder / "report.json").read_text())
    assert summary["verdict"] == "warn"  # a warning below --fail-on: exit 0, but not a clean pass
    assert summary["notebooks"][0]["notebook"] == "profile_hotspots"
    second = suite.run_report({"profile": "anything"}, output_dir=out, fail_on="warning")
    assert second.exit_code == ExitCode.FINDINGS
    index = (out / "index.html").read_text()
    assert index.count('<tr><td class="when">') == 2
    assert "v-fail" in index and "v-warn" in index
    assert "<script" not in index


def test_bad_input_makes_an_error_verdict(fake_suite, tmp_path) -> None:
    bad = tmp_path / "x.txt"
    bad.write_text("unknown\n")
    result = suite.run_report({"profile": str(bad)}, output_dir=tmp_path / "r")
    assert result.exit_code == ExitCode.INPUT
    assert json.loads((result.folder / "report.json").read_text())["verdict"] == "error"


def test_baseline_matched_by_name(fake_suite, tmp_path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "x.txt").write_text("unknown\n")
    (tmp_path / "x.txt").write_text("unknown\n")
    result = suite.run_report(
        {"profile": str(tmp_path / "x.txt")},
        output_dir=tmp_path / "r",
        baseline_dir=tmp_path / "base",
    )
    params = (result.runs[0].folder / "parameters.yaml").read_text()
    assert str(tmp_path / "base" / "x.txt") in params


def test_usage_errors() -> None:
    with pytest.raises(ConfigError, match="no source given"):
        suite.run_report({})
    with pytest.raises(ConfigError, match="unknown source kind"):
        suite.run_report({"bogus": "x"})
    result = CliRunner().invoke(cli, ["report"])
    assert result.exit_code == ExitCode.USAGE
