"""``perfnb history``: every run's measurements as CSV/JSON, the table with steps, errors, PostgreSQL."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from perfnb.cli import main
from tests import services


def _add(nights, out, *extra: str) -> None:
    for night in nights:
        assert (
            main(
                [
                    "history",
                    "add",
                    "--loadtest",
                    str(night),
                    "-o",
                    str(out),
                    "--system",
                    "shop",
                    *extra,
                ]
            )
            == 0
        )


def test_csv_lists_every_recorded_runs_measurements(make_nights, tmp_path, capsys) -> None:
    nights = make_nights(11, 6)
    out = tmp_path / "reports"
    _add(nights, out)
    capsys.readouterr()
    assert main(["history", "-o", str(out), "--format", "csv"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert sorted(df["run_id"].unique()) == list(range(1, 12))
    assert (
        df.groupby("run_id").size().eq(40).all()
    )  # 4 labels × 9 load-test numbers + 4 findings counts
    assert list(df.columns[:5]) == ["run_id", "system", "env", "commit_id", "started_at"]
    assert main(["history", "-o", str(out), "--format", "json", "--subject", "/api/cart"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {m["subject"] for m in payload["measurements"]} == {"/api/cart"}
    assert any(s["metric"] == "p95_s" and s["run_id"] == 7 for s in payload["steps"])
    assert main(["history", "-o", str(out), "--metric", "p95_s"]) == 0
    table = capsys.readouterr().out
    assert "/api/cart" in table and "step(s):" in table and "from run #7" in table


def test_history_add_fails_ci_on_the_step(make_nights, tmp_path, capsys) -> None:
    nights = make_nights(11, 6)
    out = tmp_path / "reports"
    _add(nights[:10], out)
    args = ["history", "add", "--loadtest", str(nights[10]), "-o", str(out), "--system", "shop"]
    code = main([*args, "--fail-on", "warning", "--commit", "deadbeef"])
    assert code == 1
    assert "HI001 history-regression" in capsys.readouterr().out


def test_errors_are_one_line_with_the_documented_exit_code(tmp_path, capsys) -> None:
    assert main(["history", "-o", str(tmp_path)]) == 3
    assert "no history recorded here yet" in capsys.readouterr().err
    bad = tmp_path / "history.sqlite"
    bad.write_text("not a database\n")
    assert main(["history", "-o", str(tmp_path)]) == 3
    assert "not a SQLite database" in capsys.readouterr().err
    assert bad.read_text() == "not a database\n"
    assert main(["history", "add", "-o", str(tmp_path / "x")]) == 2


@pytest.mark.service
@pytest.mark.skipif(
    not services.REQUIRE, reason="PostgreSQL history test: set PERFNB_REQUIRE_SERVICES=1"
)
def test_postgres_history(postgres, make_nights, tmp_path, capsys, monkeypatch) -> None:
    postgres.psql(
        "DROP TABLE IF EXISTS perfnb_measurements, perfnb_sources, perfnb_runs, perfnb_meta"
    )
    monkeypatch.setenv("PERFNB_TEST_HISTORY_URL", postgres.url)
    where = ["--history-url-env", "PERFNB_TEST_HISTORY_URL"]
    nights = make_nights(11, 6)
    for night in nights[:10]:
        args = ["history", "add", "--loadtest", str(night), "--system", "shop", *where]
        assert main([*args, "-o", str(tmp_path)]) == 0
    assert not (tmp_path / "history.sqlite").exists()
    # the same evidence again is a no-op on PostgreSQL as well
    assert main(["history", "add", "--loadtest", str(nights[0]), "--system", "shop", *where]) == 0
    last = ["history", "add", "--loadtest", str(nights[10]), "--system", "shop", *where]
    assert main([*last, "--fail-on", "warning"]) == 1
    capsys.readouterr()
    assert main(["history", *where, "--format", "csv"]) == 0
    text = capsys.readouterr().out
    df = pd.read_csv(io.StringIO(text))
    assert sorted(df["run_id"].unique()) == list(range(1, 12))
    assert df.groupby("run_id").size().eq(40).all()
    assert "postgres@" not in text
