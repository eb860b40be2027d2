"""auto_explain logs larger than memory: query groups computed on the fly, ``engine="stream"``/``"dask"``.

Entry point: :func:`scan_auto_explain`, returning a
:class:`PlanGroups`: the plans of a server log grouped by query (count, total / mean / max duration,
first and last seen) and the worst plan of each group, in memory bounded by one partition plus one
plan per group — pgBadger's approach to multi-GB logs.

The log is cut into byte ranges (:func:`perfnb.engine.byte_ranges`) moved forward to *entry*
boundaries: a stderr entry is a line that does not start with a tab plus its tab-indented
continuation lines, a jsonlog entry is one line. Each range is parsed on its own (``json.loads`` of
each plan, the query text normalized to its group), and the per-range groups merge exactly (sums,
maxima; the worst plan's JSON travels with its group). csvlog puts newlines inside quoted fields, so it
cannot be cut at line boundaries: use :func:`perfnb.read_auto_explain` for it.

``perfnb.read_auto_explain(path, engine="stream" | "dask")`` and ``perfnb.read_plans`` with the same
engines dispatch here (:func:`read_auto_explain_scanned`): they return a :class:`PlanSet` of the worst plan
of each query group, whose ``meta["groups"]`` is the group table of the whole log —
:func:`perfnb.analysis.plans.query_groups` returns it for such a set.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from perfnb.analysis.plans import normalize_query
from perfnb.engine import DEFAULT_CHUNK_BYTES, Partition, byte_ranges, check_engine, map_partitions
from perfnb.errors import EmptyInputError, FormatError, InputError
from perfnb.io._common import SCANNERS, BadLines, OnBadLines, ensure_path, head_bytes, run_label
from perfnb.io._files import is_plain
from perfnb.io.auto_explain import (
    _PLAN_MSG,
    _entries_json,
    _entries_stderr,
    _text_statement,
    _timestamp,
)
from perfnb.io.explain import Plan, plans_from_json
from perfnb.model.plan import PlanSet

__all__ = ["PlanGroups", "read_auto_explain_scanned", "scan_auto_explain"]

_QUERY_TEXT = re.compile(r"^\s*Query Text:\s*(.*?)(?:\n\S|\Z)", re.S)


@dataclass
class PlanGroups:
    """Plans of a log grouped by query, mergeable across partitions (see :func:`scan_auto_explain`).

    Attributes
    ----------
    groups
        Group id → ``{"query", "plans", "total_s", "max_s", "first", "last", "worst", "worst_at"}``
        where ``worst`` is the logged JSON text of the slowest plan, ``worst_at`` its log timestamp and
        ``first``/``last`` the log timestamps seen.
    plans
        Plans read.
    bad
        ``(byte offset, reason)`` of entries that could not be read (``on_bad_lines`` other than
        ``"error"``).
    """

    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    plans: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    path: str | None = None
    run: str = ""

    def add(self, key: str, query: str | None, duration_s: float, ts: str, body: str) -> None:
        """Count one plan."""
        self.plans += 1
        g = self.groups.get(key)
        if g is None:
            self.groups[key] = {"query": query, "plans": 1, "total_s": duration_s, "max_s": duration_s,
                                "first": ts, "last": ts, "worst": body, "worst_at": ts}  # fmt: skip
            return
        g["plans"] += 1
        g["total_s"] += duration_s
        if duration_s > g["max_s"]:
            g["max_s"] = duration_s
            g["worst"] = body
            g["worst_at"] = ts
        g["first"] = min(g["first"], ts) if ts else g["first"]
        g["last"] = max(g["last"], ts)

    def merge(self, other: PlanGroups) -> PlanGroups:
        """Combine two partitions' groups (associative and commutative)."""
        out = PlanGroups(dict(self.groups), self.plans + other.plans, [*self.bad, *other.bad])
        out.path, out.run = self.path or other.path, self.run or other.run
        for key, g in other.groups.items():
            mine = out.groups.get(key)
            if mine is None:
                out.groups[key] = dict(g)
                continue
            mine = out.groups[key] = dict(mine)
            mine["plans"] += g["plans"]
            mine["total_s"] += g["total_s"]
            if g["max_s"] > mine["max_s"]:
                mine["max_s"], mine["worst"], mine["worst_at"] = (
                    g["max_s"],
                    g["worst"],
                    g["worst_at"],
                )
            mine["first"] = min(mine["first"], g["first"])
            mine["last"] = max(mine["last"], g["last"])
        return out

    @property
    def frame(self) -> pd.DataFrame:
        """One row per group, most total time first.

        The columns of :func:`perfnb.analysis.plans.query_groups`, with ``first_seen``/``last_seen``.
        """
        rows = [
            {"query_group": k, "query": g["query"], "plans": g["plans"],
             "total_time_s": g["total_s"], "mean_time_s": g["total_s"] / g["plans"],
             "max_time_s": g["max_s"], "first_seen": _timestamp(g["first"]),
             "last_seen": _timestamp(g["last"])}
            for k, g in self.groups.items()
        ]  # fmt: skip
        cols = ["query_group", "query", "plans", "total_time_s", "mean_time_s", "max_time_s",
                "first_seen", "last_seen", "time_ratio"]  # fmt: skip
        if not rows:
            return pd.DataFrame(columns=cols)
        out = pd.DataFrame(rows)
        total = float(out["total_time_s"].sum())
        out["time_ratio"] = out["total_time_s"] / total if total > 0 else float("nan")
        out = out.sort_values(["total_time_s", "plans"], ascending=False, kind="stable")
        out["query"] = out["query"].astype("string")
        return out[cols].reset_index(drop=True)

    def worst_plans(self, top: int | None = None) -> list[Plan]:
        """The slowest plan of each group (of the *top* groups by total time), as :class:`Plan`."""
        keys = self.frame["query_group"].tolist()[:top]
        out: list[Plan] = []
        for k, key in enumerate(keys):
            g = self.groups[key]
            body = g["worst"]
            doc = (
                json.loads(body)
                if body.startswith("{")
                else _text_statement(body, Path(str(self.path)))
            )
            plan = plans_from_json(doc, path=self.path, run=self.run, source="auto_explain")[0]
            plan.index = k
            plan.duration_s = plan.execution_time_s = g["max_s"]
            plan.timestamp = _timestamp(g["worst_at"])
            # its position in the log is not known (partitions are read apart): name it by its log time
            name = Path(self.path).name if self.path else (self.run or "log")
            plan.meta["ref"] = f"{name} at {g['worst_at']}" if g["worst_at"] else f"{name} {key}"
            out.append(plan)
        return out


