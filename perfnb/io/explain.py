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

Each node becomes one row of :data:`~perfnb.io.plan_model.PLAN_NODES`; times are converted to seconds, per-loop values are kept
beside totals, and self time follows the model documented in :mod:`perfnb.analysis.plans`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfnb.analysis.plans import self_times
from perfnb.errors import EmptyInputError, FormatError, InputError
from perfnb.io._common import (
    JSON_ERRORS,
    ensure_path,
    guard_reader,
    head_bytes,
    json_problem,
    read_text,
    register_format,
    run_label,
)
from perfnb.io.plan_model import PLAN_NODES, Plan
from perfnb.schema import PROVENANCE

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


def _ms(v: Any) -> float:
    return float(v) * 1e-3 if v is not None else np.nan


def _kb(v: Any) -> float:
    return float(v) * 1024.0 if v is not None else np.nan


def _s(v: Any) -> str | None:
    """Text fields stay text: anything else (a number, a list) is rendered, never a dict in a column."""
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v) if isinstance(v, list | dict) else str(v)


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
    return [
        _build(stmt, path=path, index=k, run=label, source=source)
        for k, stmt in enumerate(statements)
    ]


_NUM_FIELDS = (
    "Startup Cost",
    "Total Cost",
    "Plan Rows",
    "Actual Startup Time",
    "Actual Total Time",
    "Actual Rows",
    "Actual Loops",
)


def _num(node: Mapping[str, Any], name: str, key: str, path: Any) -> float:
    """A cost, time, row or loop count: a finite number ≥ 0 (``-13``, ``Infinity``, ``1e999`` are not)."""
    v = node.get(name)
    if v is None:
        return np.nan
    x: float | None = None
    if isinstance(v, int | float) and not isinstance(v, bool):
        x = float(v) if abs(v) < 1e300 else float("inf")
    elif isinstance(v, str):
        try:
            x = float(v)
        except ValueError:
            x = None
    if x is None or not 0 <= x < float("inf"):
        raise FormatError(
            f"{name!r} is {{found}}", path=path, key=key, found=v, expected="a finite number ≥ 0"
        )
    return x


