"""Regenerate ``data/samples/plans/``: real EXPLAIN, auto_explain and pg_stat_statements output.

Starts a scratch PostgreSQL with ``tests/services.py``'s :func:`start_postgres` (as root it runs initdb and
pg_ctl as the ``postgres`` user), creates a small schema with planted problems and captures:

* ``*.json``: ``EXPLAIN (ANALYZE, BUFFERS, VERBOSE, SETTINGS, FORMAT JSON)`` of one query each, as the
  server returned it: a sequential scan whose filter discards most rows, a correlated-column row
  misestimate, a sort spilling to disk and a hash join in batches (small ``work_mem``), a lossy bitmap
  heap scan, a nested loop with many inner loops, an index-only scan visiting the heap, a parallel
  aggregate, a plan with a CTE / InitPlan / SubPlan / Memoize, a JIT-compiled query, a partitioned table
  whose planning dominates, a trivial primary-key lookup, and ``no_analyze.json`` (plain EXPLAIN);
* ``psql_framed.txt`` / ``psql_multi.txt``: the same JSON as psql prints it (``QUERY PLAN`` header,
  ``+`` continuations), one and two statements; ``subplans_text.txt``: text-format EXPLAIN in psql;
* ``index_fixed.json``: the seq-scan query again after ``CREATE INDEX`` (for ``compare_plans``);
* ``auto_explain/postgresql.log|.csv|.json``: the server's stderr, csvlog and jsonlog with auto_explain
  entries in JSON and text format;
* ``pg_stat_statements.csv``: ``COPY (SELECT * FROM pg_stat_statements) TO STDOUT CSV HEADER`` after a
  workload with an N+1 pattern;
* ``attribution/*.json`` (``--only attribution``): plans for the time-attribution checks of issue 15 —
  a parallel seq scan under a nested loop with Memoize (per-worker cache statistics), the same with one
  row that sleeps 0.3 s in a join filter (one process does most of the work: skewed workers), a parallel
  hash join with per-worker sorts, a top-N Sort under a Limit, and a serial nested loop running an index
  scan 100,000 times (per-loop times rounded to 1 µs × 100k loops);
* ``auto_explain/workload.log`` (``--only workload``): a stderr log of auto_explain JSON entries
  (VERBOSE) from a small workload — the same statements with different literals, parallel plans,
  nested loops — the seed of the 700-plan benchmark log and of the query-group tests.

Run: ``.venv/bin/python data/generate/plans.py [--only basic|attribution|workload]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.services import start_postgres  # noqa: E402

OUT = ROOT / "data" / "samples" / "plans"

SCHEMA = """
CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, region text NOT NULL);
INSERT INTO customers SELECT g, 'user' || g || '@example.com', (ARRAY['eu','us','apac'])[1 + g % 3]
  FROM generate_series(1, 20000) g;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, customer_email text NOT NULL,
  status text NOT NULL, amount numeric(10,2) NOT NULL, created_at timestamptz NOT NULL, note text);
INSERT INTO orders SELECT g, 1 + (g * 7919) % 20000, 'user' || (1 + (g * 7919) % 20000) || '@example.com',
  (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4], (g % 1000) / 3.0,
  timestamptz '2026-01-01' + g * interval '1 minute', repeat('x', 40)
  FROM generate_series(1, 200000) g;
CREATE INDEX orders_created_at ON orders (created_at);
CREATE INDEX orders_status_amount ON orders (status, amount);
CREATE TABLE order_items (id serial PRIMARY KEY, order_id int NOT NULL, sku text, qty int);
INSERT INTO order_items (order_id, sku, qty) SELECT 1 + g % 200000, 'sku' || g % 500, 1 + g % 5
  FROM generate_series(1, 300000) g;
