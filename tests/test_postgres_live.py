"""Live capture against the harness's PostgreSQL: explain (read-only, timeout, rollback), statements, usage."""

from __future__ import annotations

from pathlib import Path

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


# --- issue 19: the read-only EXPLAIN cannot be made to write -------------------------------------------


@pytest.fixture
def victim(postgres):
    """A table, a sequence and nothing else named ``victim*``; returns a function that counts state."""
    postgres.psql(
        "DROP TABLE IF EXISTS victim, victim_new, victim_copy; DROP SEQUENCE IF EXISTS victim_seq; "
        "CREATE TABLE victim (id int PRIMARY KEY, v text); "
        "INSERT INTO victim SELECT g, 'x' FROM generate_series(1, 1000) g; "
        "CREATE SEQUENCE victim_seq"
    )

    def state() -> tuple[str, str, str]:
        rows = postgres.psql("SELECT count(*) FROM victim")
        tables = postgres.psql(
            "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname LIKE 'victim%'"
        )
        seq = postgres.psql("SELECT last_value || '/' || is_called FROM victim_seq")
        return rows, tables, seq

    before = state()
    assert before[0].strip() == "1000"
    yield state
    assert state() == before  # whatever the test did, the database is as it was


# Every bypass the issue lists, and their relatives: each string must be refused *and* change nothing.
BYPASSES = [
    "SELECT $a$'$a$; COMMIT; DELETE FROM victim; SELECT $b$'$b$",
    "SELECT E'\\''; COMMIT; DELETE FROM victim; SELECT E'\\''",
    "SELECT $$'$$; COMMIT; DROP TABLE victim; CREATE TABLE victim_new(); SELECT $$'$$",
    "SELECT 1; COMMIT; DELETE FROM victim",
    "SELECT 1 /* ; */; COMMIT; DELETE FROM victim",
    "SELECT 1 -- \n; COMMIT; DELETE FROM victim",
    'SELECT 1 AS "a;b"; COMMIT; DELETE FROM victim',
    "COMMIT; DELETE FROM victim",
    "WITH d AS (DELETE FROM victim RETURNING *) SELECT * FROM d",
    "SELECT * INTO victim_copy FROM victim",
    "SELECT * FROM victim FOR UPDATE",
    "SELECT nextval('victim_seq')",
    "SELECT setval('victim_seq', 99)",
    "SELECT pg_terminate_backend(pg_backend_pid())",
    "DELETE FROM victim",
    "CALL nothing()",
    "DO $$ BEGIN DELETE FROM victim; END $$",
    "SET default_transaction_read_only = off",
    "EXPLAIN ANALYZE DELETE FROM victim",
]


@pytest.mark.parametrize("sql", BYPASSES)
def test_read_only_explain_refuses_every_bypass(postgres, victim, sql: str) -> None:
    with pytest.raises(InputError):
        perfnb.postgres.explain(postgres.url, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT set_config('transaction_read_only', 'off', true)",
        "SELECT count(*), set_config('transaction_read_only', 'off', false) FROM victim",
    ],
)
def test_the_server_refuses_turning_the_transaction_read_write(postgres, victim, sql: str) -> None:
    with pytest.raises(SourceError, match="read-write mode must be set before any query"):
        perfnb.postgres.explain(postgres.url, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM victim; COMMIT",
        "CREATE TABLE victim_new AS SELECT * FROM victim; COMMIT",
        "DELETE FROM victim; COMMIT; SELECT 1",
        "SELECT setval('victim_seq', 99)",
        "INSERT INTO victim SELECT 5000 + nextval('victim_seq'), 'y'",
    ],
)
def test_allow_writes_still_one_statement_and_no_sequences(postgres, victim, sql: str) -> None:
    with pytest.raises(InputError, match=r"statements|no rollback undoes"):
        perfnb.postgres.explain(postgres.url, sql, allow_writes=True)


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM victim",
        "CREATE TABLE victim_new AS SELECT * FROM victim",
        "UPDATE victim SET v = 'changed' WHERE id < 500",
        "INSERT INTO victim SELECT g, 'y' FROM generate_series(2000, 2999) g",
    ],
)
def test_allow_writes_runs_and_rolls_back(postgres, victim, sql: str) -> None:
    plan = perfnb.postgres.explain(postgres.url, sql, allow_writes=True)
    assert plan.analyzed  # it really ran; the fixture checks that nothing stayed


