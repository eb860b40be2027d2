"""Text-format ``EXPLAIN [ANALYZE]`` → the same statement objects as ``FORMAT JSON`` (then :class:`Plan`).

Entry point: :func:`parse_text_plan`, used by :func:`perfnb.io.explain.parse_explain_text` when the input is
not JSON. The output mimics the JSON keys (``Node Type``, ``Actual Total Time`` …), so the node table and
the self-time model are shared with JSON input.

Handled: node lines with ``(cost=… rows=… width=…)`` and/or ``(actual time=a..b rows=r loops=l)`` or
``(never executed)``; ``->`` children by indentation; ``InitPlan``/``SubPlan``/``CTE`` headers; ``Worker N:``
lines; ``Key: value`` detail lines (``Filter``, ``Rows Removed by Filter``, ``Buffers``, ``Sort Method``,
``Buckets``/``Batches``, ``Heap Blocks``, ``Heap Fetches``, ``Workers Planned/Launched`` …); ``Planning
Time`` / ``Execution Time`` (either case); psql frames. Not handled (they raise
:class:`~perfnb.errors.FormatError`): hard-wrapped lines that split a node line.
"""

from __future__ import annotations

import re
from typing import Any

from perfnb.errors import FormatError

__all__ = ["is_node_line", "parse_text_plan", "strip_frames"]

_NODE = re.compile(
    r"^(?P<indent>\s*)(?:->\s+)?(?P<name>[A-Z][^(]*?)\s+"
    r"(?:\(cost=(?P<sc>[\d.]+)\.\.(?P<tc>[\d.]+) rows=(?P<pr>\d+) width=(?P<w>\d+)\)\s*)?"
    r"(?:\((?:actual time=(?P<as>[\d.]+)\.\.(?P<at>[\d.]+) rows=(?P<ar>[\d.]+) loops=(?P<al>\d+)"
    r"|actual rows=(?P<ar2>[\d.]+) loops=(?P<al2>\d+)|(?P<never>never executed))\))?\s*$"
)
_SUB = re.compile(r"^(?P<indent>\s*)(?P<name>(?:InitPlan|SubPlan)\b.*|CTE \S+.*)$")
_WORKER = re.compile(
    r"^\s*Worker (?P<n>\d+):\s+(?:actual time=(?P<s>[\d.]+)\.\.(?P<t>[\d.]+) rows=(?P<r>[\d.]+) "
    r"loops=(?P<l>\d+))?(?P<rest>.*)$"
)
_PROP = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Z][A-Za-z /()-]*?):\s+(?P<value>.*)$")
_TIME = re.compile(r"^\s*(Planning|Execution) [Tt]ime:\s+([\d.]+) ms\s*$")
_JOIN = re.compile(
    r"^(Hash|Merge|Nested Loop)(?: (Left|Right|Full|Semi|Anti|Right Anti|Right Semi))? ?(Join)?$"
)
_SCAN_ON = re.compile(
    r"^(?P<type>.+?)(?: using (?P<index>\S+))? on (?P<rel>\S+)(?: (?P<alias>\S+))?$"
)
_AGG = {"HashAggregate": "Hashed", "GroupAggregate": "Sorted", "MixedAggregate": "Mixed"}
_INT_PROPS = {
    "Rows Removed by Filter",
    "Rows Removed by Join Filter",
    "Rows Removed by Index Recheck",
    "Heap Fetches",
    "Workers Planned",
    "Workers Launched",
}


_FRAME_ONLY = re.compile(r"^[\s\-+=─━┼┿╋═╪╬┌┐└┘├┤┬┴╔╗╚╝╠╣╦╩│║|]*$")
_FOOTER = re.compile(r"^\s*\(\d+ \w+\)\s*$")


def strip_frames(text: str) -> str:
    """Remove psql/pgAdmin frames from a text plan but keep its indentation."""
    out: list[str] = []
    for line in text.splitlines():
        if _FRAME_ONLY.match(line) or _FOOTER.match(line) or line.strip() == "QUERY PLAN":
            continue
        body = line
        for ch in "|│║":
            if body.lstrip().startswith(ch):
                body = body.lstrip()[1:]
            if body.rstrip().endswith(ch):
                body = body.rstrip()[:-1]
        if body.rstrip().endswith(("+", "↵")):
            body = body.rstrip()[:-1]
        out.append(body.rstrip())
    return "\n".join(out)


def is_node_line(line: str) -> bool:
    """Whether *line* is a text-format plan node line (has cost/actual figures)."""
    m = _NODE.match(line)
    return bool(m and (m.group("sc") or m.group("as") or m.group("never") or m.group("ar2")))


