"""Regenerate data/samples/loadtests/{stall,unsaturated}/ by running a REAL Locust against local servers.

Two headless runs (``locust --headless --csv PREFIX``; no request log, so perfnb works from Locust's own
stats and history, as most Locust users do):

* ``stall/`` (``--csv-full-history``) — a step load of 4, 8, 16, then 32 users against a server that
  **stalls** once more than 24 client connections are open (each Locust user keeps one): every request
  then hangs until the stall ends 16 s later and is answered 503; afterwards, while more than 24
  connections stay open, it sheds load (503 for ~30 % of requests). The run's top level fails: stalled
  intervals (no request completes), then errors far above 5 %. The locustfile also has a bug Locust
  reports in ``_exceptions.csv`` (``response.failure()`` without ``catch_response=True``).
* ``unsaturated/`` (default history: cumulative percentiles) — 1, 2, 3, 4 users against a server with
  plenty of capacity: throughput grows linearly, nothing saturates.

Usage: ``.venv/bin/python data/generate/locust_failing.py [stall|unsaturated]`` (about 70 s + 35 s).
The servers bind 127.0.0.1 on free ports.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "samples" / "loadtests"
STALL_AT = 24  # open client connections (= Locust users) beyond which the server stalls
STALL_S = 16.0


class _State:
    lock = threading.Lock()
    connections = 0
    stall_until = 0.0
    stalled = False
    workers = threading.BoundedSemaphore(4)
    capacity = True  # False: the saturating server (stall run)
    shed = 0


class Handler(BaseHTTPRequestHandler):
    """Service ~15 ms on 4 workers; stalls once past STALL_AT connections, then sheds load."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet
        return

    def handle(self) -> None:
        with _State.lock:
            _State.connections += 1
        try:
            with contextlib.suppress(OSError):  # the client hung up at the end of the run
                super().handle()
        finally:
            with _State.lock:
                _State.connections -= 1

    def _answer(self, code: int) -> None:
        body = b'{"ok": true}' if code == 200 else b'{"error": "unavailable"}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        base = {"/api/items": 0.012, "/api/search": 0.030, "/api/report": 0.020}.get(
            self.path.split("?")[0], 0.010
        )
        if _State.capacity:  # the unsaturated server: no queue, no failure
            time.sleep(base)
            self._answer(200)
            return
        now = time.monotonic()
        with _State.lock:
            over = _State.connections > STALL_AT
            if over and not _State.stalled:
                _State.stalled, _State.stall_until = True, now + STALL_S
            stall_left = _State.stall_until - now
            _State.shed += over
            shed = over and _State.shed % 10 < 3
        if stall_left > 0:
            time.sleep(stall_left)  # the stall: nothing completes until it ends
            self._answer(503)
            return
        if shed:
            self._answer(503)
            return
        with _State.workers:
            time.sleep(base)
        self._answer(200)


LOCUSTFILE = textwrap.dedent(
    """
    import os
    import random
    from locust import HttpUser, LoadTestShape, between, task

    class Shopper(HttpUser):
        wait_time = between(0.05, 0.15)

        @task(5)
        def items(self):
            self.client.get("/api/items", timeout=30)

        @task(2)
        def search(self):
            self.client.get("/api/search?q=x", name="/api/search", timeout=30)

        @task(1)
        def report(self):
            r = self.client.get("/api/report", timeout=30)
            if random.random() < 0.2:
                r.failure("report too slow")  # a bug: needs catch_response=True (Locust raises)

    STEPS = [tuple(int(x) for x in s.split(":")) for s in os.environ["PERFNB_STEPS"].split(",")]

    class Steps(LoadTestShape):
        def tick(self):
            t = self.get_run_time()
            for end, users in STEPS:
                if t < end:
                    return (users, 50)
            return None
    """
)

RUNS = {
    # name: (steps "end_s:users,...", saturating server, --csv-full-history)
    "stall": ("12:4,24:8,36:16,66:32", True, True),
    "unsaturated": ("8:1,16:2,24:3,32:4", False, False),
}


def run(name: str) -> None:
    """One headless Locust run into OUT/name/ (the run.* files are Locust's)."""
    steps, saturating, full = RUNS[name]
    _State.capacity = not saturating
    _State.stalled, _State.stall_until, _State.shed = False, 0.0, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    dest = OUT / name
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("run*"):
        old.unlink()
    seconds = int(steps.split(",")[-1].split(":")[0])
    with tempfile.TemporaryDirectory() as tmp:
        lf = Path(tmp) / "locustfile.py"
        lf.write_text(LOCUSTFILE)
        env = dict(os.environ, PERFNB_STEPS=steps)
        cmd = [
            sys.executable, "-m", "locust", "-f", str(lf), "--headless",
            "--host", f"http://127.0.0.1:{port}", "--csv", str(dest / "run"),
            "--only-summary", "--loglevel", "ERROR",
        ]  # fmt: skip
        if full:
            cmd.append("--csv-full-history")
        subprocess.run(cmd, env=env, check=False, timeout=seconds + 90, stdout=subprocess.DEVNULL)
    server.shutdown()
    server.server_close()


def main() -> None:
    for name in sys.argv[1:] or list(RUNS):
        run(name)


if __name__ == "__main__":
    main()
