"""A small web shop with planted performance bottlenecks: the demo system behind ``data/samples/demo/``.

A threaded WSGI application (standard library ``wsgiref``) over PostgreSQL (psycopg 3) and Redis (a few
lines of RESP over a socket), exposing Prometheus metrics with ``prometheus_client``. Each bottleneck is
planted on purpose and documented in ``data/README.md``; ``data/generate/demo.py`` starts the service,
loads it with Locust and records what every tool sees.

Planted bottlenecks (search the code for ``PLANTED``):

1. ``GET /search?email=`` filters ``orders`` by ``customer_email``, which has no index: a sequential scan
   that removes almost every row it reads.
2. ``GET /customers/<id>/orders`` loads a customer's orders, then the items of each order one query at a
   time: the N+1 pattern.
3. ``GET /report`` recomputes a price histogram in pure Python on every call: CPU-heavy code.
4. ``GET /product/<id>`` fails with HTTP 500 for ids divisible by 7 (a bad lookup), an endpoint that fails
   for some inputs.
5. ``GET /product/<id>`` caches products in Redis under a key that includes the request time, so almost
   nothing is ever read back: a cache with a poor hit ratio.

The database pool holds few connections, so latency climbs once concurrent users exceed it: the knee
that the load test's capacity analysis should find.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import queue
import random
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import psycopg
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "shop_http_requests",
    "HTTP requests served",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "shop_http_request_duration_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge("shop_http_requests_in_flight", "Requests being served", registry=REGISTRY)
POOL_IN_USE = Gauge("shop_db_pool_in_use", "Database connections in use", registry=REGISTRY)
POOL_SIZE = Gauge("shop_db_pool_size", "Database connections in the pool", registry=REGISTRY)
CACHE = Counter("shop_cache_lookups", "Cache lookups", ["result"], registry=REGISTRY)


class Redis:
    """Just enough of the Redis protocol (RESP) for GET and SETEX, one connection per thread."""

    def __init__(self, host: str, port: int) -> None:
        self.addr = (host, port)
        self.local = threading.local()

    def _conn(self) -> socket.socket:
        sock = getattr(self.local, "sock", None)
        if sock is None:
            sock = socket.create_connection(self.addr, timeout=5)
            self.local.sock = sock
            self.local.buf = b""
        return sock

    def _command(self, *parts: str | bytes) -> Any:
        sock = self._conn()
        out = [f"*{len(parts)}\r\n".encode()]
        for p in parts:
            b = p if isinstance(p, bytes) else str(p).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        sock.sendall(b"".join(out))
        return self._reply()

    def _line(self) -> bytes:
        while b"\r\n" not in self.local.buf:
            chunk = self.local.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.local.buf += chunk
        line, self.local.buf = self.local.buf.split(b"\r\n", 1)
        return line

    def _reply(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.local.buf) < n + 2:
                self.local.buf += self.local.sock.recv(65536)
            data, self.local.buf = self.local.buf[:n], self.local.buf[n + 2 :]
            return data
        raise RuntimeError(f"unexpected redis reply {line!r}")

    def get(self, key: str) -> bytes | None:
        return self._command("GET", key)  # type: ignore[no-any-return]

    def setex(self, key: str, ttl_s: int, value: str) -> None:
        self._command("SETEX", key, str(ttl_s), value)

    def info(self) -> str:
        return self._command("INFO", "everything").decode()  # type: ignore[no-any-return]


class Pool:
    """A fixed-size connection pool: requests queue for a connection once all are busy."""

    def __init__(self, dsn: str, size: int) -> None:
        self.size = size
        self.free: queue.Queue[psycopg.Connection[Any]] = queue.Queue()
        for _ in range(size):
            self.free.put(psycopg.connect(dsn, autocommit=True))
        POOL_SIZE.set(size)
        self.in_use = 0
        self.lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        conn = self.free.get()
        with self.lock:
            self.in_use += 1
            POOL_IN_USE.set(self.in_use)
        try:
            yield conn
        finally:
            with self.lock:
                self.in_use -= 1
                POOL_IN_USE.set(self.in_use)
            self.free.put(conn)


SCHEMA = """
DROP TABLE IF EXISTS order_items, orders, products, customers;
CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, name text NOT NULL);
CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);
CREATE TABLE orders (
  id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id),
  customer_email text NOT NULL, created_at timestamptz NOT NULL, total numeric(10,2) NOT NULL);
CREATE TABLE order_items (
  id int PRIMARY KEY, order_id int NOT NULL REFERENCES orders(id),
  product_id int NOT NULL REFERENCES products(id), quantity int NOT NULL);