def _node_type(name: str, node: dict[str, Any]) -> None:
    name = name.strip()
    for prefix, mode in (("Partial ", "Partial"), ("Finalize ", "Finalize")):
        if name.startswith(prefix):
            node["Partial Mode"] = mode
            name = name[len(prefix) :]
    if name.startswith("Parallel "):
        node["Parallel Aware"] = True
        name = name[len("Parallel ") :]
    else:
        node["Parallel Aware"] = False
    m = _SCAN_ON.match(name)
    if m and (
        " Scan" in m.group("type") or m.group("type") in ("Update", "Insert", "Delete", "Merge")
    ):
        base = m.group("type")
        if base.endswith(" Backward"):
            base = base[: -len(" Backward")]
            node["Scan Direction"] = "Backward"
        if m.group("index"):
            node["Index Name"] = m.group("index")
        if base == "CTE Scan":
            node["CTE Name"] = m.group("rel")
        elif base in ("Subquery Scan", "Values Scan", "WorkTable Scan", "Named Tuplestore Scan"):
            node["Alias"] = m.group("rel")
        elif base in ("Function Scan",):
            node["Function Name"] = m.group("rel")
        else:
            rel = m.group("rel")
            if "." in rel and not rel.startswith('"'):  # VERBOSE prints schema.relation
                node["Schema"], rel = rel.split(".", 1)
            node["Relation Name"] = rel
        if base not in ("Update", "Insert", "Delete", "Merge"):
            # EXPLAIN prints the alias only when it differs; JSON always has one
            node["Alias"] = m.group("alias") or m.group("rel").split(".")[-1]
        if base in ("Update", "Insert", "Delete", "Merge"):
            node["Operation"] = base
            base = "ModifyTable"
        name = base
    elif name.startswith("Bitmap Index Scan on "):
        node["Index Name"] = name.split(" on ", 1)[1]
        name = "Bitmap Index Scan"
    j = _JOIN.match(name)
    if j and (j.group(3) or j.group(1) == "Nested Loop"):
        name = "Nested Loop" if j.group(1) == "Nested Loop" else f"{j.group(1)} Join"
        node["Join Type"] = j.group(2) or "Inner"
    if name in _AGG:
        node["Strategy"] = _AGG[name]
        name = "Aggregate"
    node["Node Type"] = name


def _kb(text: str) -> float | None:
    m = re.search(r"(\d+)kB", text)
    return float(m.group(1)) if m else None


def _prop(node: dict[str, Any], key: str, value: str) -> None:
    value = value.strip()
    if key in _INT_PROPS:
        try:
            node[key] = int(float(value))
        except ValueError:
            node[key] = value
        return
    if key == "Buffers":
        for part in value.split(","):
            words = part.split()
            if not words:
                continue
            kind = words[0].title()
            for item in words[1:]:
                if "=" in item:
                    op, n = item.split("=", 1)
                    if n.isdigit():
                        node[f"{kind} {op.title()} Blocks"] = int(n)
        return
    if key == "Sort Method":
        parts = re.split(r"\s{2,}", value)
        node["Sort Method"] = parts[0]
        for p in parts[1:]:
            if ":" in p:
                k, v = p.split(":", 1)
                node["Sort Space Type"] = k.strip()
                node["Sort Space Used"] = _kb(v)
        return
    if key == "Buckets":
        m = re.search(r"Batches: (\d+)(?: \(originally (\d+)\))?", value)
        if m:
            node["Hash Batches"] = int(m.group(1))
            node["Original Hash Batches"] = int(m.group(2) or m.group(1))
        mem = re.search(r"Memory Usage: (\d+)kB", value)
        if mem:
            node["Peak Memory Usage"] = float(mem.group(1))
        return
    if key == "Batches":  # HashAggregate: "Batches: 5  Memory Usage: 8241kB  Disk Usage: 216kB"
        m = re.match(r"(\d+)", value)
        if m:
            node["HashAgg Batches"] = int(m.group(1))
        mem = re.search(r"Memory Usage: (\d+)kB", value)
        if mem:
            node["Peak Memory Usage"] = float(mem.group(1))
        disk = re.search(r"Disk Usage: (\d+)kB", value)
        if disk:
            node["Disk Usage"] = float(disk.group(1))
        return
    if key == "I/O Timings":
        # pre-15 "read=1.0 write=2.0"; 15-16 "shared/local read=…, temp read=…"; 17+ "shared read=…, local …"
        for part in value.split(","):
            words = part.split()
            scope = words[0] if words and "=" not in words[0] else ""
            for item in words:
                if "=" not in item:
                    continue
                op, n = item.split("=", 1)
                try:
                    ms = float(n)
                except ValueError:
                    continue
                prefix = "Temp I/O" if scope == "temp" else "I/O"
                name = f"{prefix} {op.title()} Time"
                node[name] = node.get(name, 0.0) + ms if prefix == "I/O" else ms
        return
    if key == "Heap Blocks":
        for k, v in re.findall(r"(exact|lossy)=(\d+)", value):
            node[f"{k.title()} Heap Blocks"] = int(v)
        return
    if key in ("Sort Key", "Group Key"):
        node[key] = [v.strip() for v in value.split(", ")]
        return
    node[key] = value


