"""Regenerate ``data/samples/demo/`` (and ``demo-healthy/``): run the demo shop and record what every tool sees.

Usage: ``.venv/bin/python data/generate/demo.py [--only broken|healthy] [--skip-lighthouse]``

It starts a real PostgreSQL (initdb + pg_ctl, with pg_stat_statements and auto_explain) and a real Redis,
seeds the shop's tables, serves ``data/demo/shop.py`` on a loopback port, scrapes it with a real Prometheus,
drives it with a real Locust step load while cProfile (per request, in the server) and py-spy (sampling the
server process) profile it, then saves:

``locust_*.csv``            Locust's --csv output with --csv-full-history (the step load)
``profile.pstats``          cProfile, every request of the run merged (pstats.Stats.add)
``pyspy.txt``               py-spy ``record --format raw`` folded stacks of the server during the load
``plans/*.json``            EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of the shop's statements
``postgresql.json``         the server's jsonlog: auto_explain plans of statements slower than 20 ms, stamped
``pg_stat_statements.csv``  the view, exported with COPY … CSV HEADER
``prometheus/*.json``       query_range responses over the run (rates, p95, errors, pool, in-flight)
``redis_info.txt``          Redis INFO before and after the load (two snapshots, one after the other)
``lighthouse.json``         Lighthouse (npm, Debian chromium, headless) on the shop's home page

The healthy variant repairs every planted bottleneck and runs a gentler load: the baseline that
``perfnb report --fail-on critical`` passes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # tests.services: the same service harness the tests use
sys.path.insert(0, str(ROOT / "data" / "demo"))

import shop  # noqa: E402

from tests import services  # noqa: E402

OUT = ROOT / "data" / "samples"
LIGHTHOUSE_VERSION = "12.8.2"
NODE_DIR = ROOT / "data" / "generate" / "node"

QUERIES = {
    "search": "SELECT id, total, created_at FROM orders WHERE customer_email = 'customer42@example.com' ORDER BY id",
    "customer_orders": "SELECT id FROM orders WHERE customer_id = 42",
    "customer_orders_join": (
        "SELECT o.id, count(i.id) FROM orders o LEFT JOIN order_items i ON i.order_id = o.id "
        "WHERE o.customer_id = 42 GROUP BY o.id"
    ),
    "order_items": "SELECT product_id, quantity FROM order_items WHERE order_id = 4242",
    "report_prices": "SELECT price FROM products",
}

PROM_QUERIES = {
    "request_rate": "sum by (endpoint) (rate(shop_http_requests_total[10s]))",
    "error_rate": 'sum by (endpoint) (rate(shop_http_requests_total{status=~"5.."}[10s]))',
    "latency_p95": "histogram_quantile(0.95, sum by (le, endpoint) (rate(shop_http_request_duration_seconds_bucket[10s])))",
    "latency_buckets": "sum by (le) (rate(shop_http_request_duration_seconds_bucket[10s]))",
    "in_flight": "shop_http_requests_in_flight",
    "db_pool_in_use": "shop_db_pool_in_use",
    "cache_lookups": "sum by (result) (rate(shop_cache_lookups_total[10s]))",
}


def static_assets(folder: Path, *, fixed: bool = False) -> None:
    """Write the shop's front page with its planted front-end problems (render-blocking CSS/JS, a large
    image without dimensions that shifts the layout, a large script mostly unused); the fixed page has a
    small inline style, no script and a small image with its dimensions."""
    import numpy as np
    from matplotlib import image

    folder.mkdir(parents=True, exist_ok=True)
    if fixed:
        image.imsave(folder / "hero.png", np.linspace(0, 1, 120 * 200 * 3).reshape(120, 200, 3))
        (folder / "index.html").write_text(
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Demo shop</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<style>body{font-family:sans-serif;margin:2em}</style></head>"
            "<body><h1>Demo shop</h1><img src='/static/hero.png' alt='Our products' width='200' height='120'>"
            "<p>Fresh products every day. Search your orders, browse the catalogue.</p></body></html>\n"
        )
        return
    rng = np.random.default_rng(7)
    image.imsave(
        folder / "hero.png", rng.random((900, 1400, 3))
    )  # noise compresses badly: a heavy image
    functions = "\n".join(
        f"function unused_{i}(x) {{ var s = 0; for (var k = 0; k < x; k++) {{ s += Math.sqrt(k * {i}); }} return s; }}"
        for i in range(2500)
    )
    (folder / "vendor.js").write_text(functions + "\nfunction used() { return 1; }\nused();\n")
    (folder / "style.css").write_text(
        "".join(f".c{i} {{ margin: {i % 7}px; color: #{i % 999:03d}; }}\n" for i in range(4000))
    )
    (folder / "index.html").write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Demo shop</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='stylesheet' href='/static/style.css'><script src='/static/vendor.js'></script></head>"
        "<body><h1>Demo shop</h1><img src='/static/hero.png' alt='Our products'>"
        "<p>Fresh products every day. Search your orders, browse the catalogue.</p></body></html>\n"
    )


def prom_query_range(port: int, query: str, start: float, end: float, step_s: float = 2.0) -> dict:
    qs = urllib.parse.urlencode(
        {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}"}
    )
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/api/v1/query_range?{qs}", timeout=30
    ) as resp:
        return json.load(resp)


def ensure_lighthouse() -> Path:
    binary = NODE_DIR / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(NODE_DIR),
                f"lighthouse@{LIGHTHOUSE_VERSION}",
            ],
            check=True,
        )
    return binary


def run_lighthouse(url: str, out: Path) -> None:
    binary = ensure_lighthouse()
    env = dict(os.environ, CHROME_PATH=shutil.which("chromium") or "/usr/bin/chromium")
    flags = (
        "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
        "--disable-component-update --disable-sync"
    )
    subprocess.run(
        [
            str(binary),
            url,
            "--output=json",
            f"--output-path={out}",
            "--only-categories=performance",
            # the screenshots are three quarters of the report's size and no analysis reads them
            "--disable-full-page-screenshot",
            "--skip-audits=screenshot-thumbnails,final-screenshot",
            f"--chrome-flags={flags}",
            "--quiet",
        ],
        check=True,
        env=env,
        timeout=300,
    )


def run(variant: str, *, lighthouse: bool) -> None:
    fixed = variant == "healthy"
    out = OUT / ("demo-healthy" if fixed else "demo")
    if out.exists():
        shutil.rmtree(out)
    (out / "plans").mkdir(parents=True)
    (out / "prometheus").mkdir()
    static_assets(ROOT / "data" / "demo" / "static", fixed=fixed)

    pg = services.start_postgres()
    redis = services.start_redis(
        extra_args=["--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru"]
    )
    prom = None
    server = None
    try:
        dsn = f"postgresql://postgres@127.0.0.1:{pg.port}/perfnb"
        shop.seed(dsn, customers=5000, orders=250_000)
        pg.psql("ALTER SYSTEM SET auto_explain.log_min_duration = '20ms'")
        pg.psql("SELECT pg_reload_conf()")
        pg.psql("SELECT pg_stat_statements_reset()")
        port = services.free_port()
        server, app = shop.serve(dsn, redis.port, port, pool_size=4, fixed=fixed, profile=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        prom = services.start_prometheus([f"127.0.0.1:{port}"], scrape_interval_s=1.0)
        time.sleep(3)
        rc = shop.Redis("127.0.0.1", redis.port)
        info_before = rc.info()

        steps = "2:20,4:20" if fixed else "5:20,10:20,20:20,40:20"
        duration = sum(int(p.split(":")[1]) for p in steps.split(","))
        started = time.time()
        spy = None
        if shutil.which("py-spy") or (Path(sys.executable).parent / "py-spy").exists():
            spy_bin = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            spy = subprocess.Popen(
                [
                    spy_bin,
                    "record",
                    "--pid",
                    str(os.getpid()),
                    "--format",
                    "raw",
                    "--rate",
                    "97",
                    "--duration",
                    str(duration - 5),
                    "--output",
                    str(out / "pyspy.txt"),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        locust_bin = str(Path(sys.executable).parent / "locust")
        subprocess.run(
            [
                locust_bin,
                "-f",
                str(ROOT / "data" / "demo" / "locustfile.py"),
                "--headless",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                str(out / "locust"),
                "--csv-full-history",
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            check=False,
            env=dict(os.environ, PERFNB_DEMO_STEPS=steps),
            timeout=duration + 120,
        )
        ended = time.time()
        if spy is not None:
            _, err = spy.communicate(timeout=60)
            if spy.returncode != 0:
                print(
                    f"py-spy failed ({spy.returncode}): {err.decode(errors='replace')[-500:]}",
                    file=sys.stderr,
                )
        time.sleep(2)
        # two INFO snapshots, one after the other: hit ratio is their difference, not lifetime counters
        (out / "redis_info.txt").write_text(info_before + rc.info())
        assert app.stats is not None
        app.stats.dump_stats(str(out / "profile.pstats"))

        for name, query in PROM_QUERIES.items():
            data = prom_query_range(prom.port, query, started, ended)
            (out / "prometheus" / f"{name}.json").write_text(json.dumps(data) + "\n")

        for name, sql in QUERIES.items():
            text = pg.psql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
            (out / "plans" / f"{name}.json").write_text(text)
        export = pg.psql(
            "COPY (SELECT s.*, d.datname FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            "WHERE d.datname = 'perfnb' ORDER BY total_exec_time DESC LIMIT 50) TO STDOUT WITH CSV HEADER"
        )
        (out / "pg_stat_statements.csv").write_text(export)
        log = pg.log_dir / "postgresql.json"
        if log.exists():
            lines = [
                line
                for line in log.read_text().splitlines()
                if "duration:" in line and "plan" in line.lower()
            ]
            # keep about 120 plans spread over the whole run (the timeline needs every step of the load);
            # a healthy run logs no slow statement, and then there is no log to keep
            if lines:
                kept = lines[:: max(1, len(lines) // 120)]
                (out / "postgresql.json").write_text("\n".join(kept) + "\n")
        if lighthouse:
            run_lighthouse(f"http://127.0.0.1:{port}/", out / "lighthouse.json")
    finally:
        if server is not None:
            server.shutdown()
        if prom is not None:
            prom.stop()
        redis.stop()
        pg.stop()
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["broken", "healthy"])
    parser.add_argument("--skip-lighthouse", action="store_true")
    args = parser.parse_args()
    for variant in ("broken", "healthy"):
        if args.only in (None, variant):
            run(variant, lighthouse=not args.skip_lighthouse)


if __name__ == "__main__":
    main()
