"""Cache analyses over :class:`~perfnb.io.redis.CacheStats` snapshots: hit ratio from counter deltas.

Entry points: :func:`intervals` (one row per pair of consecutive snapshots: the counter increases, with
restarts detected) and :func:`summary` (the hit ratio over the whole observation, memory use versus the
limit, fragmentation, keys without TTL).

Counters (``keyspace_hits``, ``get_misses`` …) count since the server started or since ``CONFIG
RESETSTAT``, so the lifetime ratio mixes today with last month. With two or more snapshots the ratio is
``Σ Δhits / (Σ Δhits + Σ Δmisses)``. A *reset* is when ``uptime_s`` goes down or a counter decreases:
then the increase over that interval is the later value itself (counted since the restart), as
Prometheus' ``increase()`` treats counter resets. With a single snapshot only the lifetime ratio exists,
and :func:`summary` says so (``basis="lifetime"``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError
from perfnb.model.cache import CacheStats

__all__ = ["intervals", "summary"]

_COUNTERS = ("hits", "misses", "evictions", "expired", "commands")


def intervals(stats: CacheStats) -> pd.DataFrame:
    r"""Counter increases between consecutive snapshots.

    Returns
    -------
    DataFrame
        ``snapshot`` (the later one), ``duration_s`` (uptime difference, NaN across a reset), ``reset``
        (bool), ``hits``, ``misses``, ``evictions``, ``expired``, ``commands`` (increases) and
        ``hit_ratio`` (NaN when no lookups happened).

    Examples
    --------
    >>> from perfnb.io.redis import parse_redis_info
    >>> one = "# Server\nuptime_in_seconds:10\n# Stats\nkeyspace_hits:5\nkeyspace_misses:5\n"
    >>> two = "# Server\nuptime_in_seconds:20\n# Stats\nkeyspace_hits:14\nkeyspace_misses:6\n"
    >>> s = parse_redis_info(one + two)
    >>> intervals(s)[["hits", "misses", "hit_ratio"]].to_dict("records")
    [{'hits': 9, 'misses': 1, 'hit_ratio': 0.9}]
    """
    snaps = stats.snapshots.sort_values("snapshot").reset_index(drop=True)
    rows: list[dict[str, Any]] = []
    for i in range(1, len(snaps)):
        prev, cur = snaps.iloc[i - 1], snaps.iloc[i]
        up0, up1 = float(prev["uptime_s"]), float(cur["uptime_s"])
        reset = bool(up1 < up0) if not (math.isnan(up0) or math.isnan(up1)) else False
        for c in _COUNTERS:
            a, b = prev[c], cur[c]
            if not pd.isna(a) and not pd.isna(b) and int(b) < int(a):
                reset = True
        row: dict[str, Any] = {
            "snapshot": int(cur["snapshot"]),
            "duration_s": math.nan if reset else up1 - up0,
            "reset": reset,
        }
        for c in _COUNTERS:
            a, b = prev[c], cur[c]
            if pd.isna(b):
                row[c] = pd.NA
            elif reset or pd.isna(a):
                row[c] = int(b)
            else:
                row[c] = int(b) - int(a)
        lookups = (0 if pd.isna(row["hits"]) else row["hits"]) + (
            0 if pd.isna(row["misses"]) else row["misses"]
        )
        row["hit_ratio"] = (
            row["hits"] / lookups if lookups and not pd.isna(row["hits"]) else math.nan
        )
        rows.append(row)
    cols = ["snapshot", "duration_s", "reset", *_COUNTERS, "hit_ratio"]
    out = pd.DataFrame(rows, columns=cols)
    for c in _COUNTERS:
        out[c] = out[c].astype("Int64")
    out["reset"] = out["reset"].astype(bool)
    out["hit_ratio"] = out["hit_ratio"].astype(float)
    return out


def summary(stats: CacheStats) -> dict[str, Any]:
    """Hit ratio, evictions, memory and key facts over the whole observation.

    Returns
    -------
    dict
        ``basis`` (``"delta"`` or ``"lifetime"``), ``hit_ratio``, ``hits``, ``misses``, ``evictions``,
        ``expired``, ``resets``, ``used_memory_bytes``, ``maxmemory_bytes``, ``memory_ratio`` (NaN when
        unlimited), ``fragmentation_ratio``, ``keys``, ``keys_without_ttl_ratio``, ``connected_clients``,
        ``eviction_policy``: all from the last snapshot where a gauge.

    Raises
    ------
    EmptyInputError
        If there is no snapshot.
    """
    snaps = stats.snapshots
    if snaps.empty:
        raise EmptyInputError("no cache snapshots")
    last = snaps.sort_values("snapshot").iloc[-1]
    if len(snaps) >= 2:
        iv = intervals(stats)
        basis = "delta"
        totals = {c: int(iv[c].fillna(0).sum()) for c in ("hits", "misses", "evictions", "expired")}
        resets = int(iv["reset"].sum())
    else:
        basis = "lifetime"
        totals = {
            c: int(last[c]) if not pd.isna(last[c]) else 0
            for c in ("hits", "misses", "evictions", "expired")
        }
        resets = 0
    lookups = totals["hits"] + totals["misses"]
    used = float(last["used_memory_bytes"])
    limit = float(last["maxmemory_bytes"])
    keys = last["keys"]
    ttl = last["keys_with_ttl"]
    return {
        "kind": stats.kind,
        "basis": basis,
        "hit_ratio": totals["hits"] / lookups if lookups else math.nan,
        **totals,
        "lookups": lookups,
        "resets": resets,
        "used_memory_bytes": used,
        "maxmemory_bytes": limit,
        "memory_ratio": used / limit if limit and not np.isnan(limit) else math.nan,
        "fragmentation_ratio": float(last["fragmentation_ratio"]),
        "keys": None if pd.isna(keys) else int(keys),
        "keys_without_ttl_ratio": (1 - int(ttl) / int(keys))
        if not pd.isna(keys) and not pd.isna(ttl) and int(keys) > 0
        else math.nan,
        "connected_clients": None
        if pd.isna(last["connected_clients"])
        else int(last["connected_clients"]),
        "eviction_policy": str(last["eviction_policy"]),
    }
