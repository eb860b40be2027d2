"""The history database: SQLAlchemy 2 tables, a versioned schema that upgrades in place, safe opening.

Four tables, all prefixed ``perfnb_`` so a team's PostgreSQL database can hold them beside others:

``perfnb_meta``
    ``key → value``; ``app = perfnb-history`` marks the database as ours, ``schema_version`` is the version.
``perfnb_runs``
    One row per recorded run: system, env, commit, the evidence's start time, when it was recorded, the
    report it belongs to and a fingerprint (hash of the sources' content hashes, system and env) that is
    unique, so recording the same evidence twice is a no-op even from two processes at once.
``perfnb_sources``
    The run's inputs with their SHA-256 content hashes.
``perfnb_measurements``
    Tidy numbers: ``(run, source, subject, metric, value, unit)``.

Upgrades are ordered migration functions (:data:`MIGRATIONS`); each runs in its own transaction and bumps
``schema_version``. Every migration writes frozen DDL (it never reads the current table objects), so an old
database is upgraded through the same steps whatever the current code looks like. A database written by a
newer perfnb is refused rather than downgraded.

SQLite files are checked before SQLAlchemy touches them: a file that is not SQLite, a damaged one, or a
SQLite database holding other tables and no ``perfnb_meta`` is a :class:`~perfnb.errors.FormatError` and is
never written to. SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``, so concurrent recorders queue instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from perfnb.errors import ConfigError, FormatError, SourceError

__all__ = [
    "APP",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "connect",
    "measurements",
    "meta",
    "metadata",
    "runs",
    "schema_version",
    "sources",
    "url_from_env",
]

APP = "perfnb-history"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_BUSY_TIMEOUT_MS = 60_000

metadata = sa.MetaData()

meta = sa.Table(
    "perfnb_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)
runs = sa.Table(
    "perfnb_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("system", sa.String(200), nullable=False, server_default=""),
    sa.Column("env", sa.String(200), nullable=False, server_default=""),
    sa.Column("commit_id", sa.String(100), nullable=False, server_default=""),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("report", sa.String(2000), nullable=False, server_default=""),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
)
sources = sa.Table(
    "perfnb_sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id", sa.Integer, sa.ForeignKey("perfnb_runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("path", sa.String(2000), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
)
measurements = sa.Table(
    "perfnb_measurements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id", sa.Integer, sa.ForeignKey("perfnb_runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("metric", sa.String(100), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("unit", sa.String(20), nullable=False, server_default=""),
)
sa.Index("ix_perfnb_measurements_series", measurements.c.subject, measurements.c.metric)
sa.Index("ix_perfnb_measurements_run", measurements.c.run_id)
sa.Index("ix_perfnb_runs_system", runs.c.system, runs.c.env, runs.c.started_at)


# ------------------------------------------------------------------------------------------------ migrations


def _v1(conn: sa.Connection) -> None:
    """Version 1 (perfnb 0.x, first release of the history): runs without env or report link."""
    md = sa.MetaData()
    sa.Table(
        "perfnb_meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
    )
    sa.Table(
        "perfnb_runs",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(200), nullable=False, server_default=""),
        sa.Column("commit_id", sa.String(100), nullable=False, server_default=""),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    )
    sa.Table(
        "perfnb_sources",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("perfnb_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
    )
    m = sa.Table(
        "perfnb_measurements",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("perfnb_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False, server_default=""),
    )
    sa.Index("ix_perfnb_measurements_run", m.c.run_id)
    md.create_all(conn)
    conn.execute(sa.text("INSERT INTO perfnb_meta (key, value) VALUES ('app', :app)"), {"app": APP})
    conn.execute(sa.text("INSERT INTO perfnb_meta (key, value) VALUES ('schema_version', '0')"))


def _v2(conn: sa.Connection) -> None:
    """Version 2: environment tag, link to the run's report, series index (subject, metric)."""
    conn.execute(sa.text("ALTER TABLE perfnb_runs ADD COLUMN env VARCHAR(200) NOT NULL DEFAULT ''"))
    conn.execute(
        sa.text("ALTER TABLE perfnb_runs ADD COLUMN report VARCHAR(2000) NOT NULL DEFAULT ''")
    )
    conn.execute(
        sa.text(
            "CREATE INDEX ix_perfnb_measurements_series ON perfnb_measurements (subject, metric)"
        )
    )
    conn.execute(
        sa.text("CREATE INDEX ix_perfnb_runs_system ON perfnb_runs (system, env, started_at)")
    )


#: Ordered migrations: ``MIGRATIONS[k]`` brings a database from version k to version k + 1.
MIGRATIONS: list[Callable[[sa.Connection], None]] = [_v1, _v2]
SCHEMA_VERSION = len(MIGRATIONS)


# ------------------------------------------------------------------------------------------------ opening


