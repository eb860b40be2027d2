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

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from perfnb.errors import ConfigError, InputError, SourceError
from perfnb.io.explain import Plan, plans_from_json
from perfnb.io.pg_stat_statements import StatementStats, TableUsage, normalize_statements

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["engine_from_env", "explain", "explain_queries", "table_usage", "top_statements"]

_READ_ONLY = re.compile(r"^\s*(?:\(\s*)*(select|with|values|table)\b", re.IGNORECASE)
_WRITE_WORDS = re.compile(
    r"\b(insert|update|delete|merge|create|drop|alter|truncate|grant|revoke|copy|call|do|vacuum|"
    r"lock|refresh|cluster|reindex|set|reset|begin|commit|rollback|for\s+update|for\s+share|into)\b",
    re.IGNORECASE,
)


def _strip_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    sql = re.sub(r"--[^\n]*", " ", sql)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def _is_plain_select(sql: str) -> bool:
    body = _strip_comments(sql)
    return (
        bool(_READ_ONLY.match(body))
        and not _WRITE_WORDS.search(body)
        and ";" not in body.strip().rstrip(";")
    )


def _safe_url(url: Any) -> str:
    try:
        from sqlalchemy.engine import make_url

        return str(make_url(url).render_as_string(hide_password=True))
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
    url = engine.url.render_as_string(hide_password=True)
    pw = engine.url.password
    if pw:
        first = first.replace(str(pw), "***")
    return SourceError(first[:300], source=url)


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
    """EXPLAIN a statement on a live server and return its :class:`~perfnb.io.explain.Plan`.

    Parameters
    ----------
    engine_or_url
        A SQLAlchemy engine or URL.
    sql
        The statement, with ``:name`` bind parameters if *params* is given.
    analyze, buffers, verbose, settings
        EXPLAIN options (FORMAT JSON is always used).
    params
        Bind parameters.
    timeout_s
        ``statement_timeout`` for the statement.
    allow_writes
        Needed for anything but a plain SELECT; the transaction is rolled back regardless.

    Raises
    ------
    InputError
        A statement that may write, without ``allow_writes=True``.
    SourceError
        Connection or execution failure (one line, password hidden).
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    if not _is_plain_select(sql) and not allow_writes:
        raise InputError(
            "statement is not a plain SELECT",
            found=sql[:60],
            expected="a read-only query",
            hint="pass allow_writes=True to EXPLAIN ANALYZE it inside a transaction that is rolled back",
        )
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
    stmt = f"EXPLAIN ({', '.join(opts)}) {sql.strip().rstrip(';')}"
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                if not allow_writes:
                    conn.execute(text("SET TRANSACTION READ ONLY"))
                conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}"))
                value = conn.execute(text(stmt), params or {}).scalar()
            finally:
                trans.rollback()
    except SQLAlchemyError as err:
        raise _source_error(engine, err) from None
    doc = value if not isinstance(value, str) else __import__("json").loads(value)
    plan = plans_from_json(doc, run=run, source="explain")[0]
    plan.query = sql
    return plan


def explain_queries(engine_or_url: Any, path: str | os.PathLike[str], **kwargs: Any) -> list[Plan]:
    """EXPLAIN every statement of a ``.sql`` file (statements separated by ``;`` at line end).

    Keyword arguments go to :func:`explain`; each plan's run label is ``<file stem>#<n>``.
    """
    from perfnb.io._common import read_text

    text = read_text(path)
    parts = [q.strip() for q in re.split(r";\s*(?:\n|$)", text) if q.strip()]
    stem = Path(path).stem
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