-- indexes that a careful schema has; orders.customer_email deliberately has none (PLANTED 1)
CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE INDEX order_items_order_id ON order_items (order_id);
"""


def seed(dsn: str, *, customers: int = 2000, orders: int = 60000, products: int = 500) -> None:
    """Create and fill the shop's tables (deterministic)."""
    rnd = random.Random(42)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        with conn.cursor() as cur:
            with cur.copy("COPY customers (id, email, name) FROM STDIN") as cp:
                for i in range(1, customers + 1):
                    cp.write_row((i, f"customer{i}@example.com", f"Customer {i}"))
            with cur.copy("COPY products (id, name, price) FROM STDIN") as cp:
                for i in range(1, products + 1):
                    cp.write_row((i, f"Product {i}", round(rnd.uniform(1, 200), 2)))
            with cur.copy(
                "COPY orders (id, customer_id, customer_email, created_at, total) FROM STDIN"
            ) as cp:
                for i in range(1, orders + 1):
                    c = rnd.randint(1, customers)
                    cp.write_row(
                        (
                            i,
                            c,
                            f"customer{c}@example.com",
                            "2026-01-01T00:00:00Z",
                            rnd.randint(5, 500),
                        )
                    )
            with cur.copy("COPY order_items (id, order_id, product_id, quantity) FROM STDIN") as cp:
                n = 0
                for o in range(1, orders + 1):
                    for _ in range(rnd.randint(1, 4)):
                        n += 1
                        cp.write_row((n, o, rnd.randint(1, products), rnd.randint(1, 3)))
        conn.execute("ANALYZE")


