"""Regenerate data/samples/metrics/: a REAL Prometheus (Debian ``prometheus``) scraping a small target.

The target (served here on 127.0.0.1) simulates an HTTP service with two backends and exposes, in text format
0.0.4, ``http_requests_total{backend,code}``, the histogram ``http_request_duration_seconds{backend}`` and
gauges ``process_cpu_ratio`` / ``memory_used_ratio``. Halfway through, latency shifts up (median 0.08 s →
0.5 s), backend ``b`` becomes slower, errors rise to ~8 % and CPU climbs past 85 %. Prometheus scrapes every
second for ``RUN_S`` seconds; then this script saves ``query_range`` JSON responses (what Prometheus returned,
byte for byte), raw scrapes of the target and of Prometheus' own ``/metrics`` (0.0.4 and OpenMetrics).

Run: ``.venv/bin/python data/generate/metrics.py`` (about 2 minutes).
"""

from __future__ import annotations

import json
import math
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "samples" / "metrics"
RUN_S = 100
SHIFT_AT_S = 50
BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Sim:
    """Simulated service state: counters and histogram buckets, updated by a background thread."""

    def __init__(self, shift_at: float) -> None:
        self.lock = threading.Lock()
        self.t0 = time.time()
        self.shift_at = shift_at
        self.requests: dict[tuple[str, str], int] = {}
        self.buckets: dict[str, list[int]] = {b: [0] * (len(BUCKETS) + 1) for b in ("a", "b")}
        self.sums: dict[str, float] = {"a": 0.0, "b": 0.0}
        self.cpu = 0.3
        self.mem = 0.55
        self.rng = random.Random(42)

    def shifted(self) -> bool:
        return time.time() - self.t0 >= self.shift_at

    def tick(self) -> None:
        shifted = self.shifted()
        with self.lock:
            for _ in range(20):
                backend = "a" if self.rng.random() < (0.5 if not shifted else 0.7) else "b"
                median = 0.08 if not shifted else (0.45 if backend == "a" else 0.9)
                lat = self.rng.lognormvariate(math.log(median), 0.5)
                err = self.rng.random() < (0.01 if not shifted else 0.08)
                code = "500" if err else "200"
                self.requests[(backend, code)] = self.requests.get((backend, code), 0) + 1
                for i, le in enumerate(BUCKETS):
                    if lat <= le:
                        self.buckets[backend][i] += 1
                self.buckets[backend][-1] += 1
                self.sums[backend] += lat
            target_cpu = 0.3 if not shifted else 0.9
            self.cpu += (target_cpu - self.cpu) * 0.2 + self.rng.uniform(-0.02, 0.02)
            self.mem = min(
                0.95, self.mem + (0.002 if shifted else 0.0) + self.rng.uniform(-0.003, 0.003)
            )

    def exposition(self) -> str:
        with self.lock:
            out = [
                "# HELP http_requests_total Requests served.",
                "# TYPE http_requests_total counter",
            ]
            for (backend, code), n in sorted(self.requests.items()):
                out.append(f'http_requests_total{{backend="{backend}",code="{code}"}} {n}')
            out += [
                "# HELP http_request_duration_seconds Request latency.",
                "# TYPE http_request_duration_seconds histogram",
            ]
            for backend, counts in sorted(self.buckets.items()):
                for le, c in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                    out.append(
                        f'http_request_duration_seconds_bucket{{backend="{backend}",le="{le}"}} {c}'
                    )
                out.append(
                    f'http_request_duration_seconds_sum{{backend="{backend}"}} {self.sums[backend]!r}'
                )
                out.append(
                    f'http_request_duration_seconds_count{{backend="{backend}"}} {counts[-1]}'
                )
            out += [
                "# HELP process_cpu_ratio CPU utilisation 0-1.",
                "# TYPE process_cpu_ratio gauge",
                f"process_cpu_ratio {max(0.0, min(1.0, self.cpu))!r}",
                "# HELP memory_used_ratio Memory in use 0-1.",
                "# TYPE memory_used_ratio gauge",
                f"memory_used_ratio {self.mem!r}",
            ]
            return "\n".join(out) + "\n"