CREATE INDEX order_items_order_id ON order_items (order_id);
CREATE TABLE readings (a int, b int, payload text);
INSERT INTO readings SELECT g % 100, g % 100, 'p' FROM generate_series(1, 100000) g;
CREATE TABLE events (id int, kind int, at int) PARTITION BY RANGE (at);
"""

QUERIES: dict[str, tuple[str, list[str]]] = {
    "seq_scan_filter": (
        "SELECT id, amount FROM orders WHERE customer_email = 'user42@example.com'",
        ["SET max_parallel_workers_per_gather = 0"],
    ),
    "row_misestimate": (
        "SELECT r.a, count(*) FROM readings r JOIN readings s ON s.a = r.a "
        "WHERE r.a = 1 AND r.b = 1 AND s.a = 1 AND s.b = 1 GROUP BY r.a",
        ["SET max_parallel_workers_per_gather = 0"],
    ),
    "sort_spill": (
        "SELECT id, amount, note FROM orders ORDER BY amount DESC, note",
        ["SET work_mem = '64kB'", "SET max_parallel_workers_per_gather = 0"],
    ),
    "hash_spill": (
        "SELECT c.region, sum(o.amount) FROM orders o JOIN customers c ON c.id = o.customer_id "
        "GROUP BY c.region",
        [
            "SET work_mem = '64kB'",
            "SET max_parallel_workers_per_gather = 0",
            "SET enable_mergejoin = off",
        ],
    ),
    "lossy_bitmap": (
        "SELECT count(*) FROM orders WHERE created_at BETWEEN '2026-01-10' AND '2026-03-20' "
        "AND note <> ''",
        [
            "SET work_mem = '64kB'",
            "SET enable_indexscan = off",
            "SET enable_seqscan = off",
            "SET max_parallel_workers_per_gather = 0",
        ],
    ),
    "nested_loop": (
        "SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.status = 'paid'",
        [
            "SET enable_hashjoin = off",
            "SET enable_mergejoin = off",
            "SET enable_memoize = off",
            "SET max_parallel_workers_per_gather = 0",
        ],
    ),
    "heap_fetches": (
        "SELECT status, amount FROM orders WHERE status = 'shipped' AND amount < 100",
        [
            "SET enable_bitmapscan = off",
            "SET enable_seqscan = off",
            "SET max_parallel_workers_per_gather = 0",
        ],
    ),
    "parallel": (
        "SELECT status, count(*), avg(amount) FROM orders WHERE note LIKE 'x%' GROUP BY status",
        [
            "SET parallel_setup_cost = 0",
            "SET parallel_tuple_cost = 0",
            "SET min_parallel_table_scan_size = 0",
            "SET max_parallel_workers_per_gather = 2",
        ],
    ),
    "subplans": (
        "WITH big AS MATERIALIZED (SELECT customer_id, sum(amount) AS total FROM orders "
        "WHERE id <= 20000 GROUP BY customer_id) "
        "SELECT c.id, c.email, b.total, "
        "(SELECT count(*) FROM order_items i WHERE i.order_id = c.id) AS items "
        "FROM customers c JOIN big b ON b.customer_id = c.id "
        "WHERE b.total > (SELECT avg(total) FROM big) AND c.id <= 5000",
        ["SET max_parallel_workers_per_gather = 0"],
    ),
    "memoize": (
        "SELECT o.id, c.region FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.id <= 20000 AND o.customer_id <= 50",
        [
            "SET max_parallel_workers_per_gather = 0",
            "SET enable_hashjoin = off",
            "SET enable_mergejoin = off",
        ],
    ),
    "jit": (
        "SELECT status, sum(amount * 2 + 1), avg(length(note)) FROM orders GROUP BY status",
        [
            "SET jit = on",
            "SET jit_above_cost = 0",
            "SET jit_inline_above_cost = 0",
            "SET jit_optimize_above_cost = 0",
            "SET max_parallel_workers_per_gather = 0",
        ],
    ),
    "planning_time": (
        "SELECT count(*) FROM events WHERE kind = 3 AND id = 17",
        ["SET max_parallel_workers_per_gather = 0"],
    ),
    "trivial": ("SELECT id, amount FROM orders WHERE id = 42", []),
}


def explain_sql(sql: str, *, analyze: bool = True) -> str:
    """The EXPLAIN statement used for every sample."""
    opts = "ANALYZE, BUFFERS, VERBOSE, SETTINGS, FORMAT JSON" if analyze else "VERBOSE, FORMAT JSON"
    return f"EXPLAIN ({opts}) {sql}"


def run_explain(conn: psycopg.Connection[tuple[object, ...]], sql: str, sets: list[str]) -> str:
    """Run one EXPLAIN with session settings; return the JSON text exactly as the server sent it."""
    with conn.cursor() as cur:
        cur.execute("RESET ALL")
        for s in sets:
            cur.execute(s)  # type: ignore[arg-type]
        cur.execute(explain_sql(sql))  # type: ignore[arg-type]
        row = cur.fetchone()
    assert row is not None
    value = row[0]
    return value if isinstance(value, str) else json.dumps(value, indent=2)


def psql(pg: object, sql: str, *, aligned: bool = True) -> str:
    """Run psql the way a person does (aligned output, QUERY PLAN header, ``+`` continuations)."""
    cmd = [
        *pg.as_user,  # type: ignore[attr-defined]
        str(pg.bindir / "psql"),  # type: ignore[attr-defined]
        "-X",
        "-h",
        "127.0.0.1",
        "-p",
        str(pg.port),  # type: ignore[attr-defined]
        "-U",
        "postgres",
        "-d",
        "perfnb",
        "-c",
        sql,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout


PARALLEL = [
    "SET parallel_setup_cost = 0",
    "SET parallel_tuple_cost = 0",
    "SET min_parallel_table_scan_size = 0",
    "SET max_parallel_workers_per_gather = 2",
]

ATTRIBUTION: dict[str, tuple[str, list[str]]] = {
    # Gather > Nested Loop (Parallel Seq Scan, Memoize > Index Scan): each process has its own cache
    # (readings.a has 100 distinct values: the planner expects cache hits)
    "parallel_memoize": (
        "SELECT c.region, count(*) FROM readings r JOIN customers c ON c.id = r.a GROUP BY c.region",
        [*PARALLEL, "SET enable_hashjoin = off", "SET enable_mergejoin = off"],
    ),
    # one outer row sleeps 0.3 s in the join filter: whichever process draws its block does most work
    "parallel_skewed": (
        "SELECT count(*), max(c.email) FROM orders o JOIN customers c ON c.id = o.customer_id "
        "AND slow_match(o.id, c.id) WHERE o.customer_id <= 300",
        [*PARALLEL, "SET enable_hashjoin = off", "SET enable_mergejoin = off"],
    ),
    # parallel hash join, workers sort their share before Gather Merge
    "parallel_hash_sort": (
        "SELECT o.customer_id, sum(i.qty) FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.status = 'paid' GROUP BY o.customer_id ORDER BY 2 DESC",
        [*PARALLEL, "SET work_mem = '256kB'", "SET enable_indexscan = off"],
    ),
    # a top-N Sort under a Limit: it returns 20 of the ~50,000 rows it was estimated to produce
    "limit_sort": (
        "SELECT id, amount, note FROM orders WHERE status = 'paid' ORDER BY note DESC, id LIMIT 20",
        ["SET max_parallel_workers_per_gather = 0", "SET enable_indexscan = off"],
    ),
    # serial: the inner index scan runs 100,000 times; its per-loop time is printed to 0.001 ms
    "serial_loops": (
        "SELECT count(*), sum(c.id) FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.id <= 100000",
        [
            "SET max_parallel_workers_per_gather = 0",
            "SET enable_hashjoin = off",
            "SET enable_mergejoin = off",
            "SET enable_memoize = off",
        ],
    ),
}

SLOW_MATCH = """
CREATE FUNCTION slow_match(order_id int, customer_id int) RETURNS boolean
LANGUAGE plpgsql PARALLEL SAFE AS $$
BEGIN
  IF order_id = 120000 THEN PERFORM pg_sleep(0.3); END IF;  -- order 120000 has customer 1
  RETURN true;
