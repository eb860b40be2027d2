"""Benchmark: reading a 5,000,000-row JMeter JTL and summarising it.

Builds ``/tmp/perfnb_bench_5M.jtl`` (≈ 425 MB) by replicating JMeter's own ``HTMLReportTestFile.csv`` from the
shared corpus (timestamps shifted per copy), then times, each in a fresh subprocess (peak RSS measured):

* perfnb: ``perfnb.read_loadtest(path).summary()`` (imports are not timed, in any case);
* pyarrow: ``pyarrow.csv.read_csv`` of only the 4 columns the summary's percentiles need (timeStamp, elapsed,
  label, success); pyarrow7: of the 7 that perfnb's summary reads (plus bytes and sentBytes for the
  throughput in bytes, and responseMessage to leave Transaction Controllers out of the Total);
* naive pandas: ``pandas.read_csv(path)`` + ``groupby("label")["elapsed"].quantile([.5, .9, .95, .99])``;
* DuckDB: the same summary in SQL over ``read_csv`` — per label and overall (``GROUPING SETS``): requests,
  failures, mean, min, max, ``quantile_cont`` at 50/90/95/99 %, the time span, bytes received and sent;
* polars: the same summary from ``read_csv`` of the 6 columns it needs (``quantile(q, "linear")``).

DuckDB and polars are what a user would pick instead of perfnb for this summary (perfnb also computes Apdex
and leaves Transaction Controllers out of the Total, which needs a 7th column). perfnb's percentiles (numpy's
``linear`` method) are compared with both: the largest relative difference is printed (0 means identical).

Usage: ``.venv/bin/python benchmarks/bench_loadtests.py [rows]``. The file is never committed.
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
BIG = Path("/tmp/perfnb_bench_5M.jtl")  # noqa: S108 - a scratch file, never committed

PCT = "['p50_s','p90_s','p95_s','p99_s']"
CASES = {  # (imports, timed statement): imports are not timed; OUT["p"] maps label -> 4 percentiles in s
    "perfnb": (
        "import perfnb, perfnb.analysis.aggregate, pyarrow.csv",
        "lt = perfnb.read_loadtest(PATH); s = lt.summary(); assert int(s.requests.iloc[-1]) > 0; "
        f"OUT['p'] = dict(zip(s['label'], s[{PCT}].to_numpy().tolist()))",
    ),
    "pyarrow": (
        "import pyarrow.csv as c",
        "t = c.read_csv(PATH, convert_options=c.ConvertOptions("
        "include_columns=['timeStamp','elapsed','label','success'])); assert t.num_rows > 0",
    ),
    "pyarrow7": (
        "import pyarrow.csv as c",
        "t = c.read_csv(PATH, convert_options=c.ConvertOptions(include_columns=['timeStamp','elapsed',"
        "'label','success','bytes','sentBytes','responseMessage'])); assert t.num_rows > 0",
    ),
    "pandas": (
        "import pandas as pd",
        "df = pd.read_csv(PATH); "
        "q = df.groupby('label')['elapsed'].quantile([.5, .9, .95, .99]); assert len(q)",
    ),
    "duckdb": (
        "import duckdb; con = duckdb.connect(); con.execute('set enable_progress_bar = false')",
        "r = con.execute(\"select coalesce(label, 'Total'), count(*), count(*) filter (not success), "
        "avg(elapsed), min(elapsed), max(elapsed), quantile_cont(elapsed, [0.5, 0.9, 0.95, 0.99]), "
        "(max(timeStamp + elapsed) - min(timeStamp)) / 1000.0, sum(bytes), sum(sentBytes) "
        'from read_csv(?) group by grouping sets ((label), ())", [PATH]).fetchall(); '
        "OUT['p'] = {k[0]: [x / 1000 for x in k[6]] for k in r}",
    ),
    "polars": (
        "import polars as pl",
        "df = pl.read_csv(PATH, columns=['timeStamp', 'elapsed', 'label', 'success', 'bytes', "
        "'sentBytes']); e = pl.col('elapsed'); "
        "aggs = [pl.len(), (~pl.col('success')).sum(), e.mean().alias('mean'), e.min().alias('min'), "
        "e.max().alias('max'), "
        "*[e.quantile(q, 'linear').alias(str(q)) for q in (0.5, 0.9, 0.95, 0.99)], "
        "((pl.col('timeStamp') + e).max() - pl.col('timeStamp').min()).alias('span'), "
        "pl.col('bytes').sum(), pl.col('sentBytes').sum()]; "
        "g = df.group_by('label').agg(aggs); t = df.select(aggs); "
        "OUT['p'] = {r[0]: [x / 1000 for x in r[6:10]] for r in g.iter_rows()}; "
        "OUT['p']['Total'] = [x / 1000 for x in t.row(0)[5:9]]",
    ),
}


def worst_difference(a: dict[str, list[float]], b: dict[str, list[float]]) -> float:
    """Largest relative difference between two label -> percentiles maps (inf if the labels differ)."""
    if set(a) != set(b):
        return float("inf")
    return max(abs(x - y) / y for k in a for x, y in zip(a[k], b[k], strict=True))


def build(rows: int) -> None:
    """Write BIG with *rows* data rows (if it is not already there with that many)."""
    if (
        BIG.exists()
        and BIG.with_suffix(".rows").exists()
        and BIG.with_suffix(".rows").read_text() == str(rows)
    ):
        return
    lines = SRC.read_text().splitlines()
    header, body = lines[0], lines[1:]
    span = 70_000  # ms: shift per copy so that timestamps keep increasing
    with BIG.open("w") as out:
        out.write(header + "\n")
        written, copy = 0, 0
        while written < rows:
            chunk = []
            for line in body[: rows - written]:
                ts, rest = line.split(",", 1)
                chunk.append(f"{int(ts) + copy * span},{rest}")
            out.write("\n".join(chunk) + "\n")
            written += len(chunk)
            copy += 1
    BIG.with_suffix(".rows").write_text(str(rows))


def run(case: str) -> tuple[float, int, dict[str, list[float]]]:
    """Seconds, peak RSS (bytes) and percentiles (if the case gives them) of one case in a fresh interpreter."""
    setup, stmt = CASES[case]
    code = (
        f"import time, resource, json; OUT = {{}}; PATH = {str(BIG)!r}; {setup}; "
        f"t0 = time.perf_counter(); {stmt}; dt = time.perf_counter() - t0; "
        "print('RESULT', json.dumps([dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, OUT]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    secs, rss, extra = json.loads(out.stdout.rsplit("RESULT ", 1)[1])
    return float(secs), int(rss), extra.get("p", {})


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    t0 = time.perf_counter()
    build(rows)
    size = BIG.stat().st_size
    print(
        f"file: {BIG} {rows:,} rows, {size / 1e6:.0f} MB (built/checked in {time.perf_counter() - t0:.1f} s)"
    )
    res = {c: min((run(c) for _ in range(3)), key=lambda r: r[0]) for c in CASES}
    for c, (s, rss, _) in res.items():
        print(f"{c:8s} {s:6.2f} s   peak RSS {rss / 1e6:7.0f} MB = {rss / size:.2f} × file size")
    p, a, n = res["perfnb"], res["pyarrow"], res["pandas"]
    print(f"perfnb / pyarrow(4 cols) time ratio: {p[0] / a[0]:.2f} (goal ≤ 1.5)")
    print(
        f"perfnb / pyarrow(the 7 columns perfnb's summary reads) time ratio: {p[0] / res['pyarrow7'][0]:.2f}"
    )
    print(f"naive pandas / perfnb time ratio:    {n[0] / p[0]:.2f} (goal ≥ 2)")
    print(f"perfnb / naive pandas peak memory:   {p[1] / n[1]:.2f} (goal ≤ 1)")
    for other in ("duckdb", "polars"):
        o = res[other]
        print(
            f"perfnb / {other} time ratio: {p[0] / o[0]:.2f} (goal: parity); peak memory "
            f"{p[1] / o[1]:.2f}; percentiles' largest relative difference {worst_difference(p[2], o[2]):.1e}"
        )


if __name__ == "__main__":
    main()
