"""The history database: versioned schema, upgrade from v1, files that are not ours are refused untouched."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from perfnb.errors import ConfigError, FormatError, SourceError
from perfnb.history import History, Measurement, db


def _v1_database(path) -> None:
    """A history as the first release wrote it: migration 1 only, one run, one measurement."""
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        db.MIGRATIONS[0](conn)
        conn.execute(sa.text("UPDATE perfnb_meta SET value='1' WHERE key='schema_version'"))
        conn.execute(
            sa.text(
                "INSERT INTO perfnb_runs (system, commit_id, started_at, recorded_at, fingerprint) "
                "VALUES ('shop', 'abc', '2026-11-01 02:00:00.000000', '2026-11-01 03:00:00.000000', 'f1')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO perfnb_measurements (run_id, source, subject, metric, value, unit) "
                "VALUES (1, 'loadtest', 'Total', 'p95_s', 0.25, 's')"
            )
        )
    engine.dispose()


def test_new_history_is_at_the_current_version_in_wal_mode(tmp_path) -> None:
    path = tmp_path / "history.sqlite"
    History(path).close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = con.execute("SELECT value FROM perfnb_meta WHERE key='schema_version'").fetchone()
    assert int(version[0]) == db.SCHEMA_VERSION == len(db.MIGRATIONS)
    con.close()


def test_upgrade_from_v1_keeps_the_data_and_adds_the_new_columns(tmp_path) -> None:
    path = tmp_path / "history.sqlite"
    _v1_database(path)
    with History(path) as h:
        runs = h.runs()
        assert runs[["run_id", "system", "env", "commit_id", "report"]].to_dict("records") == [
            {"run_id": 1, "system": "shop", "env": "", "commit_id": "abc", "report": ""}
        ]
        assert str(runs["started_at"].iloc[0]) == "2026-11-01 02:00:00+00:00"
        assert h.measurements()["value"].tolist() == [0.25]
        h.record_measurements([Measurement("loadtest", "Total", "p95_s", 0.3, "s")], env="ci")
        assert h.measurements(env="ci")["value"].tolist() == [0.3]
        with h.engine.connect() as conn:
            assert db.schema_version(conn) == db.SCHEMA_VERSION
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("perfnb_measurements")}
        assert "ix_perfnb_measurements_series" in indexes


def test_a_newer_schema_is_refused(tmp_path) -> None:
    path = tmp_path / "history.sqlite"
    History(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE perfnb_meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(FormatError, match="version 99 was written by a newer perfnb"):
        History(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"timestamp,label\n1,/a\n", "not a SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 2000, "damaged SQLite database"),
    ],
    ids=["csv", "damaged"],
)
def test_corrupt_file_is_a_clear_error_and_left_untouched(tmp_path, content, message) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message) as info:
        History(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content


def test_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path) -> None:
    path = tmp_path / "history.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
    con.execute("INSERT INTO customers VALUES (1, 'a@example.org')")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(FormatError, match=r"not a perfnb history .*customers"):
        History(path)
    assert path.read_bytes() == before


def test_reading_a_missing_history_does_not_create_one(tmp_path) -> None:
    with pytest.raises(FormatError, match="no history recorded here yet"):
        History(tmp_path / "history.sqlite", create=False)
    assert not (tmp_path / "history.sqlite").exists()


def test_url_comes_from_the_environment_and_its_password_is_never_shown(monkeypatch) -> None:
    with pytest.raises(ConfigError, match="PERFNB_TEST_HISTORY_URL is not set"):
        History.open(url_env="PERFNB_TEST_HISTORY_URL")
    monkeypatch.setenv("PERFNB_TEST_HISTORY_URL", "postgresql://perf:s3cret@127.0.0.1:1/perf")
    with pytest.raises(SourceError) as info:
        History.open(url_env="PERFNB_TEST_HISTORY_URL")
    assert "s3cret" not in str(info.value) and "cannot connect" in str(info.value)