END $$;
"""

#: the workload for auto_explain/workload.log: (statement template, literal values, settings)
WORKLOAD: list[tuple[str, list[object], list[str]]] = [
    ("SELECT id, amount FROM orders WHERE customer_email = '{}'",
     ["user42@example.com", "user7@example.com", "user1999@example.com", "user5@example.com",
      "user99@example.com", "user123@example.com"], ["SET max_parallel_workers_per_gather = 0"]),
    ("SELECT id, amount FROM orders WHERE id = {}", [42, 4242, 99, 123456, 7], []),
    ("SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
     "WHERE o.customer_id <= {}", [50, 200, 1000],
     ["SET enable_hashjoin = off", "SET enable_mergejoin = off"]),
    ("SELECT c.region, count(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
     "WHERE o.customer_id <= {} GROUP BY c.region", [1000, 3000, 6000],
     [*PARALLEL, "SET enable_hashjoin = off", "SET enable_mergejoin = off"]),
    ("SELECT status, count(*), avg(amount) FROM orders WHERE note LIKE '{}' GROUP BY status",
     ["x%", "%xx%", "y%"], PARALLEL),
    ("SELECT sku, sum(qty) FROM order_items WHERE order_id BETWEEN {} AND {} + 500 GROUP BY sku",
     [10, 5000, 90000, 150000], ["SET max_parallel_workers_per_gather = 0"]),
    ("SELECT id, amount, note FROM orders WHERE status = '{}' ORDER BY amount DESC LIMIT 20",
     ["paid", "new", "shipped"], ["SET max_parallel_workers_per_gather = 0"]),
    ("SELECT c.email, (SELECT count(*) FROM order_items i WHERE i.order_id = o.id) FROM orders o "
     "JOIN customers c ON c.id = o.customer_id WHERE o.id <= {}", [300, 1500],
     ["SET max_parallel_workers_per_gather = 0"]),
    ("SELECT count(*) FROM orders WHERE note ILIKE '%{}%'", ["xx", "zz"], PARALLEL),
    ("SELECT count(*) FROM customers WHERE email ~ '{}'", ["^user1[0-9]+@", "9@example"],
     ["SET max_parallel_workers_per_gather = 0"]),
]  # fmt: skip


def workload_statements() -> list[tuple[str, list[str]]]:
    """The statements of the workload log, in execution order (each template several times)."""
    out: list[tuple[str, list[str]]] = []
    for template, values, sets in WORKLOAD:
        for v in values:
            args = [v] * template.count("{}")
            out.append((template.format(*args), sets))
    return out


def capture_attribution(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Write attribution/*.json (see the module docstring)."""
    folder = OUT / "attribution"
    folder.mkdir(parents=True, exist_ok=True)
    with conn.cursor() as cur:
        cur.execute(SLOW_MATCH)  # type: ignore[arg-type]
    for name, (sql, sets) in ATTRIBUTION.items():
        text = run_explain(conn, sql, sets)
        (folder / f"{name}.json").write_text(text + "\n")
        print("wrote attribution", name)


