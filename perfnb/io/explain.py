"""PostgreSQL ``EXPLAIN`` reader: JSON (and, via :mod:`perfnb.io.explain_text`, text) → :class:`Plan`.

Entry points: :func:`read_plan` (exactly one statement → :class:`Plan`), :func:`read_plans` (every
statement of a file or folder → list of :class:`Plan`), :func:`read_explain` (alias of ``read_plans``),
:func:`plans_from_json` (an already-parsed document), :func:`parse_explain_text`.

Inputs: the JSON that ``EXPLAIN (ANALYZE, BUFFERS[, VERBOSE, SETTINGS, WAL], FORMAT JSON)`` prints, one or
many statements per file, PostgreSQL 9.x–18 (fractional rows of 18, the PG17 split of ``I/O Read Time``
into shared/local, PG15 temp I/O), plain ``EXPLAIN`` without ANALYZE (actual columns missing), and JSON
pasted from psql (``QUERY PLAN`` header, ``+`` continuations, ``(N rows)`` footer, ``|``/``│`` borders).
Text-format EXPLAIN is read by :mod:`perfnb.io.explain_text` into the same JSON-shaped statements (hard-
wrapped pastes are not repaired).

Each node becomes one row of :data:`~perfnb.model.plan.PLAN_NODES`; times are converted to seconds, per-loop values are kept
beside totals, and self time follows the model documented in :mod:`perfnb.analysis.plans`.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError, FormatError, InputError
from perfnb.io._common import (
    JSON_ERRORS,
    check_engine,
    ensure_path,
    expand_paths,
    guard_reader,
    head_bytes,
    json_problem,
    read_text,
    register_format,
    register_kind,
    run_label,
)
from perfnb.io.explain_flatten import _ms, flatten_statements
from perfnb.io.plan_table import NodeTable, attribute
from perfnb.model.plan import PLAN_NODES, Plan, PlanSet

__all__ = [
    "PLAN_NODES",
    "Plan",
    "parse_explain_text",
    "plans_frame",
    "plans_from_json",
    "read_explain",
    "read_plan",
    "read_plans",
]


# ---------------------------------------------------------------------------------------------- parsing

_FRAME_CHARS = "|│║┃"
_ROWS_FOOTER = re.compile(r"^\(\d+ \w+\)$")
_TEXT_PLAN = re.compile(r"\(cost=\d|\(actual time=|\bactual rows=|->\s+\w")


def _strip_psql(text: str) -> str:
    """Undo psql/pgAdmin framing: header, rules, borders, ``+``/``↵`` continuations, ``(N rows)``."""
    out: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        s = s.strip(_FRAME_CHARS).strip()
        if s in ("QUERY PLAN", "") or _ROWS_FOOTER.match(s):
            continue
        if set(s) <= set("-+=─━┼┿╋═╪╬┌┐└┘├┤┬┴╔╗╚╝╠╣╦╩│║| "):
            continue
        if s.endswith(("+", "↵")):
            s = s[:-1].rstrip()
        out.append(s)
    return "\n".join(out)


def parse_explain_text(text: str, *, path: str | os.PathLike[str] | None = None) -> list[Any]:
    """Parse EXPLAIN output (JSON or text, raw or psql-framed) to a list of statement objects.

    Several concatenated JSON documents (psql printing two EXPLAINs) are all returned.

    Raises
    ------
    FormatError
        Invalid JSON (with line), or text that holds no plan node.
    EmptyInputError
        Nothing in the file.
    """
    body = text.lstrip("\ufeff")
    if not body.strip():
        raise EmptyInputError("file is empty", path=path, expected="EXPLAIN (FORMAT JSON) output")
    first = body.lstrip()[:1]
    if first not in ("[", "{"):
        body = _strip_psql(body)
        start = min((k for k in (body.find("["), body.find("{")) if k >= 0), default=-1)
        if start < 0 or '"Plan"' not in body:
            if _TEXT_PLAN.search(text):
                from perfnb.io.explain_text import parse_text_plan, strip_frames

                return list(parse_text_plan(strip_frames(text), path=path))
            raise FormatError(
                "no EXPLAIN JSON found", path=path, expected="EXPLAIN (FORMAT JSON) output"
            )
        prefix = body[:start]
        body = body[start:]
        if prefix.strip() and _TEXT_PLAN.search(prefix):
            from perfnb.io.explain_text import parse_text_plan, strip_frames

            return list(parse_text_plan(strip_frames(text), path=path))
    body = body.replace('""', '"') if body.lstrip().startswith('"') else body
    decoder = json.JSONDecoder()
    docs: list[Any] = []
    pos = 0
    n = len(body)
    while pos < n:
        while pos < n and body[pos].isspace():
            pos += 1
        if pos >= n:
            break
        if body[pos] not in "[{":
            # text between statements (psql header of the next result, a prompt): skip to next JSON start
            nxt = min((k for k in (body.find("[", pos), body.find("{", pos)) if k >= 0), default=-1)
            if nxt < 0 or not docs:
                line = body.count("\n", 0, pos) + 1
                raise FormatError(
                    "unexpected text after the plan JSON",
                    path=path,
                    line=line,
                    found=body[pos : pos + 40],
                )
            pos = nxt
            continue
        try:
            doc, end = decoder.raw_decode(body, pos)
        except JSON_ERRORS as err:
            raise FormatError(
                f"invalid JSON: {json_problem(err)[0]}",
                path=path,
                line=json_problem(err)[1],
                expected="EXPLAIN (FORMAT JSON) output",
            ) from err
        except RecursionError as err:
            raise FormatError("JSON nested too deeply", path=path) from err
        docs.append(doc)
        pos = end
    statements: list[Any] = []
    for doc in docs:
        statements.extend(_statements(doc, path))
    return statements


def _statements(doc: Any, path: str | os.PathLike[str] | None) -> list[Any]:
    if isinstance(doc, Mapping):
        if "QUERY PLAN" in doc:  # a driver returning the row as a mapping
            return _statements(doc["QUERY PLAN"], path)
        return [doc]
    if isinstance(doc, list):
        out: list[Any] = []
        for item in doc:
            if isinstance(item, list):
                out.extend(_statements(item, path))
            else:
                out.append(item)
        return out
    raise FormatError(
        "not an EXPLAIN JSON document", path=path, found=doc, expected="a list of {'Plan': …}"
    )


def plans_from_json(
    doc: Any,
    *,
    path: str | os.PathLike[str] | None = None,
    run: str | None = None,
    source: str = "explain",
) -> list[Plan]:
    """Build :class:`Plan` objects from parsed EXPLAIN JSON (a list of statements or one statement).

    Raises
    ------
    FormatError
        When an element is not a plan, with its JSONPath key.
    EmptyInputError
        When there is no statement.
    """
    statements = _statements(doc, path)
    if not statements:
        raise EmptyInputError(
            "no plan in the document", path=path, expected="EXPLAIN (FORMAT JSON) output"
        )
    label = run if run else (run_label(path, None) if path is not None else "plan")
    cols, starts, _ = flatten_statements(statements, path=path)
    indexes = list(range(len(statements)))
    return _assemble(cols, starts, statements, indexes, path=path, run=label, source=source)


def _assemble(
    cols: dict[str, Any],
    starts: list[int],
    stmts: list[Any],
    indexes: list[int],
    *,
    path: Any,
    run: str,
    source: str,
) -> list[Plan]:
    """Plans from the columns of many statements: one vectorized attribution, one node table."""
    if not stmts:
        return []
    workers = cols.pop("_workers")
    n = starts[-1]
    offsets = np.repeat(np.asarray(starts[:-1], dtype="int64"), np.diff(starts))
    parent_local = np.array([-1 if v is None else v for v in cols["parent_id"]], dtype="int64")
    gather_local = np.asarray(cols.pop("_gather"), dtype="int64")
    pid = np.repeat(np.arange(len(stmts)), np.diff(starts))
    with np.errstate(all="ignore"):  # absurd inputs (1e308 loops) give inf/NaN, not warnings
        times = attribute(
            parent=np.where(parent_local >= 0, parent_local + offsets, -1),
            relationship=cols["parent_relationship"],
            subplan_name=cols["subplan_name"],
            cte_name=cols["cte_name"],
            node_type=cols["node_type"],
            depth=cols["depth"],
            time_per_loop_s=cols["time_per_loop_s"],
            loops=cols["loops"],
            processes=cols["processes"],
            gather=np.where(gather_local >= 0, gather_local + offsets, -1),
            critical_s=cols.pop("_critical"),
            texts=cols.pop("_texts"),
            plan=pid,
        )
    cols.pop("_under_gather")
    cols.pop("_key", None)
    loops = np.asarray(cols["loops"], dtype="float64")
    analyzed = ~np.isnan(loops[np.asarray(starts[:-1], dtype="int64")]) if n else np.zeros(0, bool)
    if not analyzed.all():
        na = ~analyzed[pid]
        for name in ("self_time_s", "self_time_uncertainty_s", "self_time_clamped_s", "self_ratio"):
            times[name][na] = np.nan
        times["self_time_note"][na] = None
        times["total_time_s"][na] = np.nan
    cols.update(times)
    cols["source"] = source
    cols["run"] = run
    table = NodeTable(cols, starts)
    plans: list[Plan] = []
    for k, stmt in enumerate(stmts):
        lo, hi = starts[k], starts[k + 1]
        data = {
            name: (values if isinstance(values, str) else values[lo:hi])
            for name, values in cols.items()
        }
        plan = _plan(
            stmt, data, analyzed=bool(analyzed[k]), path=path, index=indexes[k], run=run,
            source=source,
        )  # fmt: skip
        plan.worker_data = workers[k]
        plan._table = table
        plan._row = k
        plans.append(plan)
    return plans


def _build(stmt: Any, *, path: Any, index: int, run: str, source: str) -> Plan:
    """One statement → :class:`Plan` (see :func:`_assemble` for many)."""
    cols, starts, _ = flatten_statements([stmt], path=path, indexes=[index])
    return _assemble(cols, starts, [stmt], [index], path=path, run=run, source=source)[0]


def _plan(
    stmt: Mapping[str, Any],
    cols: dict[str, Any],
    *,
    analyzed: bool,
    path: Any,
    index: int,
    run: str,
    source: str,
) -> Plan:
    triggers = _triggers(stmt.get("Triggers"))
    jit = stmt.get("JIT") if isinstance(stmt.get("JIT"), Mapping) else {}
    timing = jit.get("Timing") if isinstance(jit, Mapping) else None
    jit_total = timing.get("Total") if isinstance(timing, Mapping) else None
    settings = stmt.get("Settings")
    query = stmt.get("Query Text")
    return Plan(
        node_data=cols,
        query=query if isinstance(query, str) else None,
        planning_time_s=_ms(_opt_num(stmt.get("Planning Time"))),
        execution_time_s=_ms(_opt_num(stmt.get("Execution Time"))),
        trigger_time_s=float(triggers["time_s"].sum()) if len(triggers) else 0.0,
        jit_time_s=_ms(jit_total) if isinstance(jit_total, int | float) else 0.0,
        triggers=triggers,
        jit=dict(jit) if isinstance(jit, Mapping) else {},
        settings=dict(settings) if isinstance(settings, Mapping) else {},
        analyzed=analyzed,
        source=source,
        run=run,
        path=os.fspath(path) if path is not None else None,
        index=index,
        raw=dict(stmt),
    )


def _opt_num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


_NO_TRIGGERS = pd.DataFrame(
    {"name": pd.Series(dtype=object), "relation": pd.Series(dtype=object),
     "time_s": pd.Series(dtype="float64"), "calls": pd.Series(dtype=object)}
)  # fmt: skip


def _triggers(value: Any) -> pd.DataFrame:
    if not value:
        # one shared empty frame: building an empty DataFrame per logged plan cost ~1 ms each
        return _NO_TRIGGERS
    rows = []
    if isinstance(value, list):
        for t in value:
            if isinstance(t, Mapping):
                rows.append(
                    {
                        "name": str(t.get("Trigger Name") or t.get("Constraint Name") or ""),
                        "relation": str(t.get("Relation") or ""),
                        "time_s": _ms(_opt_num(t.get("Time"))),
                        "calls": _opt_num(t.get("Calls")),
                    }
                )
    return pd.DataFrame(rows, columns=["name", "relation", "time_s", "calls"])


# ---------------------------------------------------------------------------------------------- readers


_TEXT_SNIFF = re.compile(rb"\(cost=\d+\.\d+\.\.\d+\.\d+ rows=\d+ width=\d+\)|\(actual time=\d")


def _sniff(path: Path, head: bytes) -> bool:
    if b'"Node Type"' not in head:
        # text-format EXPLAIN (not an auto_explain log, which has its own reader)
        return bool(_TEXT_SNIFF.search(head)) and b"duration: " not in head
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"[", b"{"):
        return b"plan:" not in head[:400]
    return b"QUERY PLAN" in head[:2000]


@register_kind("plan")
@register_format(
    "explain",
    description="PostgreSQL EXPLAIN output (FORMAT JSON or text), raw or psql-framed",
    kind="plan",
    sniff=_sniff,
    priority=20,
)
@guard_reader
def read_plans(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    run: str | None = None,
    encoding: str | None = None,
    engine: str = "pandas",
    client: Any = None,
) -> PlanSet:
    """Read every statement's plan from an EXPLAIN JSON file, a psql paste, an auto_explain log or a folder.

    Parameters
    ----------
    path
        A ``.json`` file (one or many statements), psql output with the JSON, an auto_explain server log
        (stderr, csvlog, jsonlog — dispatched to :func:`perfnb.read_auto_explain`), or a folder, glob
        pattern or list of these (see :func:`perfnb.io.expand_paths`).
    run
        Run label; default the file stem.
    encoding
        Text encoding (default UTF-8 with BOM detection).
    engine, client
        For server logs larger than memory: ``engine="stream"``/``"dask"`` keeps the worst plan of each
        query group (see :func:`perfnb.read_auto_explain`); EXPLAIN files are read whole whatever the
        engine.

    Returns
    -------
    PlanSet
        A list of :class:`Plan` with the model protocol (``source``, ``run``, ``meta``).

    Raises
    ------
    FormatError
        Invalid JSON (file and line), JSON that is not a plan (file and key), text without a plan.
    EmptyInputError
        No plan in the input.

    Examples
    --------
    >>> plans = read_plans("data/samples/plans/psql_multi.txt")
    >>> [(p.index, p.nodes["node_type"].iloc[0]) for p in plans][0]
    (0, 'Index Scan')
    >>> len(plans)
    2
    """
    if not isinstance(path, str | os.PathLike) or Path(path).is_dir() or _is_pattern(path):
        plans: list[Plan] = []
        for f in expand_paths(path, kind="plan"):
            plans.extend(read_plans(f, run=run, encoding=encoding, engine=engine, client=client))
        files = sorted({str(p_.path) for p_ in plans if p_.path})
        source = ",".join(sorted({p_.source for p_ in plans}))
        return PlanSet(plans, source=source, run=run or "", meta={"files": files})
    p = ensure_path(path)
    check_engine(engine)
    if engine != "pandas":  # tell a log from its head, without reading all of it
        start = head_bytes(p).decode("utf-8", "replace")
        if _is_log(start):
            from perfnb.io.auto_explain import read_auto_explain

            return read_auto_explain(p, run=run, encoding=encoding, engine=engine, client=client)
    text = read_text(p, encoding=encoding)
    if _is_log(text[:4000]):
        from perfnb.io.auto_explain import read_auto_explain

        logged = read_auto_explain(p, run=run, encoding=encoding)
        return PlanSet(logged, source="auto_explain", meta=logged.meta)
    plans = plans_from_json(parse_explain_text(text, path=p), path=p, run=run)
    return PlanSet(plans, source="explain", meta={"path": str(p)})


def _is_log(start: str) -> bool:
    """Whether the first characters of a file are an auto_explain server log's."""
    return "plan:" in start and ("duration:" in start or "auto_explain" in start)


