"""auto_explain entries in PostgreSQL server logs → :class:`~perfnb.io.explain.Plan` objects.

Entry point: :func:`read_auto_explain` (re-exported as ``perfnb.read_auto_explain``).

auto_explain logs ``duration: <ms> ms  plan:`` followed by the plan (``contrib/auto_explain``); with
``auto_explain.log_format = json`` the plan is one JSON object with ``Query Text``, ``Plan`` and optional
``Triggers``/``JIT``/``Settings`` (no ``Planning``/``Execution Time``: the duration is in the message).
Three log destinations are read:

* **stderr** text logs: an entry starts with a line that does not begin with a tab (the
  ``log_line_prefix``, default ``%m [%p] ``); the plan's continuation lines begin with a tab;
* **csvlog**: the ``message`` column (14th) holds the whole block, with embedded newlines;
* **jsonlog** (PG15+): one JSON object per line; ``message`` holds the block.

Each plan keeps its query text, the logged duration (as ``execution_time_s`` and ``duration_s``) and the
log timestamp. Text-format plans (``log_format = text``: ``Query Text: …`` then the plan) are read with
:mod:`perfnb.io.explain_text`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import (
    JSON_ERRORS,
    BadLines,
    OnBadLines,
    ensure_path,
    guard_reader,
    json_problem,
    read_text,
    register_format,
    run_label,
    scanner,
)
from perfnb.io.explain import _assemble, _statements
from perfnb.io.explain_flatten import flatten_statements
from perfnb.model.plan import PlanSet

__all__ = ["read_auto_explain"]

_PLAN_MSG = re.compile(r"duration: ([0-9.]+) ms\s+(?:rows: \d+\s+size: \d+ bytes\s+)?plan:\s*\n?")
_STDERR_TS = re.compile(
    r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?)(?: ([A-Z]{2,5}|[+-]\d\d(?::?\d\d)?))?"
)
_CSV_HEAD = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \w+,")


def _timestamp(text: str) -> pd.Timestamp | None:
    m = _STDERR_TS.match(text.strip())
    if not m:
        return None
    zone = m.group(2)
    try:
        ts = pd.Timestamp(m.group(1))
    except ValueError:
        return None
    if zone and zone[0] in "+-":
        try:
            return pd.Timestamp(f"{m.group(1)}{zone}").tz_convert("UTC")
        except ValueError:
            return None
    # named zones other than UTC/GMT are ambiguous; treated as UTC (the harness logs in UTC)
    return ts.tz_localize("UTC")


_STDERR_ENTRY = re.compile(r"^(?!\t).*(?:\n\t.*)*", re.M)


def _entries_stderr(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, timestamp text, message) per log entry of a stderr log.

    An entry is a line that does not start with a tab plus the tab-indented lines after it.
    """
    line = 1
    pos = 0
    for m in _STDERR_ENTRY.finditer(text):
        start = m.start()
        line += text.count("\n", pos, start)
        pos = start
        block = m.group()
        if not block and (start >= len(text) or text[start] == "\n"):
            continue  # an empty line
        first, _, rest = block.partition("\n")
        yield line, first, first + ("\n" + rest.replace("\n\t", "\n")[1:] if rest else "")


