"""Regenerate data/samples/loadtests/ by running a REAL Locust against a local HTTP server.

Runs (each ``locust --headless --csv PREFIX --csv-full-history --json`` plus Locust's own
``CsvRequestLogger`` per-request CSV):

* ``step/``    — a step load (LoadTestShape, 2→48 users) against a server whose latency grows with
  the number of requests in flight (3 workers: a knee near 16 users);
* ``steady/``  — 8 users for 40 s (its halves compare as "no significant change");
* ``slow/``    — the same steady load against the server slowed on purpose (+40 % service time).

Usage: ``.venv/bin/python data/generate/loadtests.py`` (needs ``locust``, in the ``dev`` extra).
Takes about 2.5 minutes. The server binds 127.0.0.1 on a free port.
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


class _State:
    in_flight = 0
    slow = 1.0
    lock = threading.Lock()
    workers = threading.BoundedSemaphore(3)  # a backend with 3 workers: queueing beyond that


class Handler(BaseHTTPRequestHandler):
    """3 workers; service time = base × slow factor × (1 + 3 % per request in flight): a knee, then retrograde."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet
        return

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client hung up at the end of the run
            super().handle()

    def do_GET(self) -> None:
        with _State.lock:
            _State.in_flight += 1
            n = _State.in_flight
        try:
            base = {"/api/items": 0.015, "/api/search": 0.045, "/api/cart": 0.020}.get(
                self.path.split("?")[0], 0.010
            )
            with _State.workers:
                time.sleep(base * _State.slow * (1.0 + 0.03 * n))
            code = 200
            if self.path.startswith("/api/cart") and (hash(time.time_ns()) % 50 == 0):
                code = 500
            body = b'{"ok": true}' if code == 200 else b'{"error": "boom"}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with _State.lock:
                _State.in_flight -= 1


LOCUSTFILE = textwrap.dedent(
    """
    import contextlib
    import os
    from locust import HttpUser, LoadTestShape, between, events, task
    from locust.contrib.csv_request_logger import CsvRequestLogger

    _logger = CsvRequestLogger(os.environ["PERFNB_REQUESTS_CSV"])

    @events.init.add_listener
    def _init(environment, **kwargs):
        _logger.register(environment)

    class Shopper(HttpUser):
        wait_time = between(0.05, 0.15)

        @task(5)
        def items(self):
            self.client.get("/api/items")

        @task(2)
        def search(self):
            self.client.get("/api/search?q=x", name="/api/search")

        @task(2)
        def cart(self):
            self.client.get("/api/cart")

    if os.environ.get("PERFNB_SHAPE") == "step":
        class Steps(LoadTestShape):
            steps = [(10, 2), (20, 4), (30, 8), (40, 12), (50, 16), (60, 24), (70, 32), (80, 48)]

            def tick(self):
                t = self.get_run_time()
                for end, users in self.steps:
                    if t < end:
                        return (users, 50)
                return None
    """
)


def run(name: str, *, shape: str, users: int, seconds: int, slow: float) -> None:
    """One headless Locust run into OUT/name/."""
    _State.slow = slow
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    dest = OUT / name
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        lf = Path(tmp) / "locustfile.py"
        lf.write_text(LOCUSTFILE)
        env = dict(
            os.environ, PERFNB_SHAPE=shape, PERFNB_REQUESTS_CSV=str(dest / "run_requests.csv")
        )
        cmd = [
            sys.executable, "-m", "locust", "-f", str(lf), "--headless",
            "--host", f"http://127.0.0.1:{port}", "--csv", str(dest / "run"),
            "--csv-full-history", "--json", "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        if shape != "step":
            cmd += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s"]
        with (dest / "run.json").open("w") as out:
            subprocess.run(cmd, env=env, stdout=out, check=False, timeout=seconds + 60)
    server.shutdown()


def main() -> None:
    run("step", shape="step", users=0, seconds=80, slow=1.0)
    run("steady", shape="", users=8, seconds=40, slow=1.0)
    run("slow", shape="", users=8, seconds=40, slow=1.4)


if __name__ == "__main__":
    main()