def capture_workload(pg: object, conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Run the workload with auto_explain (JSON, VERBOSE, BUFFERS); copy the stderr log's entries."""
    log = pg.log_dir / "postgresql.log"  # type: ignore[attr-defined]
    start = log.stat().st_size if log.exists() else 0
    with conn.cursor() as cur:
        for sql, sets in workload_statements():
            cur.execute("RESET ALL")
            for s in sets:
                cur.execute(s)  # type: ignore[arg-type]
            cur.execute("SET auto_explain.log_min_duration = 0")
            cur.execute("SET auto_explain.log_verbose = on")
            cur.execute(sql)  # type: ignore[arg-type]
            cur.fetchall()
        cur.execute("RESET ALL")
    pg.psql("SELECT pg_sleep(0.5)")  # type: ignore[attr-defined]  # let the logger flush
    with log.open("rb") as fh:
        fh.seek(start)
        text = fh.read()
    (OUT / "auto_explain" / "workload.log").write_bytes(text)
    print("wrote workload.log", len(text))


def prepare(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Create the schema with its planted problems and ANALYZE it (no VACUUM)."""
    with conn.cursor() as cur:
        cur.execute(SCHEMA)  # type: ignore[arg-type]
        for i in range(120):
            cur.execute(
                f"CREATE TABLE events_{i} PARTITION OF events "  # type: ignore[arg-type]
                f"FOR VALUES FROM ({i * 100}) TO ({(i + 1) * 100})"
            )
        cur.execute("CREATE INDEX ON events (kind)")
        cur.execute(
            "INSERT INTO events SELECT g, g % 10, g % 12000 FROM generate_series(1, 24000) g"
        )
        # analyze everything except the visibility map: no VACUUM, so index-only scans visit the heap
        cur.execute("ANALYZE")
        cur.execute("SELECT pg_stat_statements_reset()")


def main(argv: list[str] | None = None) -> None:
    """Start PostgreSQL, plant the problems, capture everything (or one part) into data/samples/plans/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("basic", "attribution", "workload"), default=None)
    only = parser.parse_args(argv).only
    pg = start_postgres(settings={"autovacuum": "off", "jit": "on"})
    try:
        if only in ("attribution", "workload"):
            OUT.mkdir(parents=True, exist_ok=True)
            conninfo = f"host=127.0.0.1 port={pg.port} user=postgres dbname=perfnb"
            with psycopg.connect(conninfo, autocommit=True) as conn:
                prepare(conn)
                if only == "attribution":
                    capture_attribution(conn)
                else:
                    capture_workload(pg, conn)
            return
        _basic(pg)
        if only is None:
            conninfo = f"host=127.0.0.1 port={pg.port} user=postgres dbname=perfnb"
            with psycopg.connect(conninfo, autocommit=True) as conn:
                capture_attribution(conn)
                capture_workload(pg, conn)
    finally:
        pg.stop()


def _basic(pg: object) -> None:
    """The original samples (see the module docstring)."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "auto_explain").mkdir(exist_ok=True)
    conninfo = f"host=127.0.0.1 port={pg.port} user=postgres dbname=perfnb"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        prepare(conn)
        for name, (sql, sets) in QUERIES.items():
            text = run_explain(conn, sql, sets)
            (OUT / f"{name}.json").write_text(text + "\n")
            print("wrote", name)
        with conn.cursor() as cur:
            cur.execute("RESET ALL")
            cur.execute(explain_sql(QUERIES["seq_scan_filter"][0], analyze=False))  # type: ignore[arg-type]
            row = cur.fetchone()
            assert row is not None
            value = row[0]
            text = value if isinstance(value, str) else json.dumps(value, indent=2)
            (OUT / "no_analyze.json").write_text(text + "\n")
        # N+1 workload and a dominating statement for pg_stat_statements
        with conn.cursor() as cur:
            for cid in range(1, 81):
                cur.execute("SELECT id FROM orders WHERE customer_id = %s LIMIT 20", (cid,))
                for (oid,) in cur.fetchall():
                    cur.execute("SELECT sku, qty FROM order_items WHERE order_id = %s", (oid,))
            for _ in range(5):
                cur.execute(
                    "SELECT id FROM orders WHERE customer_email = %s", ("user7@example.com",)
                )
        rows = []
        with conn.cursor().copy(
            "COPY (SELECT * FROM pg_stat_statements ORDER BY total_exec_time DESC) "
            "TO STDOUT WITH (FORMAT csv, HEADER)"
        ) as cp:
            for chunk in cp:
                rows.append(bytes(chunk))
        (OUT / "pg_stat_statements.csv").write_bytes(b"".join(rows))
        # the fixed variant of the seq-scan query, for compare_plans
        with conn.cursor() as cur:
            cur.execute("CREATE INDEX orders_customer_email ON orders (customer_email)")
        text = run_explain(conn, *QUERIES["seq_scan_filter"])
        (OUT / "index_fixed.json").write_text(text + "\n")
        with conn.cursor() as cur:
            cur.execute("DROP INDEX orders_customer_email")
        # auto_explain: JSON format (harness default), then text format
        with conn.cursor() as cur:
            cur.execute("SET auto_explain.log_min_duration = 0")
            cur.execute("SET auto_explain.log_nested_statements = on")
            cur.execute("SET max_parallel_workers_per_gather = 0")
            cur.execute(QUERIES["seq_scan_filter"][0])  # type: ignore[arg-type]
            cur.execute("SET work_mem = '64kB'")
            cur.execute(QUERIES["hash_spill"][0])  # type: ignore[arg-type]
            cur.execute("RESET work_mem")
            cur.execute(QUERIES["trivial"][0])  # type: ignore[arg-type]
            cur.execute("SET auto_explain.log_format = text")
            cur.execute(QUERIES["seq_scan_filter"][0])  # type: ignore[arg-type]
            cur.execute(QUERIES["trivial"][0])  # type: ignore[arg-type]
            cur.execute("RESET auto_explain.log_min_duration")
    framed = psql(pg, explain_sql(QUERIES["trivial"][0]))
    (OUT / "psql_framed.txt").write_text(framed)
    multi = psql(
        pg,
        explain_sql(QUERIES["trivial"][0]) + "; " + explain_sql(QUERIES["seq_scan_filter"][0]),
    )
    (OUT / "psql_multi.txt").write_text(multi)
    # text format as psql prints it, for the text parser (same CTE / InitPlan / SubPlan query)
    text_sql = explain_sql(QUERIES["subplans"][0]).replace(", FORMAT JSON", "")
    (OUT / "subplans_text.txt").write_text(
        psql(pg, "SET max_parallel_workers_per_gather = 0; " + text_sql)
    )
    pg.psql("SELECT pg_sleep(0.5)")  # let the logger flush
    for suffix in ("log", "csv", "json"):
        src = pg.log_dir / f"postgresql.{suffix}"
        if src.exists():
            dst = OUT / "auto_explain" / f"postgresql.{suffix}"
            shutil.copyfile(src, dst)
            print("copied", src, dst.stat().st_size)


if __name__ == "__main__":
    main()
