"""Regenerate data/samples/history/history.sqlite: eleven nights derived from a real Locust run.

perfnb.history.demo.demo_history() records eleven "nights", each a 25-second window of the real requests in
data/samples/loadtests/steady/run_requests.csv moved by whole days, /api/cart 1.4× slower from the seventh
night (a transformation of real data, never invented numbers). The file is stored with a rollback journal
(not WAL) so that it is one self-contained file; notebooks open a copy of it, never the sample itself.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from perfnb.history.demo import demo_history

OUT = Path(__file__).resolve().parents[1] / "samples" / "history" / "history.sqlite"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        history = demo_history(tmp)
        where = Path(history.where)
        history.close()
        con = sqlite3.connect(where)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode = DELETE")
        con.execute("VACUUM")
        con.close()
        OUT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(where, OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