def serve(sim: Sim) -> ThreadingHTTPServer:
    """Serve ``sim``'s exposition on 127.0.0.1 (a free port) in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = sim.exposition().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def ticker() -> None:
        while True:
            sim.tick()
            time.sleep(0.1)

    threading.Thread(target=ticker, daemon=True).start()
    return server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_prometheus(target: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start the Debian ``prometheus`` binary on 127.0.0.1 scraping *target* every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        sys.exit("prometheus is not installed (apt-get install prometheus)")
    port = _free_port()
    cfg = workdir / "prometheus.yml"
    cfg.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
        f"  - job_name: demo\n    static_configs:\n      - targets: ['{target}']\n"
    )
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={cfg}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("prometheus did not become ready")


QUERIES = {
    "p95_latency": "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[10s])))",
    "latency_buckets_rate": "sum by (le) (rate(http_request_duration_seconds_bucket[10s]))",
    "latency_buckets": "http_request_duration_seconds_bucket",
    "requests_total": "http_requests_total",
    "error_ratio": 'sum(rate(http_requests_total{code=~"5.."}[10s])) / sum(rate(http_requests_total[10s]))',
    "backend_rps": "sum by (backend) (rate(http_requests_total[10s]))",
    "backend_p95": "histogram_quantile(0.95, sum by (backend, le) (rate(http_request_duration_seconds_bucket[10s])))",
    "cpu": "process_cpu_ratio",
    "memory": "memory_used_ratio",
}


def main() -> None:
    for sub in ("scrapes", "other"):
        (OUT / sub).mkdir(parents=True, exist_ok=True)
    sim = Sim(SHIFT_AT_S)
    server = serve(sim)
    target = f"127.0.0.1:{server.server_address[1]}"
    workdir = Path(tempfile.mkdtemp(prefix="perfnb-metrics-gen-"))
    proc, port = start_prometheus(target, workdir)
    base = f"http://127.0.0.1:{port}"
    try:
        start = time.time()
        scrapes = {10: "before", SHIFT_AT_S + 20: "after"}
        while time.time() - start < RUN_S:
            el = int(time.time() - start)
            if el in scrapes:
                with urllib.request.urlopen(f"http://{target}/metrics") as r:
                    (OUT / "scrapes" / f"target_scrape_{scrapes.pop(el)}.prom").write_bytes(
                        r.read()
                    )
            time.sleep(0.5)
        end = time.time()
        for name, q in QUERIES.items():
            params = urllib.parse.urlencode(
                {"query": q, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": "1"}
            )
            with urllib.request.urlopen(f"{base}/api/v1/query_range?{params}") as r:
                body = r.read()
            json.loads(body)
            (OUT / f"query_range_{name}.json").write_bytes(body)
        bad = urllib.parse.urlencode({"query": "sum(", "start": "0", "end": "1", "step": "1"})
        try:
            urllib.request.urlopen(f"{base}/api/v1/query_range?{bad}")
        except urllib.error.HTTPError as err:
            (OUT / "other" / "error_bad_data.json").write_bytes(err.read())
        with urllib.request.urlopen(f"{base}/metrics") as r:
            (OUT / "scrapes" / "prometheus_self_scrape.prom").write_bytes(r.read())
        req = urllib.request.Request(
            f"{base}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        with urllib.request.urlopen(req) as r:
            (OUT / "scrapes" / "prometheus_self_scrape.om.txt").write_bytes(r.read())
        version = subprocess.run(
            ["prometheus", "--version"], capture_output=True, text=True
        ).stdout.split("\n")[0]
        (OUT / "README.md").write_text(
            "# Metrics samples\n\nGenerated by `data/generate/metrics.py`: a real Prometheus "
            f"({version.strip()}) scraped a simulated service (127.0.0.1) every second for {RUN_S} s; latency, "
            f"errors and CPU shift up {SHIFT_AT_S} s in (backend `b` slower). `query_range_*.json` are "
            "Prometheus' responses (step 1 s); `scrapes/target_scrape_*.prom` are raw scrapes of the target; "
            "`scrapes/prometheus_self_scrape.*` are Prometheus' own /metrics in text 0.0.4 and OpenMetrics; "
            "`other/error_bad_data.json` is its answer to a bad query; `other/tidy_cpu_memory.csv` is the CPU and "
            "memory series written as tidy CSV by perfnb. `alert_rules.toml` (hand-written) holds user alert rules "
            "for the notebook.\n"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        server.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
    write_tidy()
    for f in sorted(OUT.rglob("*")):
        if f.is_file():
            print(f"{f.stat().st_size:>9}  {f.relative_to(OUT)}")


def write_tidy() -> None:
    """A tidy CSV (timestamp, metric, value, labels) of the CPU and memory series, written by perfnb."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import perfnb

    frame = perfnb.read_metrics(
        [OUT / "query_range_cpu.json", OUT / "query_range_memory.json"]
    ).frame
    out = frame.drop(columns=["source", "run"])
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out.to_csv(OUT / "other" / "tidy_cpu_memory.csv", index=False)


if __name__ == "__main__":
    if sys.argv[1:] == ["--tidy-only"]:
        write_tidy()
    else:
        main()