def parse_text_plan(text: str, *, path: Any = None) -> list[dict[str, Any]]:
    r"""Parse text-format EXPLAIN output (one or several statements) into JSON-shaped statements.

    Raises
    ------
    FormatError
        When no node line is found, or a detail line comes before any node.

    Examples
    --------
    >>> s = parse_text_plan("Seq Scan on t  (cost=0.00..1.00 rows=10 width=4) "
    ...                     "(actual time=0.010..0.020 rows=10 loops=1)\nExecution Time: 0.05 ms")
    >>> s[0]["Plan"]["Node Type"], s[0]["Plan"]["Relation Name"], s[0]["Execution Time"]
    ('Seq Scan', 't', 0.05)
    """
    statements: list[dict[str, Any]] = []
    stmt: dict[str, Any] | None = None
    stack: list[tuple[int, dict[str, Any]]] = []  # (indent of the node name, node)
    pending: tuple[int, str] | None = None  # (indent, subplan header)
    footer = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        t = _TIME.match(line)
        if t:
            if stmt is None:
                raise FormatError("timing line before any plan node", path=path, line=lineno)
            stmt[f"{t.group(1)} Time"] = float(t.group(2))
            continue
        if line.strip() in ("Planning:", "Serialization:") or line.strip().startswith(
            ("JIT:", "Settings:", "Query Identifier:", "Trigger ")
        ):
            footer = True  # statement-level sections: their Buffers are not the root's
            continue
        m = _NODE.match(line)
        if m and (m.group("sc") or m.group("as") or m.group("never") or m.group("ar2")):
            footer = False
            indent = len(m.group("indent")) + (4 if line.lstrip().startswith("->") else 0)
            node: dict[str, Any] = {}
            _node_type(m.group("name"), node)
            if m.group("sc"):
                node["Startup Cost"] = float(m.group("sc"))
                node["Total Cost"] = float(m.group("tc"))
                node["Plan Rows"] = int(m.group("pr"))
                node["Plan Width"] = int(m.group("w"))
            if m.group("as"):
                node["Actual Startup Time"] = float(m.group("as"))
                node["Actual Total Time"] = float(m.group("at"))
                node["Actual Rows"] = float(m.group("ar"))
                node["Actual Loops"] = int(m.group("al"))
            elif m.group("ar2"):
                node["Actual Rows"] = float(m.group("ar2"))
                node["Actual Loops"] = int(m.group("al2"))
            elif m.group("never"):
                node.update({"Actual Startup Time": 0.0, "Actual Total Time": 0.0, "Actual Rows": 0.0,
                             "Actual Loops": 0})  # fmt: skip
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if not stack:
                if stmt is not None:
                    statements.append(stmt)
                stmt = {"Plan": node}
            else:
                parent = stack[-1][1]
                siblings = parent.setdefault("Plans", [])
                if pending is not None and pending[0] < indent:
                    header = pending[1]
                    node["Parent Relationship"] = (
                        "SubPlan" if header.startswith("SubPlan") else "InitPlan"
                    )
                    node["Subplan Name"] = header
                else:
                    ptype = parent.get("Node Type", "")
                    if ptype in ("Append", "Merge Append", "BitmapAnd", "BitmapOr"):
                        rel = "Member"
                    elif ptype == "Subquery Scan":
                        rel = "Subquery"
                    else:
                        ordinary = [
                            c
                            for c in siblings
                            if c.get("Parent Relationship") in ("Outer", "Inner")
                        ]
                        rel = "Inner" if ordinary else "Outer"
                    node["Parent Relationship"] = rel
                siblings.append(node)
            pending = None
            stack.append((indent, node))
            continue
        s = _SUB.match(line)
        if s and stack:
            pending = (len(s.group("indent")), s.group("name").strip())
            while len(stack) > 1 and stack[-1][0] >= pending[0]:
                stack.pop()  # the header belongs to the node printed above at a smaller indent
            continue
        w = _WORKER.match(line)
        if w and stack:
            workers = stack[-1][1].setdefault("Workers", [])
            entry: dict[str, Any] = {"Worker Number": int(w.group("n"))}
            if w.group("t"):
                entry.update({"Actual Startup Time": float(w.group("s")), "Actual Total Time": float(w.group("t")),
                              "Actual Rows": float(w.group("r")), "Actual Loops": int(w.group("l"))})  # fmt: skip
            workers.append(entry)
            continue
        p = _PROP.match(line)
        if p and stack and not footer:
            indent = len(p.group("indent"))
            while len(stack) > 1 and stack[-1][0] >= indent:
                stack.pop()
            _prop(stack[-1][1], p.group("key"), p.group("value"))
            continue
        # other lines (Trigger …, JIT:, Settings:, Query Text, wrapped text) carry no node data we use
    if stmt is not None and stmt.get("Plan") is not None:
        statements.append(stmt)
    if not statements:
        raise FormatError("no EXPLAIN plan node found", path=path, expected="EXPLAIN output")
    return statements
