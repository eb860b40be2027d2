"""The README's CI example, run as written (issue 14): exit code, report folder, index, clean stderr."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.notebook


def _ci_command() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = (
        readme.split("In CI, after the load test", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    )
    line = next(x.strip() for x in block.splitlines() if x.strip().startswith("perfnb report"))
    return shlex.split(line)


def test_readme_ci_example_end_to_end(tmp_path) -> None:
    cmd = _ci_command()
    assert cmd[:4] == ["perfnb", "report", "--loadtest", "out/locust"]
    # the layout the example assumes: this run's Locust CSVs under out/, last week's in perf-baseline/
    (tmp_path / "out").mkdir()
    (tmp_path / "perf-baseline").mkdir()
    for f in (ROOT / "data" / "samples" / "demo").glob("locust_*.csv"):
        shutil.copy(f, tmp_path / "out" / f.name)
    for f in (ROOT / "data" / "samples" / "demo-healthy").glob("locust_*.csv"):
        shutil.copy(f, tmp_path / "perf-baseline" / f.name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "perfnb", *cmd[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    # the demo run has warnings and critical findings: --fail-on warning fails the job
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "KeyboardInterrupt" not in proc.stderr and "Traceback" not in proc.stderr
    reports = tmp_path / "perf-reports"
    assert (reports / "index.html").is_file()
    (folder,) = [p for p in reports.iterdir() if p.is_dir()]
    summary = json.loads((folder / "report.json").read_text())
    assert summary["status"] == "done" and summary["verdict"] == "fail"
    assert {nb["notebook"] for nb in summary["notebooks"]} == {
        "loadtest_report",
        "performance_report",
    }
    for nb in summary["notebooks"]:
        params = (folder / nb["html"]).parent / "parameters.yaml"
        assert "data/samples" not in params.read_text()
