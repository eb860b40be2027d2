"""Cache server statistics (Redis, memcached): :class:`CacheStats` and its two tables.

:data:`CACHE_SNAPSHOTS` and :data:`CACHE_FIELDS` are what the cache analyses and the CA rules read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from perfnb.model._base import ModelMixin
from perfnb.schema import PROVENANCE, Column, Schema, register

__all__ = ["CACHE_FIELDS", "CACHE_SNAPSHOTS", "CacheStats"]

CACHE_FIELDS = register(
    Schema(
        "cache_fields",
        (
            *PROVENANCE,
            Column("snapshot", "int64", doc="0-based snapshot number in the file."),
            Column(
                "section", "category", doc="INFO section (``Stats``) or ``stats`` for memcached."
            ),
            Column("field", "string", doc="Field name; compound values as ``db0.keys``."),
            Column("value", "float64", doc="The value as a number, NaN if it is not one."),
            Column("text", "string", doc="The value as written."),
        ),
        doc="``CacheStats.fields``: every field of every snapshot, long form.",
    )
)

CACHE_SNAPSHOTS = register(
    Schema(
        "cache_snapshots",
        (
            *PROVENANCE,
            Column("snapshot", "int64", doc="0-based snapshot number."),
            Column("timestamp", "timestamp", doc="Server time of the snapshot, if it says."),
            Column("uptime_s", "float64", unit="s", doc="Server uptime; a drop means a restart."),
            Column(
                "hits", "Int64", doc="Lookups that found the key (``keyspace_hits``, ``get_hits``)."
            ),
            Column(
                "misses", "Int64", doc="Lookups that missed (``keyspace_misses``, ``get_misses``)."
            ),
            Column(
                "evictions",
                "Int64",
                doc="Keys evicted for memory (``evicted_keys``, ``evictions``).",
            ),
            Column(
                "expired",
                "Int64",
                doc="Keys expired by TTL (``expired_keys``, ``expired_unfetched``).",
            ),
            Column(
                "keys", "Int64", doc="Keys held (sum of ``dbN.keys``; memcached ``curr_items``)."
            ),
            Column("keys_with_ttl", "Int64", doc="Keys with an expiry (sum of ``dbN.expires``)."),
            Column(
                "used_memory_bytes", "float64", unit="bytes", doc="``used_memory`` / ``bytes``."
            ),
            Column(
                "maxmemory_bytes", "float64", unit="bytes", doc="Memory limit; NaN if unlimited."
            ),
            Column(
                "fragmentation_ratio", "float64", doc="``mem_fragmentation_ratio`` (RSS / used)."
            ),
            Column("connected_clients", "Int64", doc="Client connections."),
            Column("commands", "Int64", doc="Commands processed since start."),
            Column("version", "string", doc="Server version."),
            Column("eviction_policy", "string", doc="``maxmemory_policy`` (Redis)."),
        ),
        doc="``CacheStats.snapshots``: one row per snapshot, the same columns for Redis and memcached.",
    )
)


@dataclass(frozen=True)
class CacheStats(ModelMixin):
    """Cache server statistics: ``snapshots`` (one row each) and ``fields`` (everything, long form)."""

    kind: str
    snapshots: pd.DataFrame
    fields: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The server kind (``redis`` or ``memcached``)."""
        return self.kind

    @property
    def run(self) -> str:
        """The run label of the snapshots."""
        if "run" not in self.snapshots:
            return ""
        runs = self.snapshots["run"].dropna().unique()
        return str(runs[0]) if len(runs) else ""

    def _frames(self) -> tuple[Any, ...]:
        return (self.snapshots,)

    def _summary(self) -> dict[str, Any]:
        return {"snapshots": len(self.snapshots), "fields": self.fields["field"].nunique()}

    def __repr__(self) -> str:
        return f"<CacheStats {self.kind} {len(self.snapshots)} snapshot(s)>"

    def field(self, name: str) -> pd.Series:
        """One numeric field across snapshots (NaN where absent), indexed by snapshot."""
        sel = self.fields[self.fields["field"] == name]
        return sel.set_index("snapshot")["value"].reindex(self.snapshots["snapshot"])