class Shop:
    """The WSGI application."""

    def __init__(
        self,
        dsn: str,
        redis: Redis,
        *,
        pool_size: int = 4,
        fixed: bool = False,
        profile: bool = False,
    ) -> None:
        self.pool = Pool(dsn, pool_size)
        self.redis = redis
        self.fixed = fixed  # the healthy variant: every planted bottleneck repaired
        self.stats: pstats.Stats | None = None
        self.profile = profile
        self.stats_lock = threading.Lock()
        self.routes: list[
            tuple[str, Callable[[dict[str, Any], list[str]], tuple[str, str, bytes]]]
        ] = [
            ("/search", self.search),
            ("/customers/", self.customer_orders),
            ("/report", self.report),
            ("/product/", self.product),
            ("/metrics", self.metrics),
            ("/", self.index),
        ]

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        for prefix, handler in self.routes:  # noqa: B007 - the match is used after the loop
            if path == prefix or (
                prefix.endswith("/") and path.startswith(prefix) and prefix != "/"
            ):
                break
        else:
            handler, prefix = self.index, "/"
        endpoint = prefix.rstrip("/") or "/"
        started = time.perf_counter()
        IN_FLIGHT.inc()
        prof = cProfile.Profile() if self.profile and endpoint != "/metrics" else None
        try:
            if prof is not None:
                prof.enable()
            status, ctype, body = handler(environ, path.split("/"))
        except Exception as err:
            status, ctype, body = (
                "500 Internal Server Error",
                "text/plain",
                f"error: {err}\n".encode(),
            )
        finally:
            if prof is not None:
                prof.disable()
                with self.stats_lock:
                    if self.stats is None:
                        self.stats = pstats.Stats(prof)
                    else:
                        self.stats.add(prof)
            IN_FLIGHT.dec()
        if endpoint != "/metrics":
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(endpoint, environ.get("REQUEST_METHOD", "GET"), status.split()[0]).inc()
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]

    # -- handlers -----------------------------------------------------------------------------------

    def index(self, environ: dict[str, Any], parts: list[str]) -> tuple[str, str, bytes]:
        path = environ.get("PATH_INFO", "/")
        name = "index.html" if path in ("/", "") else Path(path).name
        full = Path(__file__).parent / "static" / name
        if not full.is_file():
            return "404 Not Found", "text/plain", b"not found\n"
        types = {
            ".html": "text/html; charset=utf-8",
            ".css": "text/css",
            ".js": "application/javascript",
        }
        ctype = types.get(
            full.suffix, "image/png" if full.suffix == ".png" else "application/octet-stream"
        )
        return "200 OK", ctype, full.read_bytes()

    def search(self, environ: dict[str, Any], parts: list[str]) -> tuple[str, str, bytes]:
        from urllib.parse import parse_qs

        email = parse_qs(environ.get("QUERY_STRING", "")).get("email", ["customer1@example.com"])[0]
        with self.pool.connection() as conn:
            # PLANTED 1: no index on orders.customer_email -> Seq Scan with a Filter removing ~all rows
            # (the fixed variant creates orders_customer_email at start-up)
            rows = conn.execute(
                "SELECT id, total, created_at FROM orders WHERE customer_email = %s ORDER BY id",
                (email,),
            ).fetchall()
        return "200 OK", "application/json", json.dumps({"orders": len(rows)}).encode()

    def customer_orders(self, environ: dict[str, Any], parts: list[str]) -> tuple[str, str, bytes]:
        customer = int(parts[2])
        out = []
        with self.pool.connection() as conn:
            if self.fixed:
                rows = conn.execute(
                    "SELECT o.id, count(i.id) FROM orders o LEFT JOIN order_items i ON i.order_id = o.id "
                    "WHERE o.customer_id = %s GROUP BY o.id",
                    (customer,),
                ).fetchall()
                out = [{"order": r[0], "items": r[1]} for r in rows]
                return "200 OK", "application/json", json.dumps(out).encode()
            orders = conn.execute(
                "SELECT id FROM orders WHERE customer_id = %s", (customer,)
            ).fetchall()
            for (order_id,) in orders:
                # PLANTED 2: one query per order (N+1) instead of one join
                items = conn.execute(
                    "SELECT product_id, quantity FROM order_items WHERE order_id = %s", (order_id,)
                ).fetchall()
                out.append({"order": order_id, "items": len(items)})
        return "200 OK", "application/json", json.dumps(out).encode()

    def report(self, environ: dict[str, Any], parts: list[str]) -> tuple[str, str, bytes]:
        with self.pool.connection() as conn:
            prices = [float(p) for (p,) in conn.execute("SELECT price FROM products").fetchall()]
        counts = price_histogram(prices, passes=1 if self.fixed else 30)
        return "200 OK", "application/json", json.dumps(counts).encode()

    def product(self, environ: dict[str, Any], parts: list[str]) -> tuple[str, str, bytes]:
        product_id = int(parts[2])
        # PLANTED 5: the cache key changes every second, so lookups almost never hit
        key = f"product:{product_id}" if self.fixed else f"product:{product_id}:{int(time.time())}"
        cached = self.redis.get(key)
        if cached is not None:
            CACHE.labels("hit").inc()
            return "200 OK", "application/json", cached
        CACHE.labels("miss").inc()
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT id, name, price FROM products WHERE id = %s", (product_id,)
            ).fetchone()
        if product_id % 7 == 0 and not self.fixed:
            # PLANTED 4: a bad lookup fails for ids divisible by 7
            raise KeyError(f"price list has no entry for product {product_id}")
        if row is None:
            return "404 Not Found", "text/plain", b"no such product\n"
        body = json.dumps({"id": row[0], "name": row[1], "price": float(row[2])}).encode()
        self.redis.setex(key, 60, body.decode())
        return "200 OK", "application/json", body

    def metrics(self, environ: dict[str, Any], parts: list[str]) -> tuple[str, str, bytes]:
        return "200 OK", CONTENT_TYPE_LATEST, generate_latest(REGISTRY)


def price_histogram(prices: list[float], bins: int = 40, passes: int = 30) -> list[int]:
    """PLANTED 3: CPU-heavy pure Python (a quadratic histogram, recomputed on every request)."""
    lo, hi = min(prices), max(prices)
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for _ in range(passes):  # recomputed for "smoothing"; the result is the same every time
        counts = [0] * bins
        for p in prices:
            for b in range(bins):
                if lo + b * width <= p < lo + (b + 1) * width:
                    counts[b] += 1
                    break
    return counts


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """wsgiref's server, one thread per connection."""

    daemon_threads = True
    request_queue_size = (
        256  # socketserver's default of 5 drops SYNs under load: 1 s retransmit stalls
    )


class QuietHandler(WSGIRequestHandler):
    """No access log on stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def serve(
    dsn: str,
    redis_port: int,
    port: int,
    *,
    pool_size: int = 4,
    fixed: bool = False,
    profile: bool = False,
) -> tuple[ThreadingWSGIServer, Shop]:
    """Create the server (call ``serve_forever()`` on it) and return it with the application."""
    if fixed:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "CREATE INDEX IF NOT EXISTS orders_customer_email ON orders (customer_email)"
            )
            conn.execute("ANALYZE orders")
    app = Shop(
        dsn, Redis("127.0.0.1", redis_port), pool_size=pool_size, fixed=fixed, profile=profile
    )
    server = make_server(
        "127.0.0.1", port, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    return server, app  # type: ignore[return-value]