def _flatten(plan: Mapping[str, Any], key0: str, path: Any) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {k: [] for k in _ROW_KEYS}
    cols["_texts"] = []
    cols["_workers"] = []
    cols["_under_gather"] = []
    cols["_key"] = []
    # stack of (node, parent_id, depth, key, workers_launched_inherited, under_gather, forced divisor)
    stack: list[tuple[Any, int, int, str, Any, bool, float]] = [
        (plan, -1, 0, key0, None, False, 0.0)
    ]
    nid = 0
    while stack:
        node, parent, depth, key, wl_inh, under, forced = stack.pop()
        if not isinstance(node, Mapping):
            raise FormatError("plan node is not an object", path=path, key=key, found=node)
        nt = node.get("Node Type")
        if not isinstance(nt, str):
            raise FormatError("missing 'Node Type'", path=path, key=key, expected="a plan node")
        is_gather = nt in ("Gather", "Gather Merge")
        wl = node.get("Workers Launched")
        loops = _num(node, "Actual Loops", key, path)
        t = _num(node, "Actual Total Time", key, path)
        rows = _num(node, "Actual Rows", key, path)
        prows = _num(node, "Plan Rows", key, path)
        workers = node.get("Workers")
        procs = 1.0
        if under and loops == loops and loops > 0:
            if isinstance(workers, list) and workers:
                wloops = 0.0
                active = 0
                for w in workers:
                    wl_ = w.get("Actual Loops", 1) if isinstance(w, Mapping) else 0
                    wl_ = float(wl_) if isinstance(wl_, int | float) else 0.0
                    wloops += wl_
                    active += wl_ > 0
                procs = float(active + (1 if loops - wloops > 0.5 else 0))
            else:
                launched = float(wl_inh) if isinstance(wl_inh, int | float) else 0.0
                procs = min(launched + 1.0, loops)
            procs = max(procs, 1.0)
            if forced:
                # below a Parallel Append each child runs in a subset of the processes; its loops add up
                # to the Append's process time, so the Append's divisor keeps the sum consistent
                procs = forced
        cols["node_id"].append(nid)
        cols["parent_id"].append(parent if parent >= 0 else None)
        cols["depth"].append(depth)
        cols["node_type"].append(nt)
        cols["relation"].append(_s(node.get("Relation Name")))
        cols["schema_name"].append(_s(node.get("Schema")))
        cols["index_name"].append(_s(node.get("Index Name")))
        cols["alias"].append(_s(node.get("Alias")))
        cols["cte_name"].append(_s(node.get("CTE Name")))
        cols["parent_relationship"].append(_s(node.get("Parent Relationship")))
        cols["subplan_name"].append(_s(node.get("Subplan Name")))
        cols["strategy"].append(
            _s(node.get("Strategy") or node.get("Join Type") or node.get("Scan Direction"))
        )
        pa = node.get("Parallel Aware")
        cols["parallel_aware"].append(pa if isinstance(pa, bool) else None)
        cols["startup_cost"].append(_num(node, "Startup Cost", key, path))
        cols["total_cost"].append(_num(node, "Total Cost", key, path))
        cols["plan_rows"].append(prows)
        cols["actual_rows"].append(rows)
        cols["actual_rows_total"].append(rows * loops)
        cols["loops"].append(loops)
        cols["workers_planned"].append(node.get("Workers Planned"))
        cols["workers_launched"].append(wl if wl is not None else wl_inh)
        cols["processes"].append(procs)
        if loops == loops and loops > 0 and prows == prows:
            f = max(rows, 1.0) / max(prows, 1.0)
            cols["estimate_factor"].append(max(f, 1.0 / f))
            cols["estimate_direction"].append("under" if f > 1 else ("over" if f < 1 else "exact"))
        else:
            cols["estimate_factor"].append(np.nan)
            cols["estimate_direction"].append(None)
        for col, name in (
            ("rows_removed_by_filter", "Rows Removed by Filter"),
            ("rows_removed_by_join_filter", "Rows Removed by Join Filter"),
            ("rows_removed_by_index_recheck", "Rows Removed by Index Recheck"),
        ):
            v = _num(node, name, key, path)
            cols[col].append(v * loops if loops == loops else v)
        cols["startup_time_s"].append(_ms(node.get("Actual Startup Time")))
        cols["time_per_loop_s"].append(t * 1e-3)
        cols["total_time_s"].append(t * 1e-3 * loops / procs if loops == loops else np.nan)
        for col in _BLOCK_COLS:
            cols[col].append(node.get(_BLOCK_COLS[col]))
        cols["io_read_time_s"].append(
            _io(node, "I/O Read Time", "Shared I/O Read Time", "Local I/O Read Time")
        )
        cols["io_write_time_s"].append(
            _io(node, "I/O Write Time", "Shared I/O Write Time", "Local I/O Write Time")
        )
        cols["temp_io_read_time_s"].append(_ms(node.get("Temp I/O Read Time")))
        cols["temp_io_write_time_s"].append(_ms(node.get("Temp I/O Write Time")))
        cols["filter"].append(_s(node.get("Filter") or node.get("Join Filter")))
        cols["index_cond"].append(
            _s(
                node.get("Index Cond")
                or node.get("Recheck Cond")
                or node.get("Hash Cond")
                or node.get("Merge Cond")
            )
        )
        sk = node.get("Sort Key") or node.get("Group Key")
        cols["sort_key"].append(", ".join(map(str, sk)) if isinstance(sk, list) else _s(sk))
        cols["sort_method"].append(_s(node.get("Sort Method")))
        cols["sort_space_type"].append(_s(node.get("Sort Space Type")))
        cols["sort_space_used_bytes"].append(_kb(node.get("Sort Space Used")))
        cols["hash_batches"].append(node.get("Hash Batches", node.get("HashAgg Batches")))
        cols["original_hash_batches"].append(node.get("Original Hash Batches"))
        cols["peak_memory_bytes"].append(
            _kb(node.get("Peak Memory Usage", node.get("Peak Memory Usage (kB)")))
        )
        cols["disk_usage_bytes"].append(_kb(node.get("Disk Usage")))
        cols["heap_fetches"].append(node.get("Heap Fetches"))
        cols["exact_heap_blocks"].append(node.get("Exact Heap Blocks"))
        cols["lossy_heap_blocks"].append(node.get("Lossy Heap Blocks"))
        cols["cache_hits"].append(node.get("Cache Hits"))
        cols["cache_misses"].append(node.get("Cache Misses"))
        cols["_texts"].append(" ".join(str(node[k]) for k in _EXPR_KEYS if k in node))
        if isinstance(workers, list):
            for w in workers:
                if isinstance(w, Mapping):
                    cols["_workers"].append(_worker_row(nid, w, f"{key}.Workers", path))
        cols["_under_gather"].append(under)
        cols["_key"].append(key)
        children = node.get("Plans")
        if children is not None:
            if not isinstance(children, list):
                raise FormatError(
                    "'Plans' is not a list", path=path, key=key + ".Plans", found=children
                )
            c_wl = wl if is_gather else wl_inh
            c_under = under or is_gather
            c_forced = procs if (nt == "Append" and node.get("Parallel Aware") is True) else forced
            if is_gather:
                c_forced = 0.0
            for k in range(len(children) - 1, -1, -1):
                stack.append(
                    (children[k], nid, depth + 1, f"{key}.Plans[{k}]", c_wl, c_under, c_forced)
                )
        nid += 1
    return cols


