"""Time a series query on a large history: 10,000 runs × 100 subjects (one million measurements).

The history is built in a temporary folder with the same tables ``perfnb report`` writes (bulk inserts, so
the build is not what is measured). Then, best of five, it times what ``perfnb history --subject S
--metric M`` and the index trends do: ``History.measurements`` for one (subject, metric) — 10,000 rows out
of a million — and ``History.series`` + ``HistorySeries.steps`` on it, against a plain ``sqlite3`` query of
the same rows (the floor). Objective (issue 18): a series query in under a second.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from perfnb.history import History, db

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
SUBJECTS = 100


def best(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def build(path: Path) -> None:
    rng = np.random.default_rng(18)
    h = History(path)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with h.engine.begin() as conn:
        conn.execute(
            db.runs.insert(),
            [
                {
                    "system": "shop",
                    "env": "nightly",
                    "commit_id": f"{i:040x}",
                    "started_at": t0 + dt.timedelta(hours=i),
                    "recorded_at": t0 + dt.timedelta(hours=i, minutes=5),
                    "report": f"{i}/performance_report.html",
                    "fingerprint": f"{i:064x}",
                }
                for i in range(RUNS)
            ],
        )
        for start in range(0, RUNS, 1000):
            rows = []
            for run in range(start + 1, min(start + 1000, RUNS) + 1):
                values = 0.1 * (1 + rng.uniform(-0.1, 0.1, SUBJECTS))
                rows += [
                    {
                        "run_id": run,
                        "source": "loadtest",
                        "subject": f"/api/endpoint{k:03d}",
                        "metric": "p95_s",
                        "value": float(values[k]),
                        "unit": "s",
                    }
                    for k in range(SUBJECTS)
                ]
            conn.execute(db.measurements.insert(), rows)
    h.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite"
        t = time.perf_counter()
        build(path)
        print(
            f"built {RUNS:,} runs × {SUBJECTS} subjects in {time.perf_counter() - t:.1f} s "
            f"({path.stat().st_size / 1e6:.0f} MB)"
        )
        h = History(path, create=False)
        subject = "/api/endpoint042"
        rows = h.measurements(system="shop", subject=subject, metric="p95_s")
        assert len(rows) == RUNS, len(rows)
        q = best(lambda: h.measurements(system="shop", subject=subject, metric="p95_s"))
        s = best(lambda: h.series(system="shop", subject=subject, metric="p95_s")[0].steps(), n=3)
        eng = sa.create_engine(f"sqlite:///{path}")
        sql = (
            "SELECT r.id, r.started_at, m.value FROM perfnb_measurements m JOIN perfnb_runs r "
            "ON r.id = m.run_id WHERE r.system = 'shop' AND m.subject = :s AND m.metric = 'p95_s' "
            "ORDER BY r.started_at"
        )

        def plain() -> None:
            with eng.connect() as conn:
                conn.exec_driver_sql(sql.replace(":s", f"'{subject}'")).all()

        p = best(plain)
        print(
            f"series query ({RUNS:,} rows of {RUNS * SUBJECTS:,}): {q * 1000:.0f} ms "
            f"(plain SQL {p * 1000:.0f} ms, ×{q / p:.1f}); objective < 1 s: "
            f"{'met' if q < 1 else 'NOT met'}"
        )
        print(f"series + change points: {s * 1000:.0f} ms")
        h.close()
        eng.dispose()


if __name__ == "__main__":
    main()
