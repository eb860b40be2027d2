"""Metrics benchmarks: a 1,000,000-sample query_range response vs DuckDB read_json and json.loads+pandas;
change points on 20,000 points.

Run: ``.venv/bin/python benchmarks/bench_metrics.py [--otava PYTHON]``. With ``--otava`` pointing at a Python that
has ``apache-otava`` installed (a throwaway venv; perfnb never depends on it), the same series and seeded noise
are run through Otava in that interpreter and compared side by side.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perfnb.analysis.trends import change_points
from perfnb.io.prometheus import read_prometheus


def _best(f: object, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def response_bytes(series: int = 100, points: int = 10_000) -> bytes:
    """A body in Prometheus' exact encoding: ms-precision timestamps, values as shortest-round-trip strings."""
    rng = np.random.default_rng(0)
    parts = []
    t0 = 1_700_000_000.0
    for s in range(series):
        vals = np.round(rng.lognormal(-2, 1, points), 6)
        pairs = ",".join(f'[{t0 + i * 15:.3f},"{v!r}"]' for i, v in enumerate(vals.tolist()))
        parts.append(
            f'{{"metric":{{"__name__":"http_request_duration_seconds","instance":"host-{s}:9100",'
            f'"job":"node"}},"values":[{pairs}]}}'
        )
    return (
        '{"status":"success","data":{"resultType":"matrix","result":[' + ",".join(parts) + "]}}"
    ).encode()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _json_pandas(path: Path) -> object:
    """The hand-written floor: json.loads, then one frame of (timestamp, value) plus labels."""
    import pandas as pd

    doc = json.loads(path.read_bytes())
    frames = []
    for s in doc["data"]["result"]:
        v = np.asarray(s["values"], dtype=object)
        f = pd.DataFrame({"timestamp": v[:, 0].astype(float), "value": v[:, 1].astype(float)})
        for k, lab in s["metric"].items():
            f[k] = lab
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out["timestamp"] = pd.to_datetime(out["timestamp"], unit="s", utc=True)
    return out


def _duckdb(path: Path) -> object:
    """DuckDB's read_json of the same body, unnested to one row per sample (what a user would write)."""
    import duckdb

    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    sql = 'select m.metric, unnest(m."values") as v from (select unnest(data.result) as m '
    q = sql + f"from read_json('{path}', maximum_object_size=1000000000))"
    return con.sql(q).to_arrow_table()


OTAVA_SNIPPET = r"""
import json, sys, time
import numpy as np
from otava.analysis import compute_change_points
data = json.load(open(sys.argv[1]))
out = {}
x = data["step"]
t = time.perf_counter(); cps, _ = compute_change_points(list(x)); out["step_s"] = time.perf_counter() - t
out["step_n"] = len(cps)
out["noise"] = [len(compute_change_points(list(s))[0]) for s in data["noise"]]
tb = data["tb"]
out["tb"] = [int(c.index) for c in compute_change_points(tb)[0]]
print(json.dumps(out))
"""


def main() -> None:
    body = response_bytes()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "range.json"
        path.write_bytes(body)
        t_json = _best(lambda: json.loads(path.read_bytes()))
        t_jpd = _best(lambda: _json_pandas(path))
        t_ours = _best(lambda: read_prometheus(path))
        t_duck = _best(lambda: _duckdb(path)) if _has("duckdb") else float("nan")
        n = len(read_prometheus(path))
    print(
        f"query_range {n:,} samples ({len(body) / 1e6:.1f} MB): read_prometheus {t_ours:.3f} s; "
        f"DuckDB read_json {t_duck:.3f} s (ratio {t_ours / t_duck:.2f}x, target <= 1.2x); "
        f"json.loads+pandas {t_jpd:.3f} s ({t_ours / t_jpd:.2f}x); json.loads alone {t_json:.3f} s "
        f"({t_ours / t_json:.2f}x)"
    )

    rng = np.random.default_rng(1)
    step = np.r_[rng.normal(100, 5, 10_000), rng.normal(105, 5, 10_000)]
    t_cal = _best(lambda: change_points(step))
    t_ota = _best(lambda: change_points(step, method="otava"), 1)
    n_cal, n_ota = len(change_points(step)), len(change_points(step, method="otava"))
    print(
        f"change points, 20,000 points with one true step: calibrated {t_cal:.3f} s ({n_cal} found), "
        f"otava-compatible mode {t_ota:.3f} s ({n_ota} found); Otava's published speed: 0.23 s for 20k"
    )

    noise = [rng.normal(100, 5, 2000) for _ in range(20)] + [
        rng.lognormal(0, 1, 500) for _ in range(20)
    ]
    fp_cal = [len(change_points(s)) for s in noise]
    fp_ota = [len(change_points(s, method="otava")) for s in noise]
    print(
        f"false alarms on 40 seeded noise series (20 x N(100,5) n=2000, 20 x lognormal n=500): "
        f"calibrated {sum(fp_cal)} in {sum(1 for v in fp_cal if v)} series; "
        f"otava-compatible defaults {sum(fp_ota)} in {sum(1 for v in fp_ota if v)} series"
    )

    # issue 15: the calibrated detector keeps its rate as a real series grows (TigerBeetle's, tiled)
    tb_path = (
        Path(__file__).resolve().parents[2]
        / "shared/corpus/metrics/cpd/otava_tigerbeetle_series.csv"
    )
    if tb_path.exists():
        base = np.asarray(
            [float(line.split(",")[1]) for line in tb_path.read_text().splitlines()[1:]]
        )
        parts = []
        for size in (1_000, 10_000, 100_000):
            tiled = np.resize(base, size)
            t = _best(lambda tiled=tiled: change_points(tiled), 1)
            parts.append(f"{size:,} points {len(change_points(tiled))} in {t:.2f} s")
        print("change points on TigerBeetle's series tiled: " + "; ".join(parts))

    if "--otava" in sys.argv:
        py = sys.argv[sys.argv.index("--otava") + 1]
        tb_csv = (
            Path(__file__).resolve().parents[2]
            / "shared/corpus/metrics/cpd/otava_tigerbeetle_series.csv"
        )
        tb = [float(line.split(",")[1]) for line in tb_csv.read_text().splitlines()[1:]]
        with tempfile.TemporaryDirectory() as d:
            inp = Path(d) / "in.json"
            inp.write_text(
                json.dumps({"step": step.tolist(), "noise": [s.tolist() for s in noise], "tb": tb})
            )
            proc = subprocess.run(
                [py, "-c", OTAVA_SNIPPET, str(inp)], check=False, capture_output=True, text=True
            )
            if proc.returncode:
                sys.exit(f"otava run failed:\n{proc.stderr[-2000:]}")
            res = json.loads(proc.stdout)
        ours_tb = change_points(np.asarray(tb), method="otava")["index"].tolist()
        print(
            f"apache-otava (real): 20k step {res['step_s']:.3f} s ({res['step_n']} found); false alarms on the "
            f"same noise {sum(res['noise'])} in {sum(1 for v in res['noise'] if v)} series; TigerBeetle "
            f"defaults {res['tb']} (perfnb otava mode {ours_tb}, identical: {res['tb'] == ours_tb}); "
            f"per-series noise counts identical to perfnb otava mode: {res['noise'] == fp_ota}"
        )


if __name__ == "__main__":
    main()
