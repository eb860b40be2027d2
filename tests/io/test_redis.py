from __future__ import annotations

import pytest

from perfnb import read
from perfnb.analysis.cache import intervals, summary
from perfnb.errors import FormatError
from perfnb.io.redis import (
    CACHE_FIELDS,
    CACHE_SNAPSHOTS,
    CacheStats,
    parse_redis_info,
    read_redis_info,
)
from perfnb.schema import assert_conforms
from tests.conftest import DATA

CACHE = DATA / "samples" / "cache"


def test_known_workload_hit_ratio():
    s = read_redis_info(CACHE / "redis_info.txt")
    assert_conforms(s.snapshots, CACHE_SNAPSHOTS)
    assert_conforms(s.fields, CACHE_FIELDS)
    assert len(s.snapshots) == 5
    iv = intervals(s)
    assert iv["hits"].tolist() == [100] * 4
    assert iv["misses"].tolist() == [25] * 4
    res = summary(s)
    assert res["hit_ratio"] == pytest.approx(0.8)
    assert res["keys"] == 200
    assert res["keys_without_ttl_ratio"] == pytest.approx(0.5)


def test_poor_and_evicting():
    res = summary(read_redis_info(CACHE / "redis_info_poor.txt"))
    assert res["hit_ratio"] < 0.8
    assert res["evictions"] > 0
    assert res["eviction_policy"] == "allkeys-lru"


def test_reset_detected_by_uptime():
    text = (
        "# Server\nuptime_in_seconds:100\n# Stats\nkeyspace_hits:90\nkeyspace_misses:10\n"
        "# Server\nuptime_in_seconds:5\n# Stats\nkeyspace_hits:3\nkeyspace_misses:1\n"
    )
    iv = intervals(parse_redis_info(text))
    assert iv["reset"].tolist() == [True]
    assert iv["hits"].tolist() == [3]


def test_corpus(corpus):
    s = read_redis_info(corpus / "metrics" / "redis" / "redis_7.0.12_info_everything.txt")
    assert s.snapshots["version"].iloc[0] == "7.0.12"
    assert s.snapshots["keys"].iloc[0] == 5
    assert "latency_percentiles_usec_graph.QUERY.p99.9" in set(s.fields["field"])
    assert summary(s)["basis"] == "lifetime"


def test_sniffed():
    assert isinstance(read(CACHE / "redis_info.txt"), CacheStats)


def test_truncated(tmp_path):
    p = tmp_path / "info.txt"
    p.write_text("# Server\nredis_version:7.0.15\nuptime_in_sec")
    with pytest.raises(FormatError, match=r"info.txt:3: line is not 'field:value'"):
        read_redis_info(p)
