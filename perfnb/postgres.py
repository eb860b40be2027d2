"""Live PostgreSQL: capture plans, top statements and table/index usage (SQLAlchemy + psycopg).

Entry points: :func:`explain`, :func:`top_statements`, :func:`table_usage`, :func:`engine_from_env`.

Safety: :func:`explain` with ``analyze=True`` *executes* the statement. Anything but a plain ``SELECT`` /
``WITH … SELECT`` / ``VALUES`` / ``TABLE`` is refused unless ``allow_writes=True``; reads run in a
``READ ONLY`` transaction; every statement runs with ``statement_timeout`` and the transaction is
**always rolled back**, so an explained UPDATE changes nothing. Credentials come from a URL in an
environment variable (:func:`engine_from_env`), ``~/.pgpass`` or libpq variables; errors are
:class:`~perfnb.errors.SourceError` in one line with the password hidden
(``URL.render_as_string(hide_password=True)``). SQLAlchemy is imported lazily, so importing this module
is cheap.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from perfnb._secrets import redact
from perfnb.errors import ConfigError, InputError, SourceError, truncate
from perfnb.explain_guard import check_statement, split_statements
from perfnb.io.explain import Plan, plans_from_json
from perfnb.io.pg_stat_statements import StatementStats, TableUsage, normalize_statements

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["engine_from_env", "explain", "explain_queries", "table_usage", "top_statements"]


def _safe_url(url: Any) -> str:
    try:
        from sqlalchemy.engine import make_url

        return redact(str(make_url(url).render_as_string(hide_password=True)))
    except Exception:
        return "(unparseable database URL)"


def engine_from_env(
    dsn_env: str = "PERFNB_PG_DSN", *, environ: dict[str, str] | None = None
) -> Engine:
    """An engine from the URL held in the environment variable *dsn_env* (never printed).

    Without the variable, a URL built from libpq variables (``PGHOST``, ``PGPORT``, ``PGUSER``,
    ``PGDATABASE``; the password from ``PGPASSWORD`` or ``~/.pgpass`` via libpq) is used.

    Raises
    ------
    ConfigError
        When neither the variable nor ``PGHOST``/``PGDATABASE`` is set.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    env = os.environ if environ is None else environ
    url = env.get(dsn_env, "")
    if not url:
        if not (env.get("PGHOST") or env.get("PGDATABASE")):
            raise ConfigError(
                f"environment variable {dsn_env} is not set (and no PGHOST/PGDATABASE); "
                "set it to a SQLAlchemy URL such as postgresql+psycopg://user@host/db"
            )
        url = "postgresql+psycopg://"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        return create_engine(url, poolclass=NullPool)
    except Exception as err:
        raise SourceError(
            f"invalid database URL: {type(err).__name__}", source=_safe_url(url)
        ) from None


def _engine(engine_or_url: Any) -> Engine:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import NullPool

    if isinstance(engine_or_url, Engine):
        return engine_or_url
    url = str(engine_or_url)
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        # no pool: each call's connection is closed when it ends (nothing lingers in a notebook)
        return create_engine(url, poolclass=NullPool)
    except Exception as err:
        raise SourceError(
            f"invalid database URL: {type(err).__name__}", source=_safe_url(url)
        ) from None


def _source_error(engine: Engine, err: BaseException) -> SourceError:
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    first = text[0] if text else type(err).__name__
    url = _safe_url(engine.url)
    pw = engine.url.password
    if pw:
        first = first.replace(str(pw), "***")
    return SourceError(redact(first)[:300], source=url)


def _timeout_ms(timeout_s: float) -> int:
    """``statement_timeout`` in whole milliseconds, never 0 (which would mean "no timeout")."""
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InputError(
            "timeout_s must be a positive number of seconds",
            found=truncate(timeout_s),
            expected="a finite number > 0 (0 would switch statement_timeout off)",
        )
    return max(1, math.ceil(value * 1000))


