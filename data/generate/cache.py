"""Regenerate ``data/samples/cache/``: real Redis ``INFO`` and memcached ``stats`` with a known hit ratio.

Starts redis-server and memcached on free loopback ports (``tests/services.py``), then runs a workload:
SET 200 keys (100 with a TTL), then in each of 4 rounds GET 100 present and 25 absent keys (100 hits,
25 misses: hit ratio 0.8 per round) and snapshots the stats after every round. Files:

* ``redis_info.txt``: 5 ``INFO everything`` snapshots one after another (before + 4 rounds);
  the workload's hit ratio between the first and last snapshot is 400 / 500 = 0.8;
* ``redis_info_poor.txt``: 2 snapshots around GETs of the 30 newest of 20,000 keys written to a server
  limited to 1 MB with ``allkeys-lru`` (most were evicted) and 70 absent keys: hit ratio 0.12, evictions;
* ``memcached_stats.txt``: 5 ``stats`` replies, same workload (0.8).

Run: ``.venv/bin/python data/generate/cache.py``.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.services import start_memcached, start_redis  # noqa: E402

OUT = ROOT / "data" / "samples" / "cache"


class Redis:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.f = self.sock.makefile("rb")

    def cmd(self, *args: str) -> bytes:
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            out.append(f"${len(a.encode())}\r\n{a}\r\n".encode())
        self.sock.sendall(b"".join(out))
        line = self.f.readline()
        if line[:1] == b"$":
            n = int(line[1:])
            return b"" if n < 0 else self.f.read(n + 2)[:n]
        return line


def memcached(port: int, command: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(command.encode())
        data = b""
        while not data.endswith((b"END\r\n", b"STORED\r\n")):
            data += s.recv(65536)
        return data


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    svc = start_redis()
    try:
        r = Redis(svc.port)
        for i in range(200):
            if i % 2:
                r.cmd("SET", f"user:{i}", "x" * 100, "EX", "3600")
            else:
                r.cmd("SET", f"user:{i}", "x" * 100)
        snaps = [r.cmd("INFO", "everything").decode()]
        for rnd in range(4):
            for i in range(100):
                r.cmd("GET", f"user:{i}")
            for i in range(25):
                r.cmd("GET", f"missing:{rnd}:{i}")
            snaps.append(r.cmd("INFO", "everything").decode())
        (OUT / "redis_info.txt").write_text("".join(snaps), newline="")
    finally:
        svc.stop()
    svc = start_redis(extra_args=["--maxmemory", "1mb", "--maxmemory-policy", "allkeys-lru"])
    try:
        r = Redis(svc.port)
        for i in range(20000):
            r.cmd("SET", f"page:{i}", "y" * 200)
        before = r.cmd("INFO", "everything").decode()
        for i in range(100):
            r.cmd("GET", f"page:{19999 - i}" if i < 30 else f"nope:{i}")
        after = r.cmd("INFO", "everything").decode()
        (OUT / "redis_info_poor.txt").write_text(before + after, newline="")
    finally:
        svc.stop()
    svc = start_memcached()
    try:
        for i in range(200):
            memcached(svc.port, f"set user:{i} 0 {3600 if i % 2 else 0} 3\r\nabc\r\n")
        snaps_m = [memcached(svc.port, "stats\r\n").decode()]
        for rnd in range(4):
            for i in range(100):
                memcached(svc.port, f"get user:{i}\r\n")
            for i in range(25):
                memcached(svc.port, f"get missing:{rnd}:{i}\r\n")
            snaps_m.append(memcached(svc.port, "stats\r\n").decode())
        (OUT / "memcached_stats.txt").write_text("".join(snaps_m), newline="")
    finally:
        svc.stop()
    for p in sorted(OUT.iterdir()):
        print(p.relative_to(ROOT), p.stat().st_size)


if __name__ == "__main__":
    main()
