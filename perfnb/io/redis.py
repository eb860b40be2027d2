r"""Redis ``INFO`` output (all sections; one snapshot or several concatenated) → :class:`CacheStats`.

Entry point: :func:`read_redis_info`. Also :func:`parse_redis_info` for text already in memory (the live
:func:`perfnb.cache.redis_info` uses it).

Format (redis.io/commands/info, ``src/server.c genRedisInfoString``): ``# Section`` headers, then
``field:value`` lines (split on the *first* ``:``), ``\\r\\n`` line ends on the wire. Compound values such
as ``db0:keys=5,expires=0,avg_ttl=0`` or ``cmdstat_get:calls=…,usec=…`` are split redis-py style (on
``,`` then on the last ``=``) into fields ``db0.keys``, ``cmdstat_get.calls``. Several snapshots in one
file (``redis-cli INFO`` run in a loop) are split where a ``# Server`` header starts again. Unknown
fields are kept; missing ones are NaN.

The loaded object, :class:`CacheStats`, is shared with memcached (:mod:`perfnb.io.memcached`): its
``snapshots`` table (:data:`CACHE_SNAPSHOTS`) has the same columns for both, which the cache analyses
(:mod:`perfnb.analysis.cache`) and rules (``CA0xx``) read.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import ensure_path, guard_reader, read_text, register_format, run_label
from perfnb.model.cache import CACHE_FIELDS, CACHE_SNAPSHOTS, CacheStats

__all__ = [
    "CACHE_FIELDS",
    "CACHE_SNAPSHOTS",
    "CacheStats",
    "parse_redis_info",
    "read_redis_info",
]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _number(text: str) -> float:
    return float(text) if _NUMBER.match(text) else math.nan


def _split_snapshots(lines: list[str]) -> list[list[tuple[int, str]]]:
    snaps: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for i, line in enumerate(lines, start=1):
        if line.strip().lower() == "# server" and any(
            not t.startswith("#") for _, t in current if t
        ):
            snaps.append(current)
            current = []
        current.append((i, line))
    snaps.append(current)
    return snaps


def parse_redis_info(
    text: str, *, path: str | os.PathLike[str] | None = None, run: str = "redis", snapshot0: int = 0
) -> CacheStats:
    """Parse ``INFO`` text (one or several snapshots) into :class:`CacheStats`.

    Raises
    ------
    FormatError
        A line that is neither a header, blank, nor ``field:value`` (line number given).
    EmptyInputError
        No fields at all.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    rows: list[dict[str, Any]] = []
    for k, snap in enumerate(_split_snapshots(lines)):
        section = ""
        for lineno, raw in snap:
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                section = line.lstrip("# ").strip()
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or " " in name:
                raise FormatError(
                    "line is not 'field:value'",
                    path=path,
                    line=lineno,
                    found=line,
                    expected="Redis INFO output (# Section headers and field:value lines)",
                )
            parts: list[tuple[str, str]] = [(name, value)]
            if (
                "=" in value
                and ("," in value or re.match(r"^[\w.]+=", value))
                and section not in ("Server",)
            ):
                sub = [item.rsplit("=", 1) for item in value.split(",")]
                if all(len(s) == 2 for s in sub):
                    parts = [(f"{name}.{s[0]}", s[1]) for s in sub]
            for field, val in parts:
                rows.append(
                    {
                        "snapshot": snapshot0 + k,
                        "section": section,
                        "field": field,
                        "value": _number(val),
                        "text": val,
                    }
                )
    if not rows:
        raise EmptyInputError("no INFO fields found", path=path, expected="Redis INFO output")
    fields = pd.DataFrame(rows)
    fields["source"] = "redis"
    fields["run"] = run
    fields = CACHE_FIELDS.conform(fields)
    return CacheStats("redis", _redis_snapshots(fields, path), fields)