def _is_pattern(path: str | os.PathLike[str]) -> bool:
    return not Path(path).exists() and glob.has_magic(os.fspath(path))


read_explain = read_plans


@guard_reader
def read_plan(
    path: str | os.PathLike[str], *, run: str | None = None, encoding: str | None = None
) -> Plan:
    """Read a file holding exactly one statement's plan.

    Raises
    ------
    InputError
        If the file holds several plans (use :func:`read_plans`).

    Examples
    --------
    >>> plan = read_plan("data/samples/plans/seq_scan_filter.json")
    >>> plan.nodes[["node_type", "relation"]].iloc[0].tolist()
    ['Seq Scan', 'orders']
    """
    plans: list[Plan] = read_plans(path, run=run, encoding=encoding)
    if len(plans) != 1:
        raise InputError(
            f"holds {len(plans)} plans",
            path=path,
            expected="exactly one (use perfnb.read_plans() for several)",
        )
    return plans[0]


def plans_frame(plans: Iterable[Plan]) -> pd.DataFrame:
    """One row per plan: run, index, query, timings, node count (for listing many plans).

    Reads the plans' flattened columns, not their node frames, so listing a folder of plans read one file
    at a time does not build a frame per plan.
    """
    rows = [
        {
            "position": k,
            "run": p.run,
            "index": p.index,
            "timestamp": p.timestamp,
            "query": p.query,
            "execution_time_s": p.total_time_s,
            "planning_time_s": p.planning_time_s,
            "jit_time_s": p.jit_time_s,
            "nodes": len(p.node_data["node_id"]),
            "root": str(p.node_data["node_type"][0]),
        }
        for k, p in enumerate(plans)
    ]
    return pd.DataFrame(rows)