def _fingerprint(query: str | None, qid: Any = None) -> tuple[str, str | None]:
    """The group id of :func:`perfnb.analysis.plans.query_group` and the normalized query text."""
    norm = normalize_query(query) if query else None
    if isinstance(qid, int) and not isinstance(qid, bool) and qid:
        return f"queryid {qid}", norm
    if not query or norm is None:
        return "(no query text)", None
    # the same id as perfnb.analysis.plans.query_group for a plan with this query text
    return "q" + hashlib.blake2b(norm.encode(), digest_size=4).hexdigest(), norm


def _scan_part(part: Partition, kind: str, mode: str) -> PlanGroups:
    with Path(part.path).open("rb") as fh:
        fh.seek(part.start)
        data = fh.read(part.nbytes)
    text = data.decode("utf-8", "replace")
    out = PlanGroups()
    entries = (
        _entries_json(text, Path(part.path), BadLines("skip"))
        if kind == "json"
        else _entries_stderr(text)
    )
    for _line, ts, message in entries:
        m = _PLAN_MSG.search(message)
        if not m:
            continue
        body = message[m.end() :].strip()
        qid = None
        if body.startswith("{"):
            try:
                doc = json.loads(body)
                query, qid = doc.get("Query Text"), doc.get("Query Identifier")
            except (json.JSONDecodeError, AttributeError) as err:
                reason = f"auto_explain plan is not valid JSON ({err}); was the log line cut?"
                if mode == "error":
                    raise FormatError(reason, path=part.path, key=f"byte {part.start}") from err
                out.bad.append((part.start, reason))
                continue
        else:  # text format: the query is the "Query Text:" lines before the plan
            qm = _QUERY_TEXT.match(body)
            query = qm.group(1).strip() if qm else None
        key, norm = _fingerprint(query if isinstance(query, str) else None, qid)
        out.add(key, norm, float(m.group(1)) * 1e-3, ts.split(" [", 1)[0], body)
    return out


def _entry_ranges(path: Path, chunk_bytes: int) -> list[Partition]:
    """Line-aligned byte ranges moved forward to the next line that does not start with a tab."""
    parts = byte_ranges(path, chunk_bytes)
    cuts = [p.start for p in parts] + [parts[-1].end] if parts else [0]
    size = path.stat().st_size
    fixed = [cuts[0]]
    with path.open("rb") as fh:
        for cut in cuts[1:-1]:
            fh.seek(cut)
            pos = cut
            while pos < size:
                line = fh.readline()
                if not line.startswith(b"\t"):
                    break
                pos += len(line)
            if pos > fixed[-1]:
                fixed.append(pos)
    if cuts[-1] > fixed[-1]:
        fixed.append(cuts[-1])
    return [Partition(str(path), a, b, k) for k, (a, b) in enumerate(itertools.pairwise(fixed))]


