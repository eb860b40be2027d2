"""One reader contract: every bundled sample reads to a model that perfnb.check accepts.

``perfnb check FILE`` exits 0 or 1 on every bundled file of evidence (never 3), and ``perfnb read`` /
``perfnb check`` take a folder of plans, a glob, a Locust prefix and a folder of metrics exports like
:func:`perfnb.read` does. The readers keep their signatures for type checkers (mypy ``reveal_type``).
"""

from __future__ import annotations

import fnmatch
import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

import perfnb
from perfnb.cli import cli, main
from perfnb.model._base import ModelMixin
from perfnb.report.run import ExitCode
from tests.conftest import ROOT, SAMPLES

#: Bundled files that are not evidence perfnb reads, and why (``*`` matches one folder level).
NOT_EVIDENCE = {
    ".keep": "keeps the folder in git",
    "*/README.md": "provenance notes",
    "*/*/README.md": "provenance notes",
    "loadtests/k6*/summary.txt": "k6's human-readable end-of-test summary (summary-export.json has it)",
    "history/history.sqlite": "a perfnb history store (perfnb history reads it), not a tool's output",
    "metrics/alert_rules.toml": "alerting rules the metrics notebook reads as a parameter",
    "metrics/other/error_bad_data.json": "a Prometheus error response: must fail with exit 3",
}


def _not_evidence(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in NOT_EVIDENCE)


SAMPLE_FILES = sorted(
    str(p.relative_to(SAMPLES))
    for p in SAMPLES.rglob("*")
    if p.is_file() and not _not_evidence(str(p.relative_to(SAMPLES)))
)


def test_the_samples_are_there() -> None:
    assert len(SAMPLE_FILES) > 100
    for pattern in NOT_EVIDENCE:
        assert list(SAMPLES.glob(pattern)), f"{pattern} matches nothing: drop it from NOT_EVIDENCE"


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_check_exits_0_or_1_on_every_sample(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    obj = perfnb.read(SAMPLES / name)
    assert isinstance(obj, ModelMixin), type(obj)
    assert main(["check", str(SAMPLES / name)]) in (ExitCode.OK, ExitCode.FINDINGS)
    assert "Traceback" not in capsys.readouterr().err


def test_a_prometheus_error_response_is_an_input_error() -> None:
    assert main(["check", str(SAMPLES / "metrics/other/error_bad_data.json")]) == ExitCode.INPUT


def test_every_model_has_the_protocol() -> None:
    for name in ("plans/hash_spill.json", "profiles/mprof_before.dat", "vitals/rum.ndjson",
                 "cache/redis_info.txt", "metrics/query_range_cpu.json"):  # fmt: skip
        obj = perfnb.read(SAMPLES / name)
        assert isinstance(obj.source, str) and obj.source
        assert isinstance(obj.run, str)
        assert isinstance(obj.meta, dict)
        assert obj.skipped_rows == 0
        html = obj._repr_html_()
        assert html.startswith("<div") and type(obj).__name__ in html
        assert len(repr(obj)) < 300


def test_aggregate_only_load_test_repr_does_not_say_zero_requests() -> None:
    lt = perfnb.read_locust(SAMPLES / "demo" / "locust_stats.csv")
    assert lt.requests is None
    assert "requests=0" not in repr(lt)
    assert "tool summary of" in repr(lt)


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    ("arg", "expect"),
    [
        ("plans/auto_explain", "PlanSet from auto_explain"),
        ("plans/*.json", "PlanSet from explain"),
        ("loadtests/steady/run", "LoadTest from locust"),
        ("loadtests/steady/run_failures.csv", "LoadTest from locust"),
        ("metrics", "Metrics from prometheus_api"),
        ("metrics/scrapes", "Metrics from prometheus_exposition"),
        ("plans", "StatementStats from pg_stat_statements"),
    ],
)
def test_read_takes_folders_globs_and_prefixes(arg: str, expect: str) -> None:
    result = _run("read", str(SAMPLES / arg))
    assert result.exit_code == 0, result.output
    assert expect in result.output


@pytest.mark.parametrize("arg", ["plans", "plans/*.json", "loadtests/step/run", "metrics"])
def test_check_takes_folders_globs_and_prefixes(arg: str) -> None:
    result = _run("check", str(SAMPLES / arg))
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.output
    assert "finding(s)" in result.output


