from __future__ import annotations

import perfnb
from perfnb.io.redis import read_redis_info
from tests.conftest import DATA

CACHE = DATA / "samples" / "cache"


def test_poor_cache():
    codes = {f.rule for f in perfnb.check(read_redis_info(CACHE / "redis_info_poor.txt"))}
    assert {"CA001", "CA002", "CA004"} <= codes


def test_threshold_is_the_standard_default():
    stats = read_redis_info(CACHE / "redis_info.txt")  # exactly 0.8: not below the threshold
    assert not perfnb.check(stats, select=["CA001"])
    assert perfnb.check(stats, select=["CA001"], cache_hit_min_ratio=0.9)


def test_single_snapshot_is_lifetime(corpus):
    stats = read_redis_info(corpus / "metrics" / "redis" / "redis_7.0.12_info_everything.txt")
    assert [f.rule for f in perfnb.check(stats, select=["CA005"])] == ["CA005"]


def test_demo_cache_bottleneck():
    demo = DATA / "samples" / "demo"
    stats = read_redis_info(demo / "redis_info.txt")  # the snapshots before and after the load
    (f,) = perfnb.check(stats, select=["CA001"])
    assert f.evidence["hit_ratio"] < 0.5