def scan_auto_explain(
    path: str | os.PathLike[str],
    *,
    engine: str = "stream",
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    client: Any = None,
    progress: bool | None = None,
    run: str | None = None,
    on_bad_lines: OnBadLines = "error",
) -> PlanGroups:
    """Group the auto_explain plans of a large server log by query, in bounded memory.

    Parameters
    ----------
    path
        A stderr log or a jsonlog (csvlog: use :func:`perfnb.read_auto_explain`).
    engine
        ``"stream"`` (partitions one after another) or ``"dask"`` (on a cluster); ``"pandas"`` reads
        the log as one partition.
    chunk_bytes
        Partition size; memory is about two partitions plus one plan per group.
    on_bad_lines
        ``"error"`` raises on a plan that is not valid JSON; ``"warn"``/``"skip"`` record it in
        :attr:`PlanGroups.bad`.

    Returns
    -------
    PlanGroups
        ``.frame`` (one row per query group), ``.worst_plans()`` (the slowest plan of each group).

    Raises
    ------
    FormatError
        A csvlog, or a plan that is not valid JSON (with ``on_bad_lines="error"``).
    EmptyInputError
        No auto_explain plan in the log.

    Examples
    --------
    >>> g = scan_auto_explain("data/samples/plans/auto_explain/workload.log", chunk_bytes=20_000)
    >>> g.plans, len(g.groups)
    (33, 10)
    """
    p = ensure_path(path)
    check_engine(engine)
    if on_bad_lines not in ("error", "warn", "skip"):
        raise InputError(f"on_bad_lines={on_bad_lines!r} is not supported",
                         expected="'error', 'warn' or 'skip'")  # fmt: skip
    if not is_plain(p):
        raise FormatError("a compressed or UTF-16 log cannot be cut into byte ranges", path=p,
                          hint="decompress it (zcat) or convert it to UTF-8, or read it with "
                               "engine='pandas'")  # fmt: skip
    head = head_bytes(p).lstrip()
    if re.match(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \w+,", head):
        raise FormatError("csvlog cannot be cut at line boundaries", path=p,
                          hint="use perfnb.read_auto_explain() for a csvlog")  # fmt: skip
    kind = "json" if head.startswith(b"{") else "stderr"
    size = p.stat().st_size
    parts = _entry_ranges(p, size + 1 if engine == "pandas" else chunk_bytes)
    if not parts:
        raise EmptyInputError("file is empty", path=p, expected="a PostgreSQL log")
    result = map_partitions(
        _scan_part, parts, PlanGroups.merge,
        engine="stream" if engine == "pandas" else engine, client=client, progress=progress,
        desc="auto_explain", kind=kind, mode=on_bad_lines,
    )  # fmt: skip
    if not result.plans:
        raise EmptyInputError("no auto_explain plan in the log", path=p,
                              expected="'duration: … ms  plan:' entries")  # fmt: skip
    result.path = str(p)
    result.run = run_label(p, run)
    if result.bad and on_bad_lines == "warn":
        import warnings

        warnings.warn(f"{p}: {len(result.bad)} unreadable plan(s) skipped", stacklevel=2)
    return result


def read_auto_explain_scanned(
    path: str | os.PathLike[str],
    *,
    engine: str = "stream",
    client: Any = None,
    run: str | None = None,
    encoding: str | None = None,
    on_bad_lines: OnBadLines = "error",
    progress: bool | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> PlanSet:
    """``read_auto_explain(path, engine="stream" | "dask")``: the worst plan of each query group.

    A log larger than memory cannot give every plan; this keeps what a review needs: the slowest plan of
    each query group (most total time first) and, in ``meta["groups"]``, the group table of the whole log
    (the columns of :func:`perfnb.analysis.plans.query_groups`, which returns it for this set, plus
    ``first_seen``/``last_seen``). ``meta["plans_read"]`` counts the plans in the log, ``meta["skipped"]``
    those that could not be read (``on_bad_lines="warn"``/``"skip"``). A plan's ``timestamp`` is when
    it was logged, and findings name it by that time (its position in the log is not kept).

    Examples
    --------
    >>> plans = read_auto_explain_scanned("data/samples/plans/auto_explain/workload.log", chunk_bytes=20_000)
    >>> len(plans), plans.meta["plans_read"], int(plans.meta["groups"]["plans"].sum())
    (10, 33, 33)
    """
    if encoding not in (None, "utf-8", "utf8", "UTF-8"):
        raise InputError(
            f"encoding={encoding!r} is not supported with engine={engine!r}",
            key="encoding",
            expected="UTF-8 (or engine='pandas')",
        )
    g = scan_auto_explain(path, engine=engine, client=client, progress=progress, run=run,
                          on_bad_lines=on_bad_lines, chunk_bytes=chunk_bytes)  # fmt: skip
    worst = g.worst_plans()
    groups = g.frame
    groups["worst_plan"] = range(len(groups))
    groups["worst_plan_ref"] = [p.meta["ref"] for p in worst]
    groups = groups[["query_group", "query", "plans", "total_time_s", "mean_time_s", "max_time_s",
                     "worst_plan", "worst_plan_ref", "time_ratio", "first_seen", "last_seen"]]  # fmt: skip
    meta = {"path": g.path, "engine": engine, "plans_read": g.plans, "skipped": len(g.bad),
            "groups": groups}  # fmt: skip
    return PlanSet(worst, source="auto_explain", run=g.run, meta=meta)


SCANNERS["auto_explain"] = read_auto_explain_scanned  # read_auto_explain(engine=…) dispatches here
