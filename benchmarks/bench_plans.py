"""Benchmark the plan readers against the json.loads floor, in the same run (ratios, not times).

* **700-plan auto_explain log** (issue 20.1): the stderr log ``data/samples/plans/auto_explain/workload.log``
  (33 real auto_explain JSON entries from PostgreSQL 15, VERBOSE, parallel and serial plans) replicated
  to 700 entries with varied literals and timestamps. Floor: read the file, split it into entries and
  ``json.loads`` every plan. perfnb: ``read_auto_explain`` + the node table of all plans
  (:func:`perfnb.io.plan_table.node_table`) — what ``plan_review`` needs. Target ≤ 5×.
* **10,000-node plan**: an Append over copies of a real plan's subtree. Floor: ``json.loads`` + a pandas
  flatten (walk the tree, one dict per node without its children, ``pd.DataFrame``). perfnb:
  ``plans_from_json`` + ``.nodes``. Target ≤ 1.5×.

* **Large log in bounded memory** (issue 20.2): the workload log replicated to ``--large-mb`` MB (default
  200). Floor: split + ``json.loads`` of every plan, streamed line by line (in one process); perfnb:
  :func:`perfnb.scan.plans.scan_auto_explain` (stream engine, 64 MB partitions), query groups and the
  worst plan per group. Each runs in a fresh process (best of 3); peak RSS is that process's. Target ≤ 3×
  the floor, < 1 GB.
* **A 2 GB log works**: the same, replicated to ``--huge-mb`` MB (default 2000; 0 skips it), read once by
  perfnb in a fresh process; it checks that every plan written was counted and prints time and peak RSS.

Run: ``.venv/bin/python benchmarks/bench_plans.py [--large-mb 200] [--huge-mb 2000]`` (best of 5,
interleaved, for the in-process cases).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

import perfnb
from perfnb.io.explain import plans_from_json
from perfnb.io.plan_table import node_table

ROOT = Path(__file__).resolve().parents[1]
PLANS = ROOT / "data" / "samples" / "plans"
WORKLOAD = PLANS / "auto_explain" / "workload.log"


def best_of(fns: dict[str, Callable[[], object]], n: int = 5) -> dict[str, float]:
    """Min time of each function over *n* interleaved rounds."""
    out = {k: float("inf") for k in fns}
    for _ in range(n):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            out[k] = min(out[k], time.perf_counter() - t)
    return out


def big_plan_text(n_nodes: int = 10_000) -> str:
    """An Append over copies of the (5-node) hash_spill plan's subtree until n_nodes nodes."""
    doc = json.loads((PLANS / "hash_spill.json").read_text())
    sub = doc[0]["Plan"]
    per = 0
    stack = [sub]
    while stack:
        node = stack.pop()
        per += 1
        stack.extend(node.get("Plans", []))
    copies = (n_nodes - 1) // per
    children = []
    for _ in range(copies):
        child = copy.deepcopy(sub)
        child["Parent Relationship"] = "Member"
        children.append(child)
    total = sum(c["Actual Total Time"] for c in children)
    root = {
        "Node Type": "Append",
        "Parallel Aware": False,
        "Startup Cost": 0.0,
        "Total Cost": 1.0,
        "Plan Rows": 1,
        "Plan Width": 4,
        "Actual Startup Time": 0.01,
        "Actual Total Time": total,
        "Actual Rows": 3 * copies,
        "Actual Loops": 1,
        "Plans": children,
    }
    out = [{"Plan": root, "Planning Time": 1.0, "Execution Time": total}]
    return json.dumps(out, indent=2)


_ENTRY = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC) \[(\d+)\] LOG:  duration: ", re.M)


def build_log(path: Path, n_plans: int = 700) -> int:
    """A stderr log of *n_plans* auto_explain entries replicated from the real workload log."""
    text = WORKLOAD.read_text()
    starts = [m.start() for m in _ENTRY.finditer(text)] + [len(text)]
    entries = [text[a:b] for a, b in itertools.pairwise(starts)]
    out = []
    for k in range(n_plans):
        e = entries[k % len(entries)]
        # vary literals and times so the entries are not byte-identical
        e = re.sub(r"user(\d+)@", lambda m, k=k: f"user{int(m.group(1)) + k}@", e, count=2)
        e = _ENTRY.sub(
            f"2026-12-03 1{(k // 3600) % 10}:{(k // 60) % 60:02d}:{k % 60:02d}.{k % 1000:03d} UTC "
            f"[{30000 + k % 50}] LOG:  duration: ",
            e,
            count=1,
        )
        out.append(e)
    path.write_text("".join(out))
    return len(out)


def split_and_loads(path: Path) -> list[Any]:
    """The floor: read, split into entries at un-indented lines, json.loads each plan."""
    docs = []
    for chunk in re.split(r"\n(?=\S)", path.read_text()):
        k = chunk.find("plan:\n")
        if k >= 0:
            docs.append(json.loads(chunk[k + 6 :].replace("\n\t", "\n")))
    return docs


def pandas_flatten(text: str) -> pd.DataFrame:
    """The floor: json.loads + walk the tree + one DataFrame of the nodes' scalar fields."""
    rows = []
    stack = [json.loads(text)[0]["Plan"]]
    while stack:
        node = stack.pop()
        rows.append({k: v for k, v in node.items() if k not in ("Plans", "Workers")})
        stack.extend(reversed(node.get("Plans", [])))
    return pd.DataFrame(rows)


