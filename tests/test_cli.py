"""The command line: exit codes, one-line messages, the run folder's layout, offline HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from perfnb.cli import cli, main
from perfnb.report.run import ExitCode, exit_code_for
from tests.fixtures.make_notebooks import findings_notebook

pytestmark = pytest.mark.notebook


@pytest.fixture
def nb(tmp_path):
    return findings_notebook(tmp_path / "runner_test.ipynb")


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_lists_commands() -> None:
    result = _run("--help")
    assert result.exit_code == 0
    for cmd in ("run", "list", "inspect", "check", "read", "demo"):
        assert cmd in result.output


def test_main_returns_exit_code() -> None:
    assert main(["--help"]) == 0
    assert main(["no-such-command"]) == ExitCode.USAGE


def test_list_shows_notebooks_with_parameter_help() -> None:
    result = _run("list")
    assert result.exit_code == 0, result.output
    for line in result.output.splitlines():
        if line.startswith("  "):
            assert "  # " in line and not line.rstrip().endswith("#"), (
                f"undocumented parameter: {line}"
            )


def test_run_writes_the_folder(nb, tmp_path) -> None:
    out = tmp_path / "reports"
    result = _run("run", str(nb), "-p", "severity", "warning", "-o", str(out))
    assert result.exit_code == ExitCode.OK, result.output
    (folder,) = (out / "runner_test").iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}Z", folder.name)
    names = {p.name for p in folder.iterdir()}
    assert {
        "runner_test.ipynb",
        "runner_test.html",
        "findings.json",
        "parameters.yaml",
        "run.json",
    } <= names
    findings = json.loads((folder / "findings.json").read_text())
    assert findings["max_severity"] == "warning"
    params = yaml.safe_load((folder / "parameters.yaml").read_text())
    assert params["severity"] == "warning"
    html = (folder / "runner_test.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"<script[^>]+src=", html), "external script in report"
    assert not re.search(r"<link[^>]+stylesheet", html), "external stylesheet in report"
    assert "import perfnb" not in html, "code cells must be hidden"
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "ok"


def test_fail_on_severity(nb, tmp_path) -> None:
    out = tmp_path / "r"
    assert (
        _run("run", str(nb), "-p", "severity", "critical", "-o", str(out)).exit_code
        == ExitCode.FINDINGS
    )
    assert (
        _run(
            "run", str(nb), "-p", "severity", "warning", "--fail-on", "warning", "-o", str(out)
        ).exit_code
        == ExitCode.FINDINGS
    )
    assert _run("run", str(nb), "-p", "severity", "info", "-o", str(out)).exit_code == ExitCode.OK


def test_unsupported_input_file_exits_3_with_one_line(nb, tmp_path) -> None:
    bad = tmp_path / "not-a-profile.txt"
    bad.write_text("this is not any supported format\n")
    out = tmp_path / "r"
    result = CliRunner().invoke(cli, ["run", str(nb), "-p", "input_path", str(bad), "-o", str(out)])
    assert result.exit_code == ExitCode.INPUT
    err_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(err_lines) == 1
    assert "UnknownFormatError" in err_lines[0]
    assert str(bad) in err_lines[0]
    (folder,) = (out / "runner_test").iterdir()
    html = (folder / "runner_test.html").read_text()
    assert "UnknownFormatError" in html, "the failing cell's error is rendered"
    assert json.loads((folder / "run.json").read_text())["status"] == "failed"


def test_relative_path_parameters_are_made_absolute(nb, tmp_path, monkeypatch) -> None:
    (tmp_path / "x.txt").write_text("unknown\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", str(nb), "-p", "input_path", "x.txt", "-o", "r"])
    assert result.exit_code == ExitCode.INPUT
    assert str(tmp_path / "x.txt") in result.stderr


def test_unknown_parameter_is_a_usage_error(nb) -> None:
    result = CliRunner().invoke(cli, ["run", str(nb), "-p", "nope", "1"])
    assert result.exit_code == ExitCode.USAGE
    assert "has no parameter 'nope'" in result.stderr


def test_secret_values_are_refused(nb) -> None:
    result = CliRunner().invoke(
        cli, ["run", str(nb), "-p", "title", "postgresql://app:hunter2@db/app"]
    )
    assert result.exit_code == ExitCode.USAGE
    assert "hunter2" not in result.stderr + result.output
    assert "environment variable" in result.stderr


def test_parameters_file(nb, tmp_path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text("severity: critical\n")
    result = _run("run", str(nb), "-f", str(params), "-o", str(tmp_path / "r"))
    assert result.exit_code == ExitCode.FINDINGS


def test_unknown_notebook_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["run", "no_such_notebook"])
    assert result.exit_code == ExitCode.USAGE
    assert "no notebook 'no_such_notebook'" in result.stderr


def test_read_and_check_commands_on_bad_input(tmp_path) -> None:
    bad = tmp_path / "x.txt"
    bad.write_text("nothing\n")
    for cmd in ("read", "check"):
        result = CliRunner().invoke(cli, [cmd, str(bad)])
        assert result.exit_code == ExitCode.INPUT
        assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("ename", "code"),
    [
        ("FormatError", ExitCode.INPUT),
        ("UnknownFormatError", ExitCode.INPUT),
        ("EmptyInputError", ExitCode.INPUT),
        ("SchemaError", ExitCode.INPUT),
        ("SourceError", ExitCode.SOURCE),
        ("ConfigError", ExitCode.USAGE),
        ("ZeroDivisionError", ExitCode.NOTEBOOK),
    ],
)
def test_exit_code_for_ename(ename: str, code: ExitCode) -> None:
    assert exit_code_for(ename) is code


def test_read_and_check_with_the_streaming_engine() -> None:
    k6 = Path(__file__).resolve().parents[1] / "data" / "samples" / "loadtests" / "k6" / "run.json"
    result = _run("read", str(k6), "--engine", "stream")
    assert result.exit_code == 0, result.output
    assert "aggregated requests=298" in result.output and "histogram:linear" in result.output
    result = _run("check", str(k6), "--engine", "stream", "--fail-on", "critical")
    assert result.exit_code == 1 and "LT002" in result.output  # 10 of 88 cart requests failed


def test_read_and_check_a_server_log_with_the_streaming_engine() -> None:
    """Issue 20.2 from the shell: an auto_explain log grouped by query in bounded memory."""
    log = Path(__file__).resolve().parents[1] / "data" / "samples" / "plans" / "auto_explain"
    result = _run("read", str(log / "workload.log"), "--engine", "stream")
    assert result.exit_code == 0, result.output
    assert "the worst of each query group, of 33 plans" in result.output
    assert "workload.log at 2026-12-03 09:37:20.952 UTC" in result.output
    result = _run("check", str(log / "workload.log"), "--engine", "stream")
    assert result.exit_code == 1 and "PG001" in result.output, result.output
    result = _run("read", str(log / "postgresql.csv"), "--engine", "stream")
    assert result.exit_code == ExitCode.INPUT and "csvlog cannot be cut" in result.output


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("dsn_env", "host=localhost password=hunter2"),  # libpq keyword DSN
        ("dsn_env", "postgresql://u@h/db?password=hunter2"),  # credential in the query string
        ("dsn_env", " postgresql://u:hunter2@h/db"),  # leading white space
        ("dsn_env", "postgresql://u:hunter2@h/db "),
        ("plan_path", "http://prom/x?token=hunter2"),
        ("queries_path", "sslpassword=hunter2"),
    ],
)
def test_every_secret_shape_is_refused_before_anything_is_written(name, value, tmp_path) -> None:
    out = tmp_path / "r"
    result = CliRunner().invoke(cli, ["run", "plan_review", "-p", name, value, "-o", str(out)])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "hunter2" not in result.stderr + result.output
    assert not out.exists() or not any(out.rglob("*")), "nothing is written for a refused run"


def test_env_parameters_take_a_name_not_a_value(tmp_path) -> None:
    result = CliRunner().invoke(
        cli, ["run", "plan_review", "-p", "dsn_env", "db.internal:5432", "-o", str(tmp_path)]
    )
    assert result.exit_code == ExitCode.USAGE
    assert "takes the NAME of an environment variable" in result.stderr
