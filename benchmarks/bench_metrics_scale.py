"""Benchmark: a long metric history in many Prometheus ``query_range`` files, downsampled to 1 minute.

Builds ``/tmp/perfnb_bench_metrics/latency_buckets_NNNN.json``: N files (default 200), each K copies (default
18, i.e. 30 minutes) of the real ``data/samples/metrics/query_range_latency_buckets.json`` (18 series, 1 s
step) with timestamps shifted 100 s per copy, so the files hold one continuous history. Then times, each in
a fresh subprocess (imports and cluster start-up not timed; peak RSS measured):

* stream: ``perfnb.scan_metrics(DIR, freq="1min")`` (one file after another);
* dask: the same with ``engine="dask"`` on a ``LocalCluster`` of 2 worker processes (1 thread each); peak
  RSS is the client's, and the largest worker's is printed beside it;
* dask-trim64M: the same cluster with glibc's ``MALLOC_TRIM_THRESHOLD_`` at 64 MiB in the workers instead of
  distributed's 64 KiB default, which makes the many small allocations of JSON parsing ~40 % slower;
* naive: every file with ``perfnb.read_prometheus``, ``pandas.concat``, then a per-series 1-minute resample
  (``groupby([...labels, pd.Grouper(freq="1min")]).mean()``).

Usage: ``.venv/bin/python benchmarks/bench_metrics_scale.py [files] [copies_per_file]``. Nothing is committed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "data" / "samples" / "metrics" / "query_range_latency_buckets.json"
DIR = Path("/tmp/perfnb_bench_metrics")  # noqa: S108 - scratch files, never committed
SPAN_S = 100.0  # the sample covers 100 s at a 1 s step

CASES = {  # (setup, timed statement); the statement leaves the frame in `df`
    "stream": (
        "import perfnb",
        "df = perfnb.scan_metrics(PATH, freq='1min').frame",
    ),
    "dask": (
        "import perfnb; from distributed import Client, LocalCluster; "
        "cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host='127.0.0.1', "
        "dashboard_address=None); client = Client(cluster); "
        "client.run(__import__, 'perfnb.io.metrics_scan')",
        "df = perfnb.scan_metrics(PATH, freq='1min', engine='dask', client=client).frame",
    ),
    "dask-trim64M": (
        "import dask, perfnb; from distributed import Client, LocalCluster; "
        "dask.config.set({'distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_': 64 << 20}); "
        "cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host='127.0.0.1', "
        "dashboard_address=None); client = Client(cluster); "
        "client.run(__import__, 'perfnb.io.metrics_scan')",
        "df = perfnb.scan_metrics(PATH, freq='1min', engine='dask', client=client).frame",
    ),
    "naive": (
        "import glob, pandas as pd, perfnb",
        "frames = [perfnb.read_prometheus(f, run='latency_buckets') "
        "for f in sorted(glob.glob(PATH + '/*.json'))]; "
        "raw = pd.concat(frames, ignore_index=True); del frames; "
        "keys = [c for c in raw.columns if c not in ('timestamp', 'value')]; "
        "df = raw.groupby([*keys, pd.Grouper(key='timestamp', freq='1min')], observed=True, "
        "dropna=False)['value'].mean().reset_index()",
    ),
}

REPORT = (
    "import resource, pandas as _pd; "
    "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024; "
    "peak = lambda: __import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss; "
    "wrss = max(client.run(peak).values()) * 1024 if 'client' in dir() else 0; "
    "h = int(_pd.util.hash_pandas_object(df, index=False).sum()); "
    "print(elapsed, rss, wrss, len(df), h)"
)


def build(files: int, copies: int) -> int:
    """Write the files (unless already there with this shape); return the number of samples."""
    stamp = DIR / ".shape"
    doc = json.loads(SRC.read_text())
    per_copy = sum(len(s["values"]) for s in doc["data"]["result"])
    if stamp.exists() and stamp.read_text() == f"{files} {copies}":
        return per_copy * copies * files
    DIR.mkdir(exist_ok=True)
    for old in DIR.glob("*.json"):
        old.unlink()
    for i in range(files):
        result = []
        for s in doc["data"]["result"]:
            values = [
                [round(t + (i * copies + c) * SPAN_S, 3), v]
                for c in range(copies)
                for t, v in s["values"]
            ]
            result.append({"metric": s["metric"], "values": values})
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        (DIR / f"latency_buckets_{i:04d}.json").write_text(json.dumps(body))
    stamp.write_text(f"{files} {copies}")
    return per_copy * copies * files


def run(case: str) -> tuple[float, int, int, int, int]:
    """Seconds, peak RSS (client, largest worker), rows and a hash of the result, in a fresh interpreter."""
    setup, stmt = CASES[case]
    code = (
        f"import time; PATH = {str(DIR)!r}; {setup}; t0 = time.perf_counter(); {stmt}; "
        f"elapsed = time.perf_counter() - t0; {REPORT}"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if out.returncode:
        raise SystemExit(f"{case} failed:\n{out.stderr[-3000:]}")
    secs, rss, wrss, rows, h = out.stdout.split()[-5:]
    return float(secs), int(rss), int(wrss), int(rows), int(h)


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 18
    t0 = time.perf_counter()
    samples = build(files, copies)
    size = sum(f.stat().st_size for f in DIR.glob("*.json"))
    print(
        f"input: {files} files in {DIR}, {samples:,} samples, {size / 1e6:.0f} MB, "
        f"{files * copies * SPAN_S / 3600:.0f} h of history (built/checked in {time.perf_counter() - t0:.1f} s)"
    )
    res = {c: min((run(c) for _ in range(2)), key=lambda r: r[0]) for c in CASES}
    for c, (s, rss, wrss, rows, _h) in res.items():
        worker = f" (largest worker {wrss / 1e6:.0f} MB)" if wrss else ""
        print(f"{c:12s} {s:7.2f} s   peak RSS {rss / 1e6:6.0f} MB{worker}   {rows:,} rows")
    st, dk, dt, nv = res["stream"], res["dask"], res["dask-trim64M"], res["naive"]
    print(f"identical stream/dask results: {st[3:] == dk[3:] == dt[3:]}")
    print(f"naive / stream time ratio:    {nv[0] / st[0]:.2f}")
    print(f"stream / dask time ratio:     {st[0] / dk[0]:.2f} (dask speed-up on 2 workers)")
    print(f"stream / dask-trim64M ratio:  {st[0] / dt[0]:.2f}")
    print(f"naive / stream peak memory:   {nv[1] / st[1]:.2f}")


if __name__ == "__main__":
    main()
