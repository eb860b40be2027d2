"""Benchmark: the streaming and Dask engines on a JTL larger than a notebook wants in memory (issue 9).

Builds ``/tmp/perfnb_bench_scale_<rows>.jtl`` by replicating JMeter's own ``HTMLReportTestFile.csv`` (255
real samples over about 60 s) from the shared corpus: copy *k* is shifted by ``k · 1000 / rps`` ms, so the
run looks like a load test at *rps* requests per second (default 20,000 — 20,000,000 rows span 1,000 s and
200 five-second intervals). Then times, each in a fresh interpreter with its peak RSS (best of three):

* ``stream``: ``perfnb.read_loadtest(path, engine="stream", intervals=True).summary()`` plus
  ``.intervals()`` (one pass that builds both);
* ``summary``: ``perfnb.read_loadtest(path, engine="stream").summary()`` alone (no interval histograms);
* ``pyarrow7`` / ``pyarrow4``: ``pyarrow.csv.read_csv`` of the 7 columns the streaming engine reads
  (timeStamp, elapsed, label, success, bytes, sentBytes, allThreads) / of the 4 the summary's percentiles need;
* ``dask``: the same as ``stream`` with ``engine="dask"`` on a ``LocalCluster`` of 2 worker processes
  (1 thread each; cluster start-up and the workers' first imports are not timed);
* ``pandas``: perfnb's in-memory engine, ``read_loadtest(path).summary()``;
* ``duckdb`` / ``polars``: what a user would pick instead — the same summary (requests, failures, mean, min,
  max, linear percentiles at 50/90/95/99 %, span, bytes) per label and overall, in DuckDB SQL over
  ``read_csv`` / with polars' ``scan_csv`` and its streaming engine.

Imports are never timed (each case imports what it uses before the clock starts). It also checks the streaming engine's percentiles against exact ``numpy.percentile`` over every value.

Usage: ``.venv/bin/python benchmarks/bench_scale.py [rows] [rps]``. The file is never committed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = (
    ROOT.parent
    / "shared"
    / "corpus"
    / "loadtests"
    / "jmeter"
    / "apache_jmeter_HTMLReportTestFile.csv"
)
SEVEN = "['timeStamp','elapsed','label','success','bytes','sentBytes','allThreads']"
FOUR = "['timeStamp','elapsed','label','success']"

CASES = {  # (setup, timed statement): setup is not timed
    "stream": (
        "import perfnb, perfnb.io.scan, pyarrow.csv",
        "lt = perfnb.read_loadtest(PATH, engine='stream', progress=False, intervals=True); "
        "s = lt.summary(); "
        "iv = lt.intervals(); OUT['p'] = s[['p50_s','p90_s','p95_s','p99_s']].to_numpy().tolist(); "
        "OUT['labels'] = s['label'].tolist()",
    ),
    "dask": (
        "import perfnb; from perfnb.engine import local_client; "
        "c = local_client(n_workers=2, threads_per_worker=1); "
        "c.run(__import__, 'perfnb.io.scan'); c.run(__import__, 'pyarrow.csv')",
        "lt = perfnb.read_loadtest(PATH, engine='dask', client=c, progress=False, intervals=True); "
        "s = lt.summary(); "
        "iv = lt.intervals(); OUT['p'] = s[['p50_s','p90_s','p95_s','p99_s']].to_numpy().tolist()",
    ),
    "summary": (  # summary() alone: the read builds no interval histograms (issue 20 point 5)
        "import perfnb, perfnb.io.scan, pyarrow.csv",
        "s = perfnb.read_loadtest(PATH, engine='stream', progress=False).summary()",
    ),
    "pyarrow7": (
        "import pyarrow.csv as c",
        f"t = c.read_csv(PATH, convert_options=c.ConvertOptions(include_columns={SEVEN})); "
        "assert t.num_rows > 0",
    ),
    "pyarrow4": (
        "import pyarrow.csv as c",
        f"t = c.read_csv(PATH, convert_options=c.ConvertOptions(include_columns={FOUR})); "
        "assert t.num_rows > 0",
    ),
    "pandas": (
        "import perfnb, pyarrow.csv",
        "s = perfnb.read_loadtest(PATH).summary(); assert int(s.requests.iloc[-1]) > 0",
    ),
    "duckdb": (  # the same summary in SQL (what a user would write instead of perfnb)
        "import duckdb; con = duckdb.connect(); con.execute('set enable_progress_bar = false')",
        "r = con.execute(\"select coalesce(label, 'Total'), count(*), count(*) filter (not success), "
        "avg(elapsed), min(elapsed), max(elapsed), quantile_cont(elapsed, [0.5, 0.9, 0.95, 0.99]), "
        "(max(timeStamp + elapsed) - min(timeStamp)) / 1000.0, sum(bytes), sum(sentBytes) "
        'from read_csv(?) group by grouping sets ((label), ())", [PATH]).fetchall(); '
        "OUT['labels'] = [k[0] for k in r]; OUT['p'] = [[x / 1000 for x in k[6]] for k in r]",
    ),
    "polars": (  # the same summary, lazily scanned with polars' streaming engine
        "import polars as pl",
        "lf = pl.scan_csv(PATH); e = pl.col('elapsed'); "
        "aggs = [pl.len(), (~pl.col('success')).sum(), e.mean().alias('mean'), e.min().alias('min'), "
        "e.max().alias('max'), "
        "*[e.quantile(q, 'linear').alias(str(q)) for q in (0.5, 0.9, 0.95, 0.99)], "
        "((pl.col('timeStamp') + e).max() - pl.col('timeStamp').min()).alias('span'), "
        "pl.col('bytes').sum(), pl.col('sentBytes').sum()]; "
        "g, t = pl.collect_all([lf.group_by('label').agg(aggs), lf.select(aggs)], engine='streaming'); "
        "rows = [*g.iter_rows(), ('Total', *t.row(0))]; "
        "OUT['labels'] = [r[0] for r in rows]; OUT['p'] = [[x / 1000 for x in r[6:10]] for r in rows]",
    ),
}


def path_for(rows: int) -> Path:
    """The scratch file for *rows* rows."""
    return Path(f"/tmp/perfnb_bench_scale_{rows}.jtl")  # noqa: S108 - a scratch file, never committed


def build(rows: int, rps: float) -> Path:
    """Write the file (if it is not already there with these parameters)."""
    big = path_for(rows)
    stamp = big.with_suffix(".params")
    if big.exists() and stamp.exists() and stamp.read_text() == f"{rows} {rps}":
        return big
    lines = SRC.read_text().splitlines()
    header, body = lines[0], lines[1:]
    split = [line.split(",", 1) for line in body]
    base = [(int(ts), rest) for ts, rest in split]
    shift = 1000.0 * len(body) / rps  # ms between copies
    with big.open("w") as out:
        out.write(header + "\n")
        written, copy = 0, 0
        while written < rows:
            off = round(copy * shift)
            chunk = [f"{ts + off},{rest}" for ts, rest in base[: rows - written]]
            out.write("\n".join(chunk) + "\n")
            written += len(chunk)
            copy += 1
    stamp.write_text(f"{rows} {rps}")
    return big


def run(case: str, path: Path) -> tuple[float, int, dict[str, object]]:
    """Seconds, peak RSS (bytes, this process and its children) and extra output of one case."""
    setup, stmt = CASES[case]
    code = (
        "import time, resource, json; OUT = {}; "
        f"PATH = {str(path)!r}; {setup}; t0 = time.perf_counter(); {stmt}; "
        "dt = time.perf_counter() - t0; "
        "rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024; "
        "print('RESULT', json.dumps([dt, rss, OUT]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    dt, rss, extra = json.loads(out.stdout.rsplit("RESULT ", 1)[1])
    return float(dt), int(rss), extra


def exact_percentiles(path: Path) -> dict[str, list[float]]:
    """numpy's exact percentiles of every label and Total (the reference)."""
    import numpy as np
    import pyarrow.csv as pacsv

    t = pacsv.read_csv(
        str(path), convert_options=pacsv.ConvertOptions(include_columns=["elapsed", "label"])
    )
    el = t.column("elapsed").to_numpy() / 1000.0
    lab = np.asarray(t.column("label").to_pylist(), dtype=object)
    out = {
        str(name): np.percentile(el[lab == name], [50, 90, 95, 99]).tolist()
        for name in np.unique(lab)
    }
    out["Total"] = np.percentile(el, [50, 90, 95, 99]).tolist()
    return out


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000
    rps = float(sys.argv[2]) if len(sys.argv) > 2 else 20_000.0
    t0 = time.perf_counter()
    path = build(rows, rps)
    size = path.stat().st_size
    print(
        f"file: {path} {rows:,} rows, {size / 1e6:,.0f} MB at {rps:,.0f} requests/s "
        f"(built/checked in {time.perf_counter() - t0:.1f} s)"
    )
    res = {c: min((run(c, path) for _ in range(3)), key=lambda r: r[0]) for c in CASES}
    for c, (s, rss, _) in res.items():
        print(
            f"{c:9s} {s:7.2f} s  {size / 1e6 / s:6.0f} MB/s  peak RSS {rss / 1e6:7.0f} MB "
            f"= {rss / size:.2f} × file size"
        )
    st, dk, p7, p4 = res["stream"], res["dask"], res["pyarrow7"], res["pyarrow4"]
    print(f"stream / pyarrow (7 columns it reads) time: {st[0] / p7[0]:.2f} (goal ≤ 1.5)")
    print(f"stream / pyarrow (4 columns) time:          {st[0] / p4[0]:.2f}")
    print(f"stream peak RSS: {st[1] / 1e6:.0f} MB (goal < 1000 MB)")
    print(f"summary() alone / summary + intervals time: {res['summary'][0] / st[0]:.2f}")
    print(f"dask (2 local workers) speed-up over stream: {st[0] / dk[0]:.2f}×")
    print(
        f"pandas engine / stream time: {res['pandas'][0] / st[0]:.2f}; memory {res['pandas'][1] / st[1]:.1f}×"
    )
    for other in ("duckdb", "polars"):
        o = res[other]
        print(
            f"stream / {other} time: {st[0] / o[0]:.2f} (goal: parity); "
            f"peak RSS {st[1] / 1e6:.0f} MB against {o[1] / 1e6:.0f} MB"
        )
    ref = exact_percentiles(path)
    for case in ("stream", "duckdb", "polars"):
        got = dict(zip(res[case][2]["labels"], res[case][2]["p"], strict=True))  # type: ignore[call-overload]
        worst = max(
            abs(g - r) / r
            for name, vals in ref.items()
            for g, r in zip(got[name], vals, strict=True)
        )
        print(f"{case} percentiles vs numpy.percentile: largest relative difference {worst:.2e}")
    dask_same = st[2]["p"] == dk[2]["p"]
    print(f"dask percentiles identical to stream: {dask_same}")


if __name__ == "__main__":
    main()
