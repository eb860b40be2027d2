"""Bounded cost on hostile inputs (issue 19): deep evented profiles, a bad Grafana time cell, a pstats dump
claiming 2**31 items. Each case runs in its own process so peak RSS is the case's own.

Usage: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_safety.py [--depth 10000]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _chrome(depth: int, path: Path) -> None:
    events = [
        {"name": f"f{i % 50}", "ph": "B", "ts": 10 * i, "pid": 1, "tid": 1,
         "args": {"filename": "rec.py", "line": i % 50}}
        for i in range(depth)
    ] + [
        {"name": f"f{(depth - 1 - i) % 50}", "ph": "E", "ts": 10 * (depth + i), "pid": 1, "tid": 1}
        for i in range(depth)
    ]  # fmt: skip
    path.write_text(json.dumps(events))


def _grafana(path: Path) -> None:
    head = ['"Time";"a";"b"']
    rows = [f'"2019-01-15T{h:02d}:{m:02d}:{s:02d}+02:00";1.5;2.5' for h in range(24)
            for m in range(60) for s in range(0, 60, 3)]  # fmt: skip
    rows[len(rows) // 2] = '"2019-01-15T14:1x:00+02:00";1.5;2.5'
    path.write_text("\n".join(["sep=;", *head, *rows]) + "\n")


def _one(kind: str, path: str) -> None:
    import perfnb

    start = time.perf_counter()
    try:
        if kind == "chrome":
            perfnb.read_chrome_trace(path)
        elif kind == "grafana":
            perfnb.read_grafana(path, tz="UTC")
        else:
            perfnb.read_pstats(path)
        outcome = "read"
    except perfnb.PerfnbError as err:
        outcome = type(err).__name__
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{kind:8} {Path(path).stat().st_size / 1e6:6.2f} MB  {took:6.2f} s  {peak:6.0f} MB peak  {outcome}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=10_000)
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        _one(*args.one)
        return
    with tempfile.TemporaryDirectory() as tmp:
        chrome, grafana, pstats = Path(tmp, "deep.json"), Path(tmp, "g.csv"), Path(tmp, "c.prof")
        _chrome(args.depth, chrome)
        _grafana(grafana)
        pstats.write_bytes(b"{(\xff\xff\xff\x7f\x00\x00\x00")
        for kind, path in (("chrome", chrome), ("grafana", grafana), ("pstats", pstats)):
            subprocess.run(
                [sys.executable, __file__, "--one", kind, str(path)], check=True, cwd=ROOT
            )


if __name__ == "__main__":
    main()