_EXPR_KEYS = frozenset(
    (
        "Filter",
        "Join Filter",
        "Index Cond",
        "Recheck Cond",
        "Hash Cond",
        "Merge Cond",
        "One-Time Filter",
        "Output",
        "Function Call",
        "TID Cond",
        "Order By",
    )
)

_BLOCK_COLS = {
    f"{kind}_{op}_blocks": f"{kind.title()} {op.title()} Blocks"
    for kind in ("shared", "local", "temp")
    for op in ("hit", "read", "dirtied", "written")
    if not (kind == "temp" and op in ("hit", "dirtied"))
}

_ROW_KEYS = [c.name for c in PLAN_NODES.columns if c.name not in ("self_time_s", "self_ratio")][
    : -len(PROVENANCE)
]
_ROW_KEYS = [
    k
    for k in _ROW_KEYS
    if k not in ("self_time_uncertainty_s", "self_time_clamped_s", "self_time_note")
]


def _worker_row(nid: int, w: Mapping[str, Any], key: str, path: Any) -> dict[str, Any]:
    loops = _num(w, "Actual Loops", key, path)
    rows = _num(w, "Actual Rows", key, path)
    return {
        "node_id": nid,
        "worker": _num(w, "Worker Number", key, path),
        "startup_time_s": _num(w, "Actual Startup Time", key, path) * 1e-3,
        "time_per_loop_s": _num(w, "Actual Total Time", key, path) * 1e-3,
        "loops": loops,
        "actual_rows_total": rows * loops,
        "shared_hit_blocks": _num(w, "Shared Hit Blocks", key, path),
        "shared_read_blocks": _num(w, "Shared Read Blocks", key, path),
        "temp_written_blocks": _num(w, "Temp Written Blocks", key, path),
    }


def _io(node: Mapping[str, Any], old: str, shared: str, local: str) -> float:
    if old in node:
        return _ms(node[old])
    vals = [node[k] for k in (shared, local) if k in node]
    return _ms(sum(float(v) for v in vals)) if vals else np.nan


def _build(stmt: Any, *, path: Any, index: int, run: str, source: str) -> Plan:
    key = f"$[{index}]"
    if not isinstance(stmt, Mapping):
        raise FormatError("statement is not an object", path=path, key=key, found=stmt)
    root = stmt.get("Plan")
    if root is None:
        raise FormatError(
            "missing 'Plan'", path=path, key=key, expected="an EXPLAIN (FORMAT JSON) statement"
        )
    try:
        cols = _flatten(root, key + ".Plan", path)
    except (TypeError, ValueError, AttributeError) as err:
        if isinstance(err, FormatError):
            raise
        # a field of an unexpected type (a list where a number belongs …): name the statement
        raise FormatError(
            f"unexpected value in plan ({err})", path=path, key=key, expected="EXPLAIN JSON fields"
        ) from err
    texts = cols.pop("_texts")
    worker_rows = cols.pop("_workers")
    under = cols.pop("_under_gather")
    cols.pop("_key")
    analyzed = not np.isnan(cols["loops"][0])
    parent = [(-1 if p is None else p) for p in cols["parent_id"]]
    with np.errstate(all="ignore"):  # absurd inputs (1e308 loops) give inf/NaN, not warnings
        st = _self_times(cols, parent, under, texts)
        total = float(np.nansum(st["self_time_s"]))
        ratio = st["self_time_s"] / total if total > 0 else np.full(len(parent), np.nan)
    data: dict[str, Any] = dict(cols)
    data.update(st)
    if not analyzed:
        for k in ("self_time_s", "self_time_uncertainty_s", "self_time_clamped_s"):
            data[k] = np.full(len(parent), np.nan)
        ratio = np.full(len(parent), np.nan)
    data["self_ratio"] = ratio
    _check_ints(data, path, key)
    data["source"] = source
    data["run"] = run
    plan = _plan(stmt, data, analyzed=analyzed, path=path, index=index, run=run, source=source)
    plan.worker_data = worker_rows
    return plan