def test_quoting_that_looks_like_two_statements_is_one(postgres, victim) -> None:
    plan = perfnb.postgres.explain(
        postgres.url, "SELECT $a$; COMMIT; DELETE FROM victim;$a$ AS s, E'\\'' AS e, v FROM victim"
    )
    assert plan.nodes["actual_rows_total"].iloc[0] == 1000


def test_percent_and_binds_travel_intact(postgres, victim) -> None:
    plan = perfnb.postgres.explain(
        postgres.url, "SELECT * FROM victim WHERE v LIKE '%x%' AND id > :low", params={"low": 990}
    )
    assert plan.nodes["actual_rows_total"].iloc[0] == 10


@pytest.mark.parametrize("timeout", [0, -1, 0.0004, float("nan"), float("inf"), "soon"])
def test_timeout_can_never_switch_the_statement_timeout_off(postgres, timeout) -> None:
    if timeout == 0.0004:  # below 1 ms: rounded up to 1 ms, never to 0 (= no timeout)
        with pytest.raises(SourceError, match="statement timeout"):
            perfnb.postgres.explain(postgres.url, "SELECT pg_sleep(1)", timeout_s=timeout)
        return
    with pytest.raises(InputError, match="timeout_s must be a positive number"):
        perfnb.postgres.explain(postgres.url, "SELECT 1", timeout_s=timeout)


def test_explain_queries_splits_with_the_server_s_parser(postgres, victim, tmp_path) -> None:
    script = tmp_path / "q.sql"
    script.write_text("SELECT ';' AS a;\nSELECT $$x;\ny$$ AS b; -- trailing\n")
    plans = perfnb.postgres.explain_queries(postgres.url, script)
    assert [p.run for p in plans] == ["q#0", "q#1"]
    script.write_text("SELECT 1;\nSELECT $a$'$a$; COMMIT; DELETE FROM victim; SELECT $b$'$b$;\n")
    with pytest.raises(InputError, match=r"not a plain SELECT|EXPLAIN cannot run"):
        perfnb.postgres.explain_queries(postgres.url, script)


def test_second_wall_extended_protocol_refuses_a_smuggled_statement(postgres, victim, monkeypatch):
    """Even if the parser check were bypassed, the server gets one statement or nothing."""
    monkeypatch.setattr(perfnb.postgres, "check_statement", lambda sql, **kw: sql)
    with pytest.raises(SourceError, match="multiple commands"):
        perfnb.postgres.explain(postgres.url, "SELECT 1; COMMIT; DELETE FROM victim")


@pytest.mark.notebook
def test_plan_review_notebook_cannot_be_made_to_write(postgres, victim, tmp_path, monkeypatch):
    """The path the issue found: ``perfnb run plan_review -p queries_path FILE`` with a live DSN."""
    from click.testing import CliRunner

    from perfnb.cli import cli
    from perfnb.report.run import ExitCode

    queries = tmp_path / "evil.sql"
    queries.write_text("SELECT $a$'$a$; COMMIT; DELETE FROM victim; SELECT $b$'$b$;\n")
    monkeypatch.setenv("PERFNB_PG_DSN", postgres.url)
    plan = Path(__file__).parent.parent / "data" / "samples" / "plans" / "seq_scan_filter.json"
    result = CliRunner().invoke(
        cli,
        ["run", "plan_review", "-p", "queries_path", str(queries), "-p", "plan_path", str(plan),
         "-o", str(tmp_path / "r")],
    )  # fmt: skip
    assert result.exit_code == ExitCode.INPUT, result.output
    assert "evil.sql#1: EXPLAIN cannot run a transaction command" in result.stderr