def build_large_log(path: Path, mb: int) -> int:
    """The workload log's entries, varied, until *mb* megabytes (written in 8 MB blocks)."""
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed.log"
        build_log(seed, 1400)
        block = seed.read_text()
    n = 0
    with path.open("w") as fh:
        while fh.tell() < mb * 1_000_000:
            fh.write(block.replace("user", f"u{n}x"))
            n += 1400
    return n


def peak_rss_mb() -> float:
    """This process's peak RSS in MB: the memory map's high-water mark (``VmHWM``).

    Not ``getrusage().ru_maxrss``: Linux carries a parent's peak into the child across ``exec``, so a
    child of this (large) benchmark process would report the parent's peak as its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, path: str) -> None:
    """Run one measured reader in this (fresh) process; print seconds and peak RSS in MB."""
    t0 = time.perf_counter()
    if kind == "floor":
        buf: list[str] = []
        with Path(path).open() as fh:  # streamed, so its memory is one plan, not the file
            for line in fh:
                if line.startswith("\t"):
                    buf.append(line[1:])
                    continue
                if buf:
                    json.loads("".join(buf))
                buf = []
            if buf:
                json.loads("".join(buf))
        n = 0
    else:
        from perfnb.scan.plans import scan_auto_explain

        g = scan_auto_explain(path, progress=False)
        g.worst_plans(top=10)
        n = g.plans
    dt = time.perf_counter() - t0
    rss = peak_rss_mb()
    print(f"{dt:.3f} {rss:.0f} {n}")


def large(mb: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "postgresql.log"
        n = build_large_log(log, mb)
        best: dict[str, tuple[float, float]] = {}
        for _ in range(3):
            for kind in ("floor", "perfnb"):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", kind, str(log)],
                    capture_output=True, text=True, check=True,
                ).stdout.split()  # fmt: skip
                t, rss = float(out[0]), float(out[1])
                if kind == "perfnb":
                    assert int(out[2]) == n, f"{out[2]} plans counted, {n} written"
                if kind not in best or t < best[kind][0]:
                    best[kind] = (t, rss)
        (tf, rf), (tp, rp) = best["floor"], best["perfnb"]
        print(f"large auto_explain log: {log.stat().st_size / 1e6:.0f} MB, {n:,} plans")
        print(f"  split + json.loads (streamed) {tf:8.2f} s  peak RSS {rf:6.0f} MB  (floor)")
        print(
            f"  scan_auto_explain (stream)    {tp:8.2f} s  peak RSS {rp:6.0f} MB  "
            f"ratio {tp / tf:.2f}x floor (target <= 3x, < 1 GB)"
        )


def huge(mb: int) -> None:
    """One perfnb read of an *mb* MB log in a fresh process: it works, counts every plan, stays bounded."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "postgresql.log"
        t0 = time.perf_counter()
        n = build_large_log(log, mb)
        built = time.perf_counter() - t0
        out = subprocess.run(
            [sys.executable, __file__, "--child", "perfnb", str(log)],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        t, rss, counted = float(out[0]), float(out[1]), int(out[2])
        size = log.stat().st_size
        print(f"huge auto_explain log: {size / 1e6:,.0f} MB, {n:,} plans (built in {built:.0f} s)")
        print(
            f"  scan_auto_explain (stream)    {t:8.2f} s  peak RSS {rss:6.0f} MB  "
            f"{size / 1e6 / t:.0f} MB/s; plans counted {counted:,} of {n:,} "
            f"({'all' if counted == n else 'MISSING'}; target: works, < 1 GB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large-mb", type=int, default=200)
    parser.add_argument("--huge-mb", type=int, default=2000)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    text = big_plan_text()
    n = len(plans_from_json(json.loads(text))[0].nodes)
    t = best_of(
        {
            "json.loads": lambda: json.loads(text),
            "floor": lambda: pandas_flatten(text),
            "perfnb": lambda: plans_from_json(json.loads(text))[0].nodes,
        }
    )
    print(f"10k-node plan: {n} nodes, {len(text) / 1e6:.1f} MB of JSON")
    print(f"  json.loads                    {t['json.loads'] * 1e3:8.1f} ms")
    print(f"  json.loads + pandas flatten   {t['floor'] * 1e3:8.1f} ms  (floor)")
    print(
        f"  perfnb plans_from_json.nodes  {t['perfnb'] * 1e3:8.1f} ms  "
        f"ratio {t['perfnb'] / t['floor']:.2f}x floor (target <= 1.5x)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "postgresql.log"
        count = build_log(log)
        assert len(split_and_loads(log)) == count

        def perfnb_table() -> object:
            return node_table(perfnb.read_auto_explain(log))

        t = best_of({"floor": lambda: split_and_loads(log), "perfnb": perfnb_table})
        nodes = len(perfnb_table())  # type: ignore[arg-type]
        print(f"auto_explain log: {log.stat().st_size / 1e6:.1f} MB, {count} plans, {nodes} nodes")
        print(f"  split + json.loads            {t['floor'] * 1e3:8.1f} ms  (floor)")
        print(
            f"  read_auto_explain + node table {t['perfnb'] * 1e3:7.1f} ms  "
            f"ratio {t['perfnb'] / t['floor']:.2f}x floor (target <= 5x)"
        )
        plans = perfnb.read_auto_explain(log)
        t0 = time.perf_counter()
        perfnb.check(plans)
        print(f"  check() all plans             {(time.perf_counter() - t0) * 1e3:8.1f} ms")
    if args.large_mb:
        large(args.large_mb)
    if args.huge_mb:
        huge(args.huge_mb)


if __name__ == "__main__":
    main()