def test_library_and_cli_read_a_folder_of_plans_alike() -> None:
    plans = perfnb.read_plans(SAMPLES / "plans" / "auto_explain")
    via_read = perfnb.read(SAMPLES / "plans" / "auto_explain")
    assert isinstance(via_read, list) and len(via_read) == len(plans)
    assert [p.execution_time_s for p in via_read] == [p.execution_time_s for p in plans]


def test_a_folder_of_mixed_evidence_is_an_evidence_set() -> None:
    ev = perfnb.read(SAMPLES / "plans")
    kinds = sorted(type(m).__name__ for m in ev)
    assert kinds == ["PlanSet", "StatementStats"]
    assert len(perfnb.check(ev)) > 0


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_sees_the_readers_signatures(tmp_path: Path) -> None:
    from mypy import api

    probe = tmp_path / "probe.py"
    probe.write_text(
        "import perfnb\n"
        "reveal_type(perfnb.read_jmeter)\n"
        "reveal_type(perfnb.read_plans)\n"
        "reveal_type(perfnb.read_pstats)\n"
        "reveal_type(perfnb.read_loadtest)\n"
        "from perfnb.io.loadtest import LoadTest\n"  # an old path, kept typed by a stub
        "reveal_type(LoadTest)\n",
        encoding="utf-8",
    )
    out, err, _ = api.run(
        [
            str(probe),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            "--follow-imports",
            "silent",
            "--python-version",
            "3.11",
        ]
    )
    lines = [line for line in out.splitlines() if "Revealed type" in line]
    assert len(lines) == 5, out + err
    assert "def (path: " in lines[0] and "perfnb.model.loadtest.LoadTest" in lines[0]
    assert "perfnb.model.plan.PlanSet" in lines[1]
    assert "perfnb.model.profile.Profile" in lines[2]
    assert "engine: str" in lines[3]
    assert "perfnb.model.loadtest.LoadTest" in lines[4]
    assert "Any" not in lines[0].split("->")[-1]


def test_sample_root_is_the_package_checkout() -> None:
    assert SAMPLES == ROOT / "data" / "samples"


@pytest.mark.parametrize(
    ("reader", "name"),
    [
        ("read_prometheus", "metrics/query_range_error_ratio.json"),
        ("read_exposition", "metrics/scrapes/target_scrape_before.prom"),
        ("read_tidy_metrics", "metrics/other/tidy_cpu_memory.csv"),
        ("read_rum", "vitals/rum.ndjson"),
        ("read_mprof", "profiles/mprof_before.dat"),
        ("read_memray", "profiles/memray_before.csv"),
        ("read_line_profile", "profiles/lineprof_before.lprof"),
    ],
)
def test_check_accepts_the_frames_of_per_format_readers(reader: str, name: str) -> None:
    frame = getattr(perfnb, reader)(SAMPLES / name)
    assert [f.rule for f in perfnb.check(frame)] == [
        f.rule for f in perfnb.check(perfnb.read(SAMPLES / name))
    ]


def test_check_still_rejects_what_no_reader_returns() -> None:
    import pandas as pd

    with pytest.raises(perfnb.errors.SchemaError, match="no rule applies to a DataFrame"):
        perfnb.check(pd.DataFrame({"x": [1]}))


def test_field_data_is_checked_through_its_assessment() -> None:
    rum = perfnb.read(SAMPLES / "vitals" / "rum.ndjson")
    assessment = rum.assess()
    assert assessment.origin == "rum" and len(assessment.frame) > 0
    assert {f.rule for f in perfnb.check(rum)} == {f.rule for f in perfnb.check(assessment)}


def test_engine_client_for_notebook_parameters() -> None:
    from perfnb.engine import client_for

    assert client_for("pandas") is None and client_for("stream", "tcp://ignored:1") is None
    with pytest.raises(perfnb.errors.InputError, match="unknown engine"):
        client_for("spark")


def test_expand_paths_is_the_one_rule(tmp_path: Path) -> None:
    from perfnb.io import expand_paths, split_paths

    plans = SAMPLES / "plans"
    folder = expand_paths(
        plans, kind="plan"
    )  # the folder's plans, not its pg_stat_statements export
    globs = expand_paths(split_paths(f"{plans}/*.json, {plans}/*.txt"), kind="plan")
    assert sorted(folder) == sorted(globs)
    with pytest.raises(perfnb.errors.InputError, match="is a pg_stat_statements file, not plan"):
        expand_paths(plans / "pg_stat_statements.csv", kind="plan")
    (tmp_path / "README.md").write_text("notes\n")
    with pytest.raises(perfnb.errors.EmptyInputError, match="no plan files"):
        expand_paths(tmp_path, kind="plan")