def url_from_env(name: str) -> str:
    """The database URL held by the environment variable *name* (never printed).

    Raises
    ------
    ConfigError
        If the variable is unset or empty.
    """
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(f"environment variable {name} is not set; it should hold the history URL")
    if value.startswith("postgresql://") or value.startswith("postgres://"):
        value = "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def _check_sqlite_file(path: Path) -> bool:
    """Whether *path* is a perfnb history (True), absent or empty (False); raise if it is anything else."""
    if not path.exists():
        return False
    if path.is_dir():
        raise FormatError("is a folder, not a history database", path=path)
    size = path.stat().st_size
    if size == 0:
        return False
    with path.open("rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        raise FormatError(
            "not a SQLite database",
            path=path,
            expected="a perfnb history (SQLite) file",
            hint="the file was left untouched; pass another --output-dir or move it away",
        )
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not names:
                return False
            if "perfnb_meta" not in names:
                raise FormatError(
                    "a SQLite database that is not a perfnb history "
                    f"(tables: {', '.join(sorted(names)[:5])})",
                    path=path,
                    expected="a perfnb_meta table",
                    hint="the file was left untouched",
                )
            app = con.execute("SELECT value FROM perfnb_meta WHERE key='app'").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        raise FormatError(
            f"damaged SQLite database: {err}",
            path=path,
            hint="the file was left untouched; restore it from a backup",
        ) from err
    if app is None or app[0] != APP:
        raise FormatError("perfnb_meta does not mark a perfnb history", path=path)
    return True


def _sqlite_engine(path: Path) -> sa.Engine:
    engine = sa.create_engine(
        f"sqlite:///{path}", connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000}
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event below opens transactions
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def schema_version(conn: sa.Connection) -> int:
    """The schema version stored in the database (0 for a database without our tables)."""
    if not sa.inspect(conn).has_table("perfnb_meta"):
        return 0
    row = conn.execute(
        sa.text("SELECT value FROM perfnb_meta WHERE key='schema_version'")
    ).fetchone()
    return int(row[0]) if row else 0


def _upgrade(engine: sa.Engine, where: str) -> None:
    """Apply the missing migrations, one transaction each (serialised across processes)."""
    while True:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242018)"))
                tables = set(sa.inspect(conn).get_table_names())
                ours = {t.name for t in metadata.sorted_tables}
                if "perfnb_meta" not in tables and tables & ours:
                    raise FormatError(
                        f"the database holds {', '.join(sorted(tables & ours))} but no perfnb_meta",
                        path=where,
                        hint="left untouched",
                    )
            elif sa.inspect(conn).has_table("perfnb_meta"):
                app = conn.execute(
                    sa.text("SELECT value FROM perfnb_meta WHERE key='app'")
                ).fetchone()
                if app is None or app[0] != APP:
                    raise FormatError("perfnb_meta does not mark a perfnb history", path=where)
            version = schema_version(conn)
            if version > SCHEMA_VERSION:
                raise FormatError(
                    f"history schema version {version} was written by a newer perfnb",
                    path=where,
                    expected=f"version {SCHEMA_VERSION} or older",
                    hint="upgrade perfnb",
                )
            if version == SCHEMA_VERSION:
                return
            MIGRATIONS[version](conn)
            conn.execute(
                sa.text("UPDATE perfnb_meta SET value=:v WHERE key='schema_version'"),
                {"v": str(version + 1)},
            )


def connect(
    target: str | os.PathLike[str], *, create: bool = True, upgrade: bool = True
) -> sa.Engine:
    """Open (and create or upgrade) the history at *target*: a SQLite file path or a SQLAlchemy URL.

    Parameters
    ----------
    target
        ``reports/history.sqlite`` or ``postgresql+psycopg://user@host/db`` (take the URL from the
        environment with :func:`url_from_env`, never from a command line).
    create
        Create the tables when the database is new; with ``False`` a missing SQLite file is an error.
    upgrade
        Apply missing migrations.

    Raises
    ------
    FormatError
        A file that is not SQLite, a damaged database, a foreign one, or a newer schema.
    SourceError
        The database server cannot be reached.
    """
    text = os.fspath(target)
    if "://" in text:
        url = sa.engine.make_url(text)
        where = url.render_as_string(hide_password=True)
        engine = sa.create_engine(url, pool_pre_ping=True)
        try:
            with engine.connect():
                pass
        except sa.exc.OperationalError as err:
            msg = str(err.orig).splitlines()[0] if err.orig is not None else "connection failed"
            raise SourceError(f"{where}: cannot connect: {msg}", source=where) from None
    else:
        path = Path(text)
        exists = _check_sqlite_file(path)
        if not exists and not create:
            raise FormatError("no history recorded here yet", path=path)
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_engine(path)
        where = str(path)
    if upgrade or create:
        try:
            _upgrade(engine, where)
        except sa.exc.DatabaseError as err:
            engine.dispose()
            raise FormatError(f"cannot open the history: {err.orig}", path=where) from err
    return engine
