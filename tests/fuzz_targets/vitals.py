"""Fuzz targets for the web-vitals and cache readers."""

from __future__ import annotations

from pathlib import Path

from perfnb.io.crux import read_crux
from perfnb.io.lighthouse import read_lighthouse
from perfnb.io.memcached import read_memcached_stats
from perfnb.io.redis import read_redis_info
from perfnb.io.rum import read_rum
from tests.fuzz_targets._base import FuzzTarget

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "metrics"

TARGETS = [
    FuzzTarget(
        format="lighthouse",
        reader=read_lighthouse,
        samples=(SAMPLES / "vitals" / "lhr_desktop.json",),
    ),
    FuzzTarget(
        format="crux",
        reader=read_crux,
        samples=(
            CORPUS / "crux" / "crux_api_url_record_desktop_4g.json",
            CORPUS / "crux" / "crux_history_api_url_desktop_github.json",
        ),
    ),
    FuzzTarget(format="rum", reader=read_rum, samples=(SAMPLES / "vitals" / "rum.ndjson",)),
    FuzzTarget(
        format="redis_info",
        reader=read_redis_info,
        samples=(SAMPLES / "cache" / "redis_info_poor.txt",),
    ),
    FuzzTarget(
        format="memcached_stats",
        reader=read_memcached_stats,
        samples=(SAMPLES / "cache" / "memcached_stats.txt",),
    ),
]