def explain(
    engine_or_url: Any,
    sql: str,
    *,
    analyze: bool = True,
    buffers: bool = True,
    verbose: bool = False,
    settings: bool = True,
    params: dict[str, Any] | None = None,
    timeout_s: float = 30.0,
    allow_writes: bool = False,
    run: str = "live",
) -> Plan:
    """EXPLAIN one statement on a live server and return its :class:`~perfnb.io.explain.Plan`.

    ``EXPLAIN ANALYZE`` executes the statement, so it is guarded three ways: PostgreSQL's own parser
    (:func:`perfnb.explain_guard.check_statement`) accepts exactly one statement of an allowed kind; the
    statement is sent alone over the extended query protocol, which refuses a second one; and it runs in
    a transaction opened ``READ ONLY`` (with ``default_transaction_read_only`` on, unless *allow_writes*)
    under a ``statement_timeout`` and a ``lock_timeout``, rolled back in ``finally`` whatever happens.

    Parameters
    ----------
    engine_or_url
        A SQLAlchemy engine or URL.
    sql
        One statement, with ``:name`` bind parameters if *params* is given.
    analyze, buffers, verbose, settings
        EXPLAIN options (FORMAT JSON is always used).
    params
        Bind parameters (sent separately from the text, never spliced into it).
    timeout_s
        ``statement_timeout`` for the statement, seconds (> 0; rounded up to whole milliseconds).
    allow_writes
        Also accept INSERT, UPDATE, DELETE, MERGE and CREATE TABLE AS. They still run alone and are
        still rolled back. Sequences are not transactional: a ``serial``/identity default advances its
        sequence for good (explicit ``nextval``/``setval`` calls are refused).
    run
        Run label of the returned plan.

    Raises
    ------
    InputError
        Not exactly one statement; a statement that may write without ``allow_writes=True``; a call
        of a function whose effect no rollback undoes; a timeout that is not a positive number.
    SourceError
        Connection or execution failure (one line, password hidden).
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    body = check_statement(
        sql, allow_writes=allow_writes, where=run if run != "live" else "", binds=True
    )
    timeout_ms = _timeout_ms(timeout_s)
    engine = _engine(engine_or_url)
    opts = ["FORMAT JSON"]
    if analyze:
        opts.insert(0, "ANALYZE")
        if buffers:
            opts.insert(1, "BUFFERS")
    if verbose:
        opts.append("VERBOSE")
    if settings:
        opts.append("SETTINGS")
    stmt = f"EXPLAIN ({', '.join(opts)}) {body}"
    # SQLAlchemy turns :name binds into the driver's placeholders (and escapes literal %), the values
    # travel separately.
    compiled = text(stmt).compile(dialect=engine.dialect)
    bound = compiled.construct_params(params or {})
    try:
        with engine.connect() as conn:
            dbapi = conn.connection.driver_connection
            if dbapi is None:  # pragma: no cover - a closed connection
                raise SourceError("no database connection", source=_safe_url(engine.url))
            with dbapi.cursor() as cur:
                try:
                    # A new transaction starts with the first statement; its settings are LOCAL.
                    if not allow_writes:
                        cur.execute("SET TRANSACTION READ ONLY")
                        # session-wide, so even a smuggled COMMIT would leave the next transaction read-only;
                        # the rollback below reverts it
                        cur.execute("SET default_transaction_read_only = on")
                    cur.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
                    cur.execute(f"SET LOCAL lock_timeout = {timeout_ms}")
                    # binary=True forces the extended query protocol: one statement, or an error
                    cur.execute(compiled.string, bound, binary=True)
                    row = cur.fetchone()
                finally:
                    dbapi.rollback()
    except SQLAlchemyError as err:
        raise _source_error(engine, err) from None
    except Exception as err:  # psycopg's own errors, raised on the driver connection
        import psycopg

        if isinstance(err, psycopg.Error):
            raise _source_error(engine, err) from None
        raise
    value = row[0] if row else None
    doc = value if not isinstance(value, str | bytes) else json.loads(value)
    plan = plans_from_json(doc, run=run, source="explain")[0]
    plan.query = body
    return plan


def explain_queries(engine_or_url: Any, path: str | os.PathLike[str], **kwargs: Any) -> list[Plan]:
    """EXPLAIN every statement of a ``.sql`` file, one at a time.

    The file is split by PostgreSQL's parser (quotes, dollar quotes and comments understood); every
    statement is checked as :func:`explain` checks it before the first one runs, then each runs alone. Keyword arguments go to :func:`explain`; each
    plan's run label is ``<file stem>#<n>``.

    Raises
    ------
    InputError
        The file does not parse, or one of its statements is refused (the message names which).
    """
    from perfnb.io._common import read_text

    script = read_text(path)
    stem = Path(path).stem
    parts = split_statements(script, where=str(path))
    # every statement is checked before any runs: a file with one refused statement runs nothing
    allow = bool(kwargs.get("allow_writes", False))
    for k, q in enumerate(parts):
        check_statement(q, allow_writes=allow, where=f"{path}#{k}", binds=True)
    return [explain(engine_or_url, q, run=f"{stem}#{k}", **kwargs) for k, q in enumerate(parts)]


def _frame(conn: Connection, sql: str) -> pd.DataFrame:
    from sqlalchemy import text

    result = conn.execute(text(sql))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def top_statements(engine_or_url: Any, n: int = 20) -> StatementStats:
    """The *n* statements with the most total time from pg_stat_statements (any version's columns).

    Raises
    ------
    SourceError
        Connection failure or the extension is not installed (the message says so).
    """
    from sqlalchemy.exc import SQLAlchemyError

    engine = _engine(engine_or_url)
    try:
        with engine.connect() as conn:
            cols = _frame(conn, "SELECT * FROM pg_stat_statements LIMIT 0").columns
            order = (
                "total_exec_time + total_plan_time"
                if "total_plan_time" in cols
                else ("total_exec_time" if "total_exec_time" in cols else "total_time")
            )
            # order is one of three fixed column expressions and n an int: no user text in the SQL
            sql = f"SELECT * FROM pg_stat_statements ORDER BY {order} DESC LIMIT {int(n)}"  # noqa: S608
            raw = _frame(conn, sql)
    except SQLAlchemyError as err:
        raise _source_error(engine, err) from None
    return StatementStats(
        normalize_statements(raw), run="live", columns_found=[str(c) for c in cols]
    )


def table_usage(engine_or_url: Any) -> TableUsage:
    """Table and index usage: seq vs index scans, cache hit ratio (pg_statio), unused indexes."""
    from sqlalchemy.exc import SQLAlchemyError

    engine = _engine(engine_or_url)
    try:
        with engine.connect() as conn:
            tables = _frame(
                conn,
                "SELECT t.relname, t.seq_scan, t.seq_tup_read, coalesce(t.idx_scan, 0) AS idx_scan, "
                "t.n_live_tup, io.heap_blks_read, io.heap_blks_hit, io.idx_blks_read, io.idx_blks_hit, "
                "pg_total_relation_size(t.relid) AS size_bytes "
                "FROM pg_stat_user_tables t JOIN pg_statio_user_tables io USING (relid) ORDER BY t.relname",
            )
            indexes = _frame(
                conn,
                "SELECT s.relname, s.indexrelname, s.idx_scan, i.indisunique AS is_unique, "
                "pg_relation_size(s.indexrelid) AS size_bytes FROM pg_stat_user_indexes s "
                "JOIN pg_index i USING (indexrelid) ORDER BY s.relname, s.indexrelname",
            )
    except SQLAlchemyError as err:
        raise _source_error(engine, err) from None
    tables["cache_hit_ratio"] = tables["heap_blks_hit"] / (
        tables["heap_blks_hit"] + tables["heap_blks_read"]
    ).where(lambda s: s > 0)
    return TableUsage(tables, indexes)
