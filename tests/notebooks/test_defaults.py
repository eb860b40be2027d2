"""Issue 14: a bundled sample never enters a user's report; a run takes only the inputs it was given."""

from __future__ import annotations

import shutil

import pytest
import yaml
from click.testing import CliRunner

from perfnb.cli import cli
from perfnb.findings import Findings
from perfnb.report.run import ExitCode
from perfnb.report.suite import run_report
from tests.conftest import ROOT

pytestmark = pytest.mark.notebook
SAMPLES = ROOT / "data" / "samples"


def _no_sample_named(params_file) -> None:
    text = params_file.read_text(encoding="utf-8")
    assert "data/samples" not in text and "samples:" not in text, text


def test_a_report_over_one_input_holds_findings_about_it_only(tmp_path) -> None:
    cache = tmp_path / "in" / "memcached_stats.txt"
    cache.parent.mkdir()
    shutil.copy(SAMPLES / "cache" / "memcached_stats.txt", cache)
    result = run_report({"cache": str(cache)}, output_dir=tmp_path / "reports")
    assert {r.notebook.stem for r in result.runs} == {"web_vitals", "performance_report"}
    for run in result.runs:
        assert run.ok, run.message
        _no_sample_named(run.folder / "parameters.yaml")
        params = yaml.safe_load((run.folder / "parameters.yaml").read_text())
        assert params["cache_path"] == str(cache)
        found = Findings.from_json(run.folder / "findings.json")
        assert all(f.rule.startswith("CA") for f in found), [f.rule for f in found]
    top = max((r.findings.max_severity for r in result.runs if r.findings), default=None)
    assert result.exit_code == (ExitCode.FINDINGS if top is not None and top >= 3 else ExitCode.OK)


def test_perfnb_run_sets_every_input(tmp_path) -> None:
    prof = tmp_path / "after.prof"
    shutil.copy(SAMPLES / "profiles" / "cprofile_after.prof", prof)
    result = CliRunner().invoke(
        cli, ["run", "profile_hotspots", "-p", "profile_path", str(prof), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code in (0, 1), result.output
    folder = next((tmp_path / "o" / "profile_hotspots").iterdir())
    _no_sample_named(folder / "parameters.yaml")
    params = yaml.safe_load((folder / "parameters.yaml").read_text())
    assert params["baseline_path"] == ""  # no diff against the bundled "before" profile
    rules = {f.rule for f in Findings.from_json(folder / "findings.json")}
    assert "PR006" not in rules  # profile-regression needs a baseline


def test_perfnb_run_without_any_parameter_is_a_usage_error(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["run", "profile_hotspots", "-o", str(tmp_path)])
    assert result.exit_code == ExitCode.USAGE
    assert "no parameter given" in result.output and "perfnb demo" in result.output
