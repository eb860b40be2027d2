"""Benchmark: reading a 5,000,000-row JMeter JTL and summarising it.

Builds ``/tmp/perfnb_bench_5M.jtl`` (≈ 425 MB) by replicating JMeter's own ``HTMLReportTestFile.csv`` from the
shared corpus (timestamps shifted per copy), then times, each in a fresh subprocess (peak RSS measured):

* perfnb: ``perfnb.read_loadtest(path).summary()`` (imports are not timed, in any case);
* pyarrow: ``pyarrow.csv.read_csv`` of only the 4 columns the summary's percentiles need (timeStamp, elapsed,
  label, success); pyarrow7: of the 7 that perfnb's summary reads (plus bytes and sentBytes for the
  throughput in bytes, and responseMessage to leave Transaction Controllers out of the Total);
* naive pandas: ``pandas.read_csv(path)`` + ``groupby("label")["elapsed"].quantile([.5, .9, .95, .99])``.

Usage: ``.venv/bin/python benchmarks/bench_loadtests.py [rows]``. The file is never committed.
"""

from __future__ import annotations

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

CASES = {  # (imports, timed statement): imports are not timed
    "perfnb": (
        "import perfnb, perfnb.analysis.aggregate, pyarrow.csv",
        "lt = perfnb.read_loadtest(PATH); s = lt.summary(); assert int(s.requests.iloc[-1]) > 0",
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
}


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


def run(case: str) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of one case in a fresh interpreter."""
    setup, stmt = CASES[case]
    code = (
        f"import time, resource; PATH = {str(BIG)!r}; {setup}; t0 = time.perf_counter(); {stmt}; "
        "print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    secs, rss = out.stdout.split()[-2:]
    return float(secs), int(rss)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    t0 = time.perf_counter()
    build(rows)
    size = BIG.stat().st_size
    print(
        f"file: {BIG} {rows:,} rows, {size / 1e6:.0f} MB (built/checked in {time.perf_counter() - t0:.1f} s)"
    )
    res = {c: min((run(c) for _ in range(2)), key=lambda r: r[0]) for c in CASES}
    for c, (s, rss) in res.items():
        print(f"{c:8s} {s:6.2f} s   peak RSS {rss / 1e6:7.0f} MB = {rss / size:.2f} × file size")
    p, a, n = res["perfnb"], res["pyarrow"], res["pandas"]
    print(f"perfnb / pyarrow(4 cols) time ratio: {p[0] / a[0]:.2f} (goal ≤ 1.5)")
    print(
        f"perfnb / pyarrow(the 7 columns perfnb's summary reads) time ratio: {p[0] / res['pyarrow7'][0]:.2f}"
    )
    print(f"naive pandas / perfnb time ratio:    {n[0] / p[0]:.2f} (goal ≥ 2)")
    print(f"perfnb / naive pandas peak memory:   {p[1] / n[1]:.2f} (goal ≤ 1)")


if __name__ == "__main__":
    main()
