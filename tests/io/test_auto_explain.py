"""auto_explain in stderr / csvlog / jsonlog logs written by a real PostgreSQL, and pg_stat_statements CSV."""

from __future__ import annotations

import pandas as pd
import pytest

import perfnb
from perfnb.errors import EmptyInputError, FormatError
from perfnb.io.auto_explain import read_auto_explain
from perfnb.io.pg_stat_statements import StatementStats, read_pg_stat_statements
from tests.conftest import MALFORMED, SAMPLES

LOGS = SAMPLES / "plans" / "auto_explain"


@pytest.mark.parametrize("suffix", ["log", "csv", "json"])
def test_each_destination_gives_the_same_plans(suffix) -> None:
    plans = read_auto_explain(LOGS / f"postgresql.{suffix}")
    assert len(plans) == 5  # three JSON-format entries, then two text-format ones
    first = plans[0]
    assert first.query is not None and "customer_email" in first.query
    assert first.source == "auto_explain"
    assert set(first.nodes["source"]) == {"auto_explain"}
    assert isinstance(first.timestamp, pd.Timestamp) and str(first.timestamp.tz) == "UTC"
    assert first.duration_s > 0 and first.execution_time_s == first.duration_s
    # the logged duration includes executor start/stop: it bounds the root's inclusive time
    assert first.nodes["total_time_s"].iloc[0] <= first.duration_s
    assert [p.index for p in plans] == [0, 1, 2, 3, 4]
    # the same query logged in JSON and in text format reads the same
    assert plans[3].query == plans[0].query
    assert (
        plans[3].nodes["rows_removed_by_filter"].iloc[0]
        == plans[0].nodes["rows_removed_by_filter"].iloc[0]
    )


def test_destinations_agree() -> None:
    got = {
        s: [
            (p.query, p.duration_s, p.timestamp)
            for p in read_auto_explain(LOGS / f"postgresql.{s}")
        ]
        for s in ("log", "csv", "json")
    }
    assert got["log"] == got["csv"] == got["json"]


def test_read_and_read_plans_sniff_logs() -> None:
    for s in ("log", "csv", "json"):
        assert len(perfnb.read(LOGS / f"postgresql.{s}")) == 5
        assert len(perfnb.read_plans(LOGS / f"postgresql.{s}")) == 5


def test_cut_log_line() -> None:
    with pytest.raises(FormatError, match=r"cut_log.log:\d+: auto_explain plan is not valid JSON"):
        read_auto_explain(MALFORMED / "plans" / "cut_log.log")
    with pytest.raises(EmptyInputError):
        read_auto_explain(MALFORMED / "plans" / "cut_log.log", on_bad_lines="skip")


def test_text_format_csvlog_from_corpus(corpus) -> None:
    path = corpus / "plans" / "auto_explain" / "kiroku_pg18_csvlog_auto_explain_text.csv"
    plans = read_auto_explain(path)
    assert len(plans) == 8
    assert all(p.query for p in plans)
    assert plans[2].query.startswith("WITH\n  new_events AS (")  # multi-line query text kept whole
    assert all(p.timestamp is not None for p in plans)


def test_pg_stat_statements_csv() -> None:
    stats = read_pg_stat_statements(SAMPLES / "plans" / "pg_stat_statements.csv")
    assert isinstance(stats, StatementStats)
    df = stats.frame
    assert "total_exec_time" in stats.columns_found  # PG15 names, normalised
    assert (df["total_time_s"] >= df["exec_time_s"]).all()
    assert df["time_ratio"].sum() == pytest.approx(1.0)
    assert isinstance(perfnb.read(SAMPLES / "plans" / "pg_stat_statements.csv"), StatementStats)


def test_pg_stat_statements_old_column_names(tmp_path) -> None:
    src = pd.read_csv(SAMPLES / "plans" / "pg_stat_statements.csv")
    old = src.rename(
        columns={"total_exec_time": "total_time", "shared_blk_read_time": "blk_read_time"}
    )
    old = old.drop(columns=[c for c in old.columns if "plan" in c])
    path = tmp_path / "old.csv"
    old.to_csv(path, index=False)
    a = read_pg_stat_statements(path).frame
    assert a["total_time_s"].sum() == pytest.approx(src["total_exec_time"].sum() / 1e3)


def test_pg_stat_statements_without_columns(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("queryid,query,calls\n1,select 1,3\n")
    with pytest.raises(FormatError, match=r"x.csv: missing 'total_exec_time'"):
        read_pg_stat_statements(path)
