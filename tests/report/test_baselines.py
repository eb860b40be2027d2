"""Baselines in the CI workflow: matching by name, and a regression that fails CI (issue 14).

The runs are real Locust runs of the demo shop (data/samples/loadtests/steady and slow: the same test,
the second against a slowed server); "stats only" copies keep Locust's default CSV output and nothing else.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from perfnb.cli import cli
from perfnb.report.baseline import match_baseline
from perfnb.report.run import ExitCode
from tests.conftest import SAMPLES

LT = SAMPLES / "loadtests"


def _locust_csvs(src: Path, dest: Path, prefix: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in src.glob("run_*.csv"):
        if not f.name.endswith("_requests.csv"):  # Locust's default output only, no request log
            shutil.copy(f, dest / f.name.replace("run_", f"{prefix}_", 1))
    return dest / prefix


def test_match_baseline_by_shape(tmp_path) -> None:
    cand = _locust_csvs(LT / "slow", tmp_path / "out", "locust")
    base = _locust_csvs(LT / "steady", tmp_path / "perf-baseline", "locust")
    assert match_baseline(str(cand), tmp_path / "perf-baseline").path == str(base)
    m = match_baseline(str(LT / "slow" / "run_requests.csv"), LT / "steady")
    assert m.path == str(LT / "steady" / "run_requests.csv") and m.reason == "file of the same name"
    m = match_baseline(str(LT / "slow"), tmp_path / "perf-baseline")
    assert m.path == str(tmp_path / "perf-baseline")  # holds Locust CSVs, like the source folder
    m = match_baseline(str(LT / "slow" / "*.csv"), LT / "steady")
    assert m.path == str(LT / "steady" / "*.csv")
    none = match_baseline(str(tmp_path / "out" / "other_stats.csv"), LT / "steady")
    assert none.path is None and "no file 'other_stats.csv'" in none.describe()
    (tmp_path / "empty").mkdir()
    assert match_baseline(str(cand), tmp_path / "empty").path is None


def _findings(out: Path, notebook: str = "loadtest_report") -> list[dict]:
    (path,) = out.glob(f"*/{notebook}/*/findings.json")
    return json.loads(path.read_text())["findings"]


@pytest.mark.notebook
def test_readme_ci_example_fails_on_a_locust_stats_regression(tmp_path, monkeypatch) -> None:
    """The README's CI step, as written, on Locust's default output (stats CSVs only)."""
    _locust_csvs(LT / "slow", tmp_path / "out", "locust")
    _locust_csvs(LT / "steady", tmp_path / "perf-baseline", "locust")
    monkeypatch.chdir(tmp_path)
    args = "report --loadtest out/locust --baseline-dir perf-baseline/ -o perf-reports --fail-on warning"
    result = CliRunner().invoke(cli, args.split())
    assert result.exit_code == ExitCode.FINDINGS, result.output
    assert "baseline for" in result.stderr and "perf-baseline/locust" in result.stderr
    regressions = [f for f in _findings(tmp_path / "perf-reports") if f["rule"] == "LT020"]
    assert {f["location"] for f in regressions} >= {"Total", "/api/search"}
    assert all("no confidence interval" in f["evidence"]["method"] for f in regressions)
    overall = [f for f in _findings(tmp_path / "perf-reports", "performance_report")]
    assert any(f["rule"] == "LT020" for f in overall)


@pytest.mark.notebook
def test_request_log_regression_fails_and_a_a_passes(tmp_path) -> None:
    out = tmp_path / "r"
    slow = CliRunner().invoke(
        cli,
        ["report", "--loadtest", str(LT / "slow" / "run_requests.csv"), "--baseline-dir",
         str(LT / "steady"), "-o", str(out / "slow"), "--fail-on", "warning"],
    )  # fmt: skip
    assert slow.exit_code == ExitCode.FINDINGS, slow.output
    found = [f for f in _findings(out / "slow") if f["rule"] == "LT020"]
    assert "/api/cart" in {f["location"] for f in found}
    assert all("ci_low_ratio" in f["evidence"] or "ci_low_diff" in f["evidence"] for f in found)
    same = CliRunner().invoke(
        cli,
        ["report", "--loadtest", str(LT / "steady" / "run_requests.csv"), "--baseline-dir",
         str(LT / "steady"), "-o", str(out / "same"), "--fail-on", "warning"],
    )  # fmt: skip
    assert not [f for f in _findings(out / "same") if f["rule"] == "LT020"], same.output
