"""Benchmark: ``summary()`` alone on the stream engine, with and without the per-interval histograms.

Issue 20 point 5: the streaming read used to build and merge per-interval histograms even when only
``summary()`` was asked for. ``intervals=True`` still does (the old behaviour: one pass for both); the
default builds what the summary needs. Builds an hour-long JTL with :func:`bench_scale.build` (JMeter's
own test file from the shared corpus, replicated; default 5,000,000 rows at 1,400 requests/s ≈ 3,570 s,
445 MB) and times both reads in fresh interpreters, interleaved: wall time and CPU time (user + sys, less
sensitive to other load on a shared machine). Imports are not timed.

Usage: ``.venv/bin/python benchmarks/bench_stream_summary.py [rows] [rps] [repeats]``. The file is never
committed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scale  # the file builder of the scale benchmark

CODE = (
    "import time, resource, json, perfnb, perfnb.io.scan, pyarrow.csv; "
    "r0 = resource.getrusage(resource.RUSAGE_SELF); t = time.perf_counter(); "
    "lt = perfnb.read_loadtest({path!r}, engine='stream', progress=False{kw}); s = lt.summary(); "
    "dt = time.perf_counter() - t; r1 = resource.getrusage(resource.RUSAGE_SELF); "
    "print(json.dumps([dt, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, "
    "r1.ru_maxrss * 1024]))"
)
CASES = (("with intervals (intervals=True)", ", intervals=True"), ("summary only (default)", ""))


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    rps = float(sys.argv[2]) if len(sys.argv) > 2 else 1_400.0
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    bench_scale.path_for = lambda n: Path(f"/tmp/perfnb_bench_scale_hour_{n}.jtl")  # noqa: S108
    path = bench_scale.build(rows, rps)
    print(
        f"file: {path} {rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB at {rps:,.0f} requests/s"
    )
    res: dict[str, list[list[float]]] = {name: [] for name, _ in CASES}
    for _ in range(repeats):
        for name, kw in CASES:
            out = subprocess.run(
                [sys.executable, "-c", CODE.format(path=str(path), kw=kw)],
                capture_output=True,
                text=True,
                check=True,
                cwd=bench_scale.ROOT,
            )
            res[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for name, runs in res.items():
        wall = sorted(r[0] for r in runs)
        cpu = sorted(r[1] for r in runs)
        print(
            f"{name:32s} wall best {wall[0]:.2f} s, median {wall[len(wall) // 2]:.2f} s | "
            f"CPU best {cpu[0]:.2f} s, median {cpu[len(cpu) // 2]:.2f} s | "
            f"peak RSS {max(r[2] for r in runs) / 1e6:.0f} MB"
        )


if __name__ == "__main__":
    main()
