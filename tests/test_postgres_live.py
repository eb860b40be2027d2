"""Live capture against the harness's PostgreSQL: explain (read-only, timeout, rollback), statements, usage."""

from __future__ import annotations

import pytest

import perfnb
from perfnb.errors import ConfigError, InputError, SourceError
from perfnb.io.explain import Plan

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def db(postgres):
    postgres.psql(
        "DROP TABLE IF EXISTS live_items; "
        "CREATE TABLE live_items (id int PRIMARY KEY, email text, qty int); "
        "INSERT INTO live_items SELECT g, 'u' || g || '@x', g % 7 FROM generate_series(1, 20000) g; "
        "ANALYZE live_items"
    )
    return postgres


def test_explain_select(db) -> None:
    plan = perfnb.postgres.explain(db.url, "SELECT * FROM live_items WHERE email = 'u42@x'")
    assert isinstance(plan, Plan) and plan.analyzed
    assert plan.nodes["node_type"].iloc[0] in ("Seq Scan", "Gather")
    assert plan.query is not None
    assert perfnb.check(plan).by_rule("seq-scan-filter")


def test_explain_with_params_and_without_analyze(db) -> None:
    plan = perfnb.postgres.explain(
        db.url, "SELECT * FROM live_items WHERE id = :id", params={"id": 7}, analyze=False
    )
    assert not plan.analyzed
    assert plan.nodes["index_name"].iloc[0] == "live_items_pkey"


def test_update_refused_without_allow_writes(db) -> None:
    with pytest.raises(InputError, match=r"not a plain SELECT.*allow_writes=True"):
        perfnb.postgres.explain(db.url, "UPDATE live_items SET qty = 0")
    with pytest.raises(InputError):
        perfnb.postgres.explain(
            db.url, "WITH d AS (DELETE FROM live_items RETURNING *) SELECT * FROM d"
        )


def test_update_with_allow_writes_changes_nothing(db) -> None:
    before = db.psql("SELECT sum(qty), count(*) FROM live_items")
    plan = perfnb.postgres.explain(
        db.url, "UPDATE live_items SET qty = qty + 100", allow_writes=True
    )
    assert plan.nodes["node_type"].iloc[0] == "ModifyTable"
    assert plan.nodes["actual_rows_total"].iloc[1] == 20000  # it really ran ...
    assert db.psql("SELECT sum(qty), count(*) FROM live_items") == before  # ... and was rolled back


def test_read_only_transaction_blocks_sneaky_writes(db) -> None:
    db.psql("CREATE OR REPLACE FUNCTION live_bump() RETURNS int LANGUAGE sql AS "
            "'UPDATE live_items SET qty = qty + 1 RETURNING 1'")  # fmt: skip
    before = db.psql("SELECT sum(qty) FROM live_items")
    with pytest.raises(SourceError, match="read-only transaction"):
        perfnb.postgres.explain(db.url, "SELECT live_bump()")
    assert db.psql("SELECT sum(qty) FROM live_items") == before


def test_statement_timeout(db) -> None:
    with pytest.raises(SourceError, match="statement timeout"):
        perfnb.postgres.explain(db.url, "SELECT pg_sleep(2)", timeout_s=0.2)


def test_top_statements_and_usage(db) -> None:
    for i in range(5):
        db.psql(f"SELECT * FROM live_items WHERE qty = {i}")  # noqa: S608 - test literal
    stats = perfnb.postgres.top_statements(db.url, n=10)
    assert len(stats.frame) <= 10
    assert stats.frame["total_time_s"].is_monotonic_decreasing
    assert {"total_exec_time", "calls"} <= set(stats.columns_found)
    usage = perfnb.postgres.table_usage(db.url)
    assert "live_items" in set(usage.frame["relname"])
    assert "live_items_pkey" in set(usage.indexes["indexrelname"])
    perfnb.check(usage)  # runs without error


def test_unreachable_server_is_one_line_without_password(db) -> None:
    from tests.services import free_port

    url = f"postgresql+psycopg://app:s3cr3t-pw@127.0.0.1:{free_port()}/perfnb"
    with pytest.raises(SourceError) as info:
        perfnb.postgres.explain(url, "SELECT 1")
    text = str(info.value)
    assert "s3cr3t-pw" not in text and "\n" not in text
    assert "app:***@127.0.0.1" in text


def test_engine_from_env(db, monkeypatch) -> None:
    monkeypatch.setenv("PERFNB_TEST_DSN", db.url)
    engine = perfnb.postgres.engine_from_env("PERFNB_TEST_DSN")
    assert perfnb.postgres.explain(engine, "SELECT 1").analyzed
    with pytest.raises(ConfigError, match="PERFNB_NOPE is not set"):
        perfnb.postgres.engine_from_env("PERFNB_NOPE", environ={})


def test_explain_queries_file(db, tmp_path) -> None:
    sql = tmp_path / "queries.sql"
    sql.write_text(
        "SELECT count(*) FROM live_items;\n-- the slow one\nSELECT * FROM live_items\n"
        "WHERE email = 'u9@x';\n"
    )
    plans = perfnb.postgres.explain_queries(db.url, sql)
    assert [p.run for p in plans] == ["queries#0", "queries#1"]
    assert all(p.analyzed for p in plans)


@pytest.mark.notebook
def test_notebook_live_mode(db, tmp_path, monkeypatch) -> None:
    from perfnb.report.run import ExitCode, list_notebooks, run_notebook

    notebook = next(p for p in list_notebooks() if p.stem == "plan_review")
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT * FROM live_items WHERE email = 'u9@x';\n")
    monkeypatch.setenv("PERFNB_TEST_DSN", db.url)
    result = run_notebook(
        notebook,
        {"dsn_env": "PERFNB_TEST_DSN", "queries_path": str(sql), "statements_path": ""},
        output_dir=tmp_path / "out",
        fail_on="critical",
    )
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), result.message
    html = result.html.read_text(encoding="utf-8")
    assert "live mode: True" in html
