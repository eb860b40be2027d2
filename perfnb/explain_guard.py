r"""Which statements :func:`perfnb.postgres.explain` may run: PostgreSQL's own parser decides, not a regex.

Entry points: :func:`check_statement` (one statement, of an allowed kind, or an :class:`InputError` saying why
not) and :func:`split_statements` (a ``.sql`` file into statements, quoting understood).

``EXPLAIN ANALYZE`` executes its statement, so the text a user passes (from a notebook parameter, a ``.sql``
file, a pg_stat_statements export) is parsed with `pglast <https://pglast.readthedocs.io>`_, which is
PostgreSQL's parser (libpg_query) compiled as a Python extension: dollar quotes (``$a$…$a$``), ``E'\\''``
escapes, standard strings, nested comments and quoted identifiers are read exactly as the server reads them.
The rules:

* exactly one statement; ``COMMIT``, ``BEGIN``, ``SET``, ``CALL``, ``DO`` … are never accepted;
* read-only mode (the default): a ``SELECT``/``VALUES``/``TABLE``/``WITH … SELECT`` with no ``INTO``, no
  ``FOR UPDATE/SHARE`` and no data-modifying ``WITH`` anywhere in its tree;
* with ``allow_writes``: also ``INSERT``, ``UPDATE``, ``DELETE``, ``MERGE`` and ``CREATE TABLE … AS`` (all
  transactional, so the rollback undoes them);
* in both modes, calls of functions whose effect no rollback undoes are refused: ``nextval``/``setval``
  (sequences are not transactional), ``pg_terminate_backend``, ``dblink_exec`` and the like.

This is the first of three walls; the others are in :func:`perfnb.postgres.explain`: the statement travels
alone over the extended query protocol (which refuses a second statement), inside a transaction opened
``READ ONLY`` with ``default_transaction_read_only`` on and a statement timeout that cannot be zero, and is
rolled back in ``finally``. What none of them can stop: a user-defined function in an untrusted language or
through dblink that writes outside the transaction. Connect with a role that has only the privileges EXPLAIN
needs (``pg_read_all_data``) when the statements come from someone else. And a column whose default is
``nextval()`` (``serial``, identity) still advances its sequence when an explained ``INSERT`` runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from perfnb.errors import InputError, truncate

__all__ = ["check_statement", "split_statements"]

_READ_KINDS = frozenset({"SelectStmt"})
_WRITE_KINDS = frozenset(
    {"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CreateTableAsStmt"}
)
_MODIFYING = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
# Functions whose effect survives a rollback (or reaches outside the transaction).
_NON_TRANSACTIONAL = frozenset(
    {
        "nextval",
        "setval",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_switch_wal",
        "pg_create_restore_point",
        "pg_notify",
        "pg_file_write",
        "pg_file_rename",
        "pg_file_unlink",
        "lo_import",
        "lo_export",
        "dblink",
        "dblink_exec",
        "dblink_send_query",
        "dblink_connect",
        "dblink_connect_u",
        "pg_advisory_lock",
        "pg_advisory_xact_lock",
        "pg_try_advisory_lock",
    }
)
_KIND_NAMES = {
    "TransactionStmt": "a transaction command (BEGIN/COMMIT/ROLLBACK)",
    "VariableSetStmt": "SET",
    "CallStmt": "CALL",
    "DoStmt": "DO",
    "ExplainStmt": "an EXPLAIN (pass the statement itself)",
    "ExecuteStmt": "EXECUTE of a prepared statement",
}


def _parse(sql: str, where: str) -> list[dict[str, Any]]:
    from pglast import parser

    try:
        tree = json.loads(parser.parse_sql_json(sql))
    except parser.ParseError as err:
        raise InputError(
            f"statement does not parse as PostgreSQL SQL: {err}",
            path=where or None,
            found=truncate(sql, 60),
            expected="one SQL statement",
        ) from None
    stmts: list[dict[str, Any]] = tree.get("stmts", [])
    return stmts


def _kind(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    node = raw.get("stmt", {})
    kind = next(iter(node), "")
    return kind, node.get(kind, {})


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (node type, node body) pair below *node* in pglast's JSON tree."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key[:1].isupper():
                    yield key, value
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def _func_name(body: dict[str, Any]) -> str:
    parts = [p.get("String", {}).get("sval", "") for p in body.get("funcname", [])]
    return parts[-1].lower() if parts else ""


def _mask_binds(sql: str) -> str:
    """*sql* with SQLAlchemy's ``:name`` binds replaced by ``$1`` padded to the same UTF-8 length.

    PostgreSQL's parser knows ``$1``, not ``:name``; keeping every byte offset lets the statement be cut out
    of the original text. The pattern is SQLAlchemy's own, so what is masked is what it binds.
    """
    from sqlalchemy.sql.elements import TextClause

    def pad(m: re.Match[str]) -> str:
        return "$1" + " " * (len(m.group(0).encode()) - 2)

    return TextClause._bind_params_regex.sub(pad, sql)


def check_statement(
    sql: str, *, allow_writes: bool = False, where: str = "", binds: bool = False
) -> str:
    """Return the single statement in *sql* (trailing ``;`` removed) if EXPLAIN ANALYZE may run it.

    Parameters
    ----------
    sql
        The statement text, as the user gave it.
    binds
        *sql* holds SQLAlchemy ``:name`` bind parameters (parsed as ``$1``).
    allow_writes
        Accept INSERT/UPDATE/DELETE/MERGE/CREATE TABLE AS (the caller rolls them back).
    where
        A location for messages (``queries.sql#3``).

    Raises
    ------
    InputError
        Not exactly one statement, a kind that is not allowed, or a call of a function whose effect a
        rollback does not undo. The message says which.

    Examples
    --------
    >>> check_statement("SELECT 1;")
    'SELECT 1'
    >>> check_statement("SELECT $a$'$a$; COMMIT; DELETE FROM t; SELECT $b$'$b$")
    Traceback (most recent call last):
    ...
    perfnb.errors.InputError: statement text holds 4 statements (SELECT, a transaction command ...
    """
    stmts = _parse(_mask_binds(sql) if binds else sql, where)
    if not stmts:
        raise InputError("no SQL statement", path=where or None, expected="one statement")
    kinds = [_kind(s) for s in stmts]
    if len(stmts) > 1:
        names = ", ".join(_KIND_NAMES.get(k, k.removesuffix("Stmt").upper()) for k, _ in kinds)
        raise InputError(
            f"statement text holds {len(stmts)} statements ({names}); EXPLAIN takes exactly one",
            path=where or None,
            hint="split them: explain_queries() reads a .sql file statement by statement",
        )
    kind, body = kinds[0]
    allowed = _READ_KINDS | (_WRITE_KINDS if allow_writes else frozenset())
    if kind not in allowed:
        name = _KIND_NAMES.get(kind, kind.removesuffix("Stmt").upper() or "an empty statement")
        if kind in _WRITE_KINDS:
            raise InputError(
                f"statement is not a plain SELECT ({name} writes)",
                path=where or None,
                found=truncate(sql, 60),
                expected="a read-only query",
                hint="pass allow_writes=True to EXPLAIN ANALYZE it inside a transaction that is "
                "rolled back",
            )
        raise InputError(
            f"EXPLAIN cannot run {name}",
            path=where or None,
            found=truncate(sql, 60),
            expected="SELECT, or INSERT/UPDATE/DELETE/MERGE/CREATE TABLE AS with allow_writes=True",
        )
    for node_type, node in _walk({kind: body}):
        if node_type == "FuncCall" and _func_name(node) in _NON_TRANSACTIONAL:
            raise InputError(
                f"statement calls {_func_name(node)}(), whose effect no rollback undoes",
                path=where or None,
                found=truncate(sql, 60),
                expected="a statement without non-transactional side effects",
            )
        if allow_writes:
            continue
        if node_type in _MODIFYING:
            raise InputError(
                "statement is not a plain SELECT (a data-modifying WITH writes)",
                path=where or None,
                found=truncate(sql, 60),
                expected="a read-only query",
                hint="pass allow_writes=True to EXPLAIN ANALYZE it inside a transaction that is "
                "rolled back",
            )
        if node_type == "SelectStmt" and node.get("intoClause"):
            raise InputError(
                "statement is not a plain SELECT (SELECT … INTO creates a table)",
                path=where or None,
                found=truncate(sql, 60),
                expected="a read-only query",
            )
        if node_type == "SelectStmt" and node.get("lockingClause"):
            raise InputError(
                "statement is not a plain SELECT (FOR UPDATE/SHARE takes row locks)",
                path=where or None,
                found=truncate(sql, 60),
                expected="a read-only query",
            )
    loc = int(stmts[0].get("stmt_location", 0))
    length = stmts[0].get("stmt_len")
    # pglast reports byte offsets into the UTF-8 text
    raw = sql.encode()
    text = raw[loc : loc + int(length)] if length else raw[loc:]
    return text.decode().strip().rstrip(";").strip()


def split_statements(sql: str, where: str = "") -> list[str]:
    r"""Split a script into statements the way the server would (quotes, dollar quotes, comments).

    >>> split_statements("SELECT ';' ; SELECT $$a;b$$;\n-- done\n")
    ["SELECT ';'", 'SELECT $$a;b$$']
    """
    stmts = _parse(sql, where)
    raw = sql.encode()
    out = []
    for s in stmts:
        loc = int(s.get("stmt_location", 0))
        length = s.get("stmt_len")
        text = raw[loc : loc + int(length)] if length else raw[loc:]
        piece = text.decode().strip().rstrip(";").strip()
        if piece:
            out.append(piece)
    return out
