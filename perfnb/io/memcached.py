"""memcached ``stats`` output (``STAT name value`` lines ending with ``END``) → :class:`CacheStats`.

Entry points: :func:`read_memcached_stats` (a file; several ``stats`` replies may follow each other, each
ending with ``END``) and :func:`parse_memcached_stats` (text in memory, used by the live
:func:`perfnb.cache.memcached_stats`). Format: ``doc/protocol.txt`` "General-purpose statistics".
A reply without its ``END`` line is truncated and raises :class:`~perfnb.errors.FormatError` (pass
``require_end=False`` to read it anyway).
"""

from __future__ import annotations

import math
import os
from typing import Any

import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import ensure_path, guard_reader, read_text, register_format, run_label
from perfnb.io.redis import CACHE_FIELDS, CACHE_SNAPSHOTS, CacheStats, _counts_as_int64, _number

__all__ = ["parse_memcached_stats", "read_memcached_stats"]


def parse_memcached_stats(
    text: str,
    *,
    path: str | os.PathLike[str] | None = None,
    run: str = "memcached",
    require_end: bool = True,
) -> CacheStats:
    """Parse one or several memcached ``stats`` replies.

    Raises
    ------
    FormatError
        A line that is not ``STAT name value`` or ``END``; a reply without ``END`` (unless
        ``require_end=False``); an ``ERROR`` reply.
    EmptyInputError
        No ``STAT`` lines.
    """
    rows: list[dict[str, Any]] = []
    snap = 0
    open_reply = False
    last = 0
    for lineno, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        last = lineno
        if line == "END":
            if open_reply:
                snap += 1
            open_reply = False
            continue
        parts = line.split(" ", 2)
        if parts[0] != "STAT" or len(parts) != 3:
            raise FormatError(
                "line is not 'STAT name value'",
                path=path,
                line=lineno,
                found=line,
                expected="memcached stats output",
            )
        open_reply = True
        rows.append(
            {
                "snapshot": snap,
                "section": "stats",
                "field": parts[1],
                "value": _number(parts[2]),
                "text": parts[2],
            }
        )
    if not rows:
        raise EmptyInputError("no STAT lines", path=path, expected="memcached stats output")
    if open_reply and require_end:
        raise FormatError(
            "reply ends without END (truncated?)", path=path, line=last, expected="a final END line"
        )
    fields = pd.DataFrame(rows)
    fields["source"] = "memcached"
    fields["run"] = run
    fields = CACHE_FIELDS.conform(fields)
    out = []
    for k, g in fields.groupby("snapshot", sort=True):
        val = dict(zip(g["field"], g["value"], strict=True))
        txt = dict(zip(g["field"], g["text"], strict=True))
        if "get_hits" not in val:
            raise FormatError("reply has no get_hits", path=path, key=f"snapshot {k}")
        t = val.get("time", math.nan)
        out.append(
            {
                "snapshot": k,
                "timestamp": pd.Timestamp(int(t), unit="s", tz="UTC")
                if not math.isnan(t)
                else pd.NaT,
                "uptime_s": val.get("uptime", math.nan),
                "hits": val.get("get_hits"),
                "misses": val.get("get_misses"),
                "evictions": val.get("evictions"),
                "expired": val.get("expired_unfetched"),
                "keys": val.get("curr_items"),
                "keys_with_ttl": None,
                "used_memory_bytes": val.get("bytes", math.nan),
                "maxmemory_bytes": val.get("limit_maxbytes", math.nan),
                "fragmentation_ratio": math.nan,
                "connected_clients": val.get("curr_connections"),
                "commands": None,
                "version": txt.get("version", ""),
                "eviction_policy": "lru",
            }
        )
    df = pd.DataFrame(out)
    _counts_as_int64(df)
    df["source"] = "memcached"
    df["run"] = run
    return CacheStats("memcached", CACHE_SNAPSHOTS.conform(df), fields)


@register_format(
    "memcached_stats",
    description="memcached stats output (STAT lines, END)",
    kind="cache",
    sniff=lambda path, head: head.lstrip().startswith(b"STAT ") and b"get_hits" in head,
    priority=30,
)
@guard_reader
def read_memcached_stats(
    path: str | os.PathLike[str], *, run: str | None = None, require_end: bool = True
) -> CacheStats:
    """Read memcached ``stats`` output saved to a file (``echo stats | nc host 11211``).

    Parameters
    ----------
    path
        The file; several replies may follow each other.
    run
        Run label (default: the file stem).
    require_end
        Whether a reply without ``END`` is an error (default) or read as it is.

    Returns
    -------
    CacheStats
        ``snapshots`` conforming to :data:`~perfnb.io.redis.CACHE_SNAPSHOTS`.

    Raises
    ------
    FormatError
        Malformed lines or a missing ``END``.

    Examples
    --------
    >>> stats = read_memcached_stats("data/samples/cache/memcached_stats.txt")
    >>> len(stats.snapshots) >= 2
    True
    """
    p = ensure_path(path)
    return parse_memcached_stats(
        read_text(p), path=p, run=run_label(p, run), require_end=require_end
    )