def _redis_snapshots(fields: pd.DataFrame, path: Any) -> pd.DataFrame:
    out = []
    for snap, g in fields.groupby("snapshot", sort=True):
        val = dict(zip(g["field"], g["value"], strict=True))
        txt = dict(zip(g["field"], g["text"], strict=True))
        if (
            "keyspace_hits" not in val
            and "uptime_in_seconds" not in val
            and "used_memory" not in val
        ):
            raise FormatError(
                "snapshot has none of keyspace_hits, uptime_in_seconds, used_memory",
                path=path,
                key=f"snapshot {snap}",
                expected="INFO with the Server, Memory and Stats sections",
            )
        dbs = [f for f in val if re.fullmatch(r"db\d+\.keys", f)]
        exps = [f for f in val if re.fullmatch(r"db\d+\.expires", f)]
        usec = val.get("server_time_usec", math.nan)
        maxmem = val.get("maxmemory", math.nan)
        out.append(
            {
                "snapshot": snap,
                "timestamp": pd.Timestamp(int(usec), unit="us", tz="UTC")
                if not math.isnan(usec)
                else pd.NaT,
                "uptime_s": val.get("uptime_in_seconds", math.nan),
                "hits": val.get("keyspace_hits"),
                "misses": val.get("keyspace_misses"),
                "evictions": val.get("evicted_keys"),
                "expired": val.get("expired_keys"),
                "keys": sum(val[f] for f in dbs) if dbs else (0 if "used_memory" in val else None),
                "keys_with_ttl": sum(val[f] for f in exps) if exps else (0 if dbs == [] else None),
                "used_memory_bytes": val.get("used_memory", math.nan),
                "maxmemory_bytes": maxmem if maxmem and not math.isnan(maxmem) else math.nan,
                "fragmentation_ratio": val.get("mem_fragmentation_ratio", math.nan),
                "connected_clients": val.get("connected_clients"),
                "commands": val.get("total_commands_processed"),
                "version": txt.get("redis_version", txt.get("valkey_version", "")),
                "eviction_policy": txt.get("maxmemory_policy", ""),
            }
        )
    df = pd.DataFrame(out)
    _counts_as_int64(df)
    df["source"] = "redis"
    df["run"] = fields["run"].iloc[0]
    return CACHE_SNAPSHOTS.conform(df)


def _looks_like_redis(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \r\n")
    return text.startswith(b"# ") and (b"redis_version:" in head or b"keyspace_hits:" in head)


_COUNT_COLUMNS = (
    "hits",
    "misses",
    "evictions",
    "expired",
    "keys",
    "keys_with_ttl",
    "connected_clients",
    "commands",
)


def _counts_as_int64(df: pd.DataFrame) -> None:
    """Make the counter columns nullable integers in place (a field a server lacks stays missing)."""
    for c in _COUNT_COLUMNS:
        df[c] = pd.array(
            [
                None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
                for v in df[c]
            ],
            dtype="Int64",
        )


@register_format(
    "redis_info",
    description="Redis INFO output (one or several snapshots)",
    kind="cache",
    sniff=lambda path, head: _looks_like_redis(head),
    priority=30,
)
@guard_reader
def read_redis_info(path: str | os.PathLike[str], *, run: str | None = None) -> CacheStats:
    """Read Redis ``INFO`` output saved to a file (``redis-cli INFO everything > info.txt``).

    Parameters
    ----------
    path
        The file; several snapshots may follow each other (each starting with ``# Server``).
    run
        Run label (default: the file stem).

    Returns
    -------
    CacheStats
        ``snapshots`` conforming to :data:`CACHE_SNAPSHOTS`, ``fields`` to :data:`CACHE_FIELDS`.

    Raises
    ------
    FormatError
        A line that is not ``field:value`` (file and line named), or a snapshot without the core fields.
    EmptyInputError
        An empty file.

    Examples
    --------
    >>> stats = read_redis_info("data/samples/cache/redis_info.txt")
    >>> int(stats.snapshots["hits"].iloc[-1]) > 0
    True
    """
    p = ensure_path(path)
    return parse_redis_info(read_text(p), path=p, run=run_label(p, run))
