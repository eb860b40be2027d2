from __future__ import annotations

import socket

import pytest

from perfnb import cache
from perfnb.analysis.cache import summary
from perfnb.errors import InputError, SourceError

pytestmark = pytest.mark.service


def _redis(port, *args):
    with socket.create_connection(("127.0.0.1", port)) as s:
        f = s.makefile("rb")
        for a in args:
            parts = a.split()
            s.sendall(
                f"*{len(parts)}\r\n".encode()
                + b"".join(f"${len(x)}\r\n{x}\r\n".encode() for x in parts)
            )
            line = f.readline()
            if line[:1] == b"$" and int(line[1:]) >= 0:
                f.read(int(line[1:]) + 2)


def test_redis_measures_known_hit_ratio(redis_server):
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    _redis(redis_server.port, *[f"SET live:{i} v" for i in range(50)])
    before = cache.redis_info(url)
    # 70 hits, 30 misses → 0.7, whatever happened on the server before
    _redis(
        redis_server.port,
        *[f"GET live:{i % 50}" for i in range(70)],
        *[f"GET absent:{i}" for i in range(30)],
    )
    after = cache.redis_info(url)
    res = summary(cache.combine(before, after))
    assert (res["hits"], res["misses"]) == (70, 30)
    assert res["hit_ratio"] == pytest.approx(0.7)
    assert after.field("slowlog_len").notna().all()


def test_sample_redis_takes_two_snapshots_apart(redis_server):
    url = f"redis://127.0.0.1:{redis_server.port}/0"
    stats = cache.sample_redis(url, interval_s=0.2)
    assert len(stats.snapshots) == 2
    assert summary(stats)["hits"] >= 0
    with pytest.raises(InputError, match="interval_s must be positive"):
        cache.sample_redis(url, interval_s=0)


def test_memcached_measures_known_hit_ratio(memcached_server):
    port = memcached_server.port
    before = cache.memcached_stats("127.0.0.1", port)
    with socket.create_connection(("127.0.0.1", port)) as s:
        f = s.makefile("rb")
        s.sendall(b"set k 0 0 1\r\nx\r\n")
        f.readline()
        for key in ["k"] * 9 + ["nope"]:
            s.sendall(f"get {key}\r\n".encode())
            while f.readline() != b"END\r\n":
                pass
    res = summary(cache.combine(before, cache.memcached_stats("127.0.0.1", port)))
    assert res["hit_ratio"] == pytest.approx(0.9)


def test_unreachable_hides_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError) as info:
        cache.redis_info(f"redis://app:hunter2@127.0.0.1:{port}/0", timeout_s=1)
    assert "hunter2" not in str(info.value)
    assert "app:***@" in str(info.value)