def _entries_csv(text: str, path: Path) -> Iterator[tuple[int, str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise FormatError(f"bad CSV: {err}", path=path, line=line) from err
        if len(row) < 14:
            if not any(row):
                continue
            raise FormatError(
                f"csvlog row has {len(row)} fields", path=path, line=line, expected="at least 14"
            )
        yield line, row[0], row[13]


def _entries_json(text: str, path: Path, bad: BadLines) -> Iterator[tuple[int, str, str]]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except JSON_ERRORS as err:
            bad.add(
                n,
                f"jsonlog line is not JSON: {json_problem(err)[0]}",
                expected="one JSON object per line",
            )
            continue
        if not isinstance(obj, dict):
            bad.add(n, "jsonlog line is not an object")
            continue
        msg = obj.get("message")
        if isinstance(msg, str):
            yield n, str(obj.get("timestamp", "")), msg


def _text_statement(body: str, path: Path) -> dict[str, Any]:
    """A text-format auto_explain body: ``Query Text: …`` (possibly many lines), then the plan."""
    from perfnb.io.explain_text import is_node_line, parse_text_plan

    lines = body.splitlines()
    start = next((k for k, ln in enumerate(lines) if is_node_line(ln)), None)
    if start is None:
        raise FormatError("no plan node line", path=path)
    query = "\n".join(lines[:start]).strip()
    query = query.removeprefix("Query Text:").strip()
    stmt = parse_text_plan("\n".join(lines[start:]), path=path)[0]
    if query:
        stmt["Query Text"] = query
    return stmt


def _sniff(path: Path, head: bytes) -> bool:
    return (
        b"plan:" in head
        and b"duration: " in head
        and (b"LOG:" in head or b'"message"' in head or bool(_CSV_HEAD.match(head)))
    )


@register_format(
    "auto_explain",
    description="auto_explain plans in a PostgreSQL log (stderr, csvlog, jsonlog)",
    kind="plan",
    sniff=_sniff,
    priority=15,
)
@guard_reader
def read_auto_explain(
    path: str | os.PathLike[str],
    *,
    run: str | None = None,
    encoding: str | None = None,
    on_bad_lines: OnBadLines = "error",
    engine: str = "pandas",
    client: Any = None,
) -> PlanSet:
    """Read the auto_explain plans of a PostgreSQL server log.

    Parameters
    ----------
    path
        A stderr log, a csvlog (``.csv``) or a jsonlog (``.json``); the kind is told by content.
    run
        Run label; default the file stem.
    encoding
        Text encoding (default UTF-8).
    on_bad_lines
        What to do with a plan whose JSON is cut or invalid: ``"error"`` (raise), ``"warn"``, ``"skip"``.
    engine
        ``"pandas"`` (default): every plan, in memory. ``"stream"`` / ``"dask"``: a log larger than
        memory (stderr or jsonlog, UTF-8) is read in byte ranges on entry boundaries and grouped by
        query on the fly; the result holds the worst plan of each query group, and ``meta["groups"]``
        the group table of the whole log (:func:`perfnb.scan.plans.read_auto_explain_scanned`).
    client
        For ``engine="dask"``: a ``Client`` or a scheduler address (default: the current client).

    Returns
    -------
    PlanSet
        In log order; each with ``query``, ``timestamp``, ``duration_s`` and ``execution_time_s``
        (``engine="stream"``/``"dask"``: the worst plan of each query group, most total time first).

    Raises
    ------
    FormatError
        A plan that is not valid JSON (file and line of its log entry), a bad CSV row.
    EmptyInputError
        No auto_explain plan in the log (the message says when only text-format plans were found).

    Examples
    --------
    >>> plans = read_auto_explain("data/samples/plans/auto_explain/postgresql.json")
    >>> plans[0].query
    "SELECT id, amount FROM orders WHERE customer_email = 'user42@example.com'"
    """
    if engine != "pandas":
        read = scanner("auto_explain", engine)
        return cast(
            "PlanSet",
            read(path, engine=engine, client=client, run=run, encoding=encoding,
                 on_bad_lines=on_bad_lines),
        )  # fmt: skip
    p = ensure_path(path)
    text = read_text(p, encoding=encoding)
    bad = BadLines(on_bad_lines, path=p)
    label = run_label(p, run)
    stripped = text.lstrip()
    if stripped.startswith("{") and '"message"' in stripped[:2000]:
        entries: Iterator[tuple[int, str, str]] = _entries_json(text, p, bad)
    elif _CSV_HEAD.match(stripped[:200].encode("utf-8", "replace")):
        entries = _entries_csv(text, p)
    else:
        entries = _entries_stderr(text)
    stmts: list[Any] = []
    meta: list[tuple[int, str, float]] = []
    text_plans = 0
    for line, ts_text, message in entries:
        m = _PLAN_MSG.search(message)
        if not m:
            continue
        body = message[m.end() :].strip()
        doc: Any
        if not body.startswith("{"):
            text_plans += 1
            try:
                doc = _text_statement(body, p)
            except FormatError as err:
                bad.add(line, f"auto_explain text plan unreadable: {err.message}")
                continue
        else:
            try:
                doc = json.loads(body)
            except JSON_ERRORS as err:
                bad.add(
                    line + (json_problem(err)[1] or 1) - 1 if "\n" in message else line,
                    f"auto_explain plan is not valid JSON ({json_problem(err)[0]}); was the log line cut?",
                )
                continue
        for stmt in _statements(doc, p):
            stmts.append(stmt)
            meta.append((line, ts_text, float(m.group(1)) * 1e-3))
    # all plans of the log: one pass over their nodes, one vectorized attribution, one node table
    cols, starts, kept = flatten_statements(
        stmts,
        path=p,
        indexes=list(range(len(stmts))),
        on_error=lambda k, err: bad.add(meta[k][0], err.message),
    )
    stmts = [stmts[k] for k in kept]
    meta = [meta[k] for k in kept]
    plans = _assemble(
        cols, starts, stmts, list(range(len(stmts))), path=p, run=label, source="auto_explain"
    )
    for plan, (_, ts_text, duration) in zip(plans, meta, strict=True):
        plan.timestamp = _timestamp(ts_text)
        plan.duration_s = duration
        plan.execution_time_s = duration
    if not plans:
        raise EmptyInputError(
            "no auto_explain plan in the log",
            path=p,
            expected="'duration: … ms  plan:' entries (auto_explain with log_format = json)",
        )
    frame = pd.DataFrame()
    bad.finish(frame)  # skipped entries land in the PlanSet's meta (skipped_rows, skipped_lines …)
    return PlanSet(plans, source="auto_explain", meta={"path": str(p), **frame.attrs["perfnb"]})