def _self_times(
    cols: dict[str, list[Any]], parent: list[int], under: list[Any], texts: list[Any]
) -> dict[str, np.ndarray]:
    return self_times(
        parent=parent,
        relationship=cols["parent_relationship"],
        subplan_name=cols["subplan_name"],
        cte_name=cols["cte_name"],
        node_type=cols["node_type"],
        depth=cols["depth"],
        total_time_s=cols["total_time_s"],
        loops=cols["loops"],
        processes=cols["processes"],
        under_gather=under,
        texts=texts,
    )


def _check_ints(cols: dict[str, Any], path: Any, key: str) -> None:
    for col in _INT_COLS:
        for v in cols[col]:
            if v is not None and (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not float(v).is_integer()
                or abs(v) >= 2**63
            ):
                raise FormatError(
                    f"{col!r} is {{found}}", path=path, key=key, found=v, expected="a whole number"
                )


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


_INT_COLS = (
    *_BLOCK_COLS,
    "workers_planned",
    "workers_launched",
    "hash_batches",
    "original_hash_batches",
    "heap_fetches",
    "exact_heap_blocks",
    "lossy_heap_blocks",
    "cache_hits",
    "cache_misses",
)


def _triggers(value: Any) -> pd.DataFrame:
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


@register_format(
    "explain",
    description="PostgreSQL EXPLAIN output (FORMAT JSON or text), raw or psql-framed",
    kind="plan",
    sniff=_sniff,
    extensions=(".json", ".txt"),
    priority=20,
)
@guard_reader
def read_plans(
    path: str | os.PathLike[str], *, run: str | None = None, encoding: str | None = None
) -> list[Plan]:
    """Read every statement's plan from an EXPLAIN JSON file, a psql paste, an auto_explain log or a folder.

    Parameters
    ----------
    path
        A ``.json`` file (one or many statements), psql output with the JSON, an auto_explain server log
        (stderr, csvlog, jsonlog — dispatched to :func:`perfnb.read_auto_explain`) or a folder of these.
    run
        Run label; default the file stem.
    encoding
        Text encoding (default UTF-8 with BOM detection).

    Returns
    -------
    list of Plan

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
    p = ensure_path(path, allow_dir=True)
    if p.is_dir():
        out: list[Plan] = []
        from perfnb.io.auto_explain import _sniff as _sniff_log
        from perfnb.io.explain import _sniff as _sniff_json

        for f in sorted(p.iterdir()):
            if not f.is_file() or f.suffix.lower() not in (".json", ".txt", ".log", ".csv"):
                continue
            head = head_bytes(f)
            if _sniff_json(f, head) or _sniff_log(f, head):
                out.extend(read_plans(f, run=run, encoding=encoding))
        if not out:
            raise EmptyInputError(
                "no plan file in folder", path=p, expected="*.json / *.txt / logs"
            )
        return out
    text = read_text(p, encoding=encoding)
    start = text[:4000]
    if "plan:" in start and ("duration:" in start or "auto_explain" in start):
        from perfnb.io.auto_explain import read_auto_explain

        logged: list[Plan] = read_auto_explain(p, run=run, encoding=encoding)
        return logged
    return plans_from_json(parse_explain_text(text, path=p), path=p, run=run)


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
    """One row per plan: run, index, query, timings, node count (for listing many plans)."""
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
            "nodes": len(p.nodes),
            "root": str(p.nodes["node_type"].iloc[0]),
        }
        for k, p in enumerate(plans)
    ]
    return pd.DataFrame(rows)
