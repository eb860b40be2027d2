"""Cache rules (``CA0xx``) over :class:`~perfnb.io.redis.CacheStats` (Redis INFO, memcached stats).

CA001 low hit ratio (``cache_hit_min_ratio``, 0.8 by default, measured from snapshot differences), CA002
evictions under memory pressure, CA003 memory fragmentation, CA004 keys without TTL, CA005 hit ratio from
lifetime counters only (a single snapshot).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from perfnb.analysis.cache import summary
from perfnb.findings import Finding, Rule, Severity, Thresholds, rule, threshold
from perfnb.io.redis import CacheStats

threshold(
    "cache_fragmentation_max_ratio",
    1.5,
    "mem_fragmentation_ratio (RSS / used memory) above which memory is wasted.",
    unit="ratio",
)
threshold(
    "cache_fragmentation_min_bytes",
    64 * 1024 * 1024,
    "Used memory below which fragmentation is ignored (small instances always look fragmented).",
    unit="bytes",
)
threshold(
    "cache_no_ttl_max_ratio",
    0.5,
    "Share of keys without an expiry above which the keyspace grows without bound.",
    unit="ratio",
)


@rule(
    "CA001",
    "low-cache-hit-ratio",
    applies_to=CacheStats,
    severity=Severity.warning,
    thresholds=("cache_hit_min_ratio",),
    direction="down",
)
def low_hit_ratio(r: Rule, stats: CacheStats, th: Thresholds) -> Iterator[Finding]:
    """The cache answers too few lookups: hits / (hits + misses) below ``cache_hit_min_ratio``.

    Why: every miss goes to the slower backend; under 80 % the cache is a bottleneck rather than a relief.
    The ratio uses counter differences between snapshots (not lifetime counters), restarts handled.
    Fix: cache the keys that are read (check key design: a timestamp or session id in a key makes every
    lookup unique), raise the TTL of hot keys, give the cache enough memory to keep the working set.
    False positives: a cold cache just after a deploy; write-heavy caches with few reads.
    """
    s = summary(stats)
    if s["lookups"] == 0 or math.isnan(s["hit_ratio"]):
        return
    if s["hit_ratio"] < th["cache_hit_min_ratio"]:
        sev = Severity.critical if s["hit_ratio"] < th["cache_hit_min_ratio"] / 2 else None
        yield r.finding(
            title=f"{stats.kind} hit ratio {s['hit_ratio']:.0%} is below {th['cache_hit_min_ratio']:.0%}",
            severity=sev,
            location=stats.kind,
            evidence=_ev(s, "hit_ratio", "hits", "misses", "basis", "evictions"),
            recommendation="Check key design (per-request parts in keys make every GET miss), TTLs of hot "
            "keys, and whether evictions push the working set out; cache what is actually read.",
        )


@rule("CA002", "cache-evictions", applies_to=CacheStats, severity=Severity.warning, direction="up")
def evictions(r: Rule, stats: CacheStats, th: Thresholds) -> Iterator[Finding]:
    """Keys were evicted to make room: the cache is smaller than its working set.

    Why: evicted keys turn into misses, and with ``noeviction`` writes fail instead. Fix: raise
    ``maxmemory`` (or memcached ``-m``), shorten TTLs of cold data, or store less per key. False positive:
    an LRU cache sized on purpose to hold only the hottest keys.
    """
    s = summary(stats)
    if s["evictions"] > 0:
        yield r.finding(
            title=f"{s['evictions']} keys evicted ({stats.kind}, memory {_pct(s['memory_ratio'])} of limit)",
            location=stats.kind,
            evidence=_ev(
                s,
                "evictions",
                "used_memory_bytes",
                "maxmemory_bytes",
                "memory_ratio",
                "eviction_policy",
            ),
            recommendation="Give the cache more memory (maxmemory) or shrink what it stores (TTLs, smaller "
            "values); keep an LRU/LFU policy so evictions pick cold keys.",
        )


@rule(
    "CA003",
    "memory-fragmentation",
    applies_to=CacheStats,
    severity=Severity.info,
    thresholds=("cache_fragmentation_max_ratio", "cache_fragmentation_min_bytes"),
    direction="up",
)
def fragmentation(r: Rule, stats: CacheStats, th: Thresholds) -> Iterator[Finding]:
    """Redis' resident memory is much larger than the data it holds (``mem_fragmentation_ratio``).

    Fix: enable ``activedefrag yes`` (jemalloc builds) or restart during quiet hours. Ignored below
    ``cache_fragmentation_min_bytes`` of used memory, where the allocator's fixed overhead dominates.
    """
    s = summary(stats)
    frag = s["fragmentation_ratio"]
    if (
        not math.isnan(frag)
        and frag > th["cache_fragmentation_max_ratio"]
        and (s["used_memory_bytes"] >= th["cache_fragmentation_min_bytes"])
    ):
        yield r.finding(
            title=f"memory fragmentation ratio {frag:.2f}",
            location=stats.kind,
            evidence=_ev(s, "fragmentation_ratio", "used_memory_bytes"),
            recommendation="Enable active defragmentation (CONFIG SET activedefrag yes) or restart the "
            "instance at a quiet time.",
        )


@rule(
    "CA004",
    "keys-without-ttl",
    applies_to=CacheStats,
    severity=Severity.info,
    thresholds=("cache_no_ttl_max_ratio",),
)
def keys_without_ttl(r: Rule, stats: CacheStats, th: Thresholds) -> Iterator[Finding]:
    """Most keys have no expiry (Redis keyspace ``keys`` vs ``expires``).

    Why: a cache without TTLs grows until it evicts, and stale data is served forever. Fix: set a TTL on
    every cache write (``SET k v EX n``). False positive: Redis used as a database, not a cache.
    """
    s = summary(stats)
    ratio = s["keys_without_ttl_ratio"]
    if not math.isnan(ratio) and ratio > th["cache_no_ttl_max_ratio"]:
        yield r.finding(
            title=f"{ratio:.0%} of {s['keys']} keys have no TTL",
            location=stats.kind,
            evidence=_ev(s, "keys_without_ttl_ratio", "keys"),
            recommendation="Set an expiry on cache writes (SET key value EX seconds) that matches how long "
            "the data stays valid.",
        )


@rule("CA005", "lifetime-hit-ratio-only", applies_to=CacheStats, severity=Severity.info)
def lifetime_only(r: Rule, stats: CacheStats, th: Thresholds) -> Iterator[Finding]:
    """Only one snapshot was given, so the hit ratio covers the server's whole lifetime.

    Fix: take INFO / stats twice (before and after the period of interest) so the ratio is measured over
    that period only.
    """
    s = summary(stats)
    if s["basis"] == "lifetime":
        yield r.finding(
            title="hit ratio is from lifetime counters (one snapshot)",
            location=stats.kind,
            evidence=_ev(s, "hit_ratio", "hits", "misses"),
            recommendation="Capture two snapshots around the load period and compare them.",
        )


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.0%}"


def _ev(s: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: s[n] for n in names}
