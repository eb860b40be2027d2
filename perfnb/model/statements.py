"""PostgreSQL statistics views: :class:`StatementStats` (pg_stat_statements) and :class:`TableUsage`.

Read by :mod:`perfnb.io.pg_stat_statements` and the live :mod:`perfnb.postgres`; rules PG020–PG024 apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from perfnb.model._base import ModelMixin

__all__ = ["StatementStats", "TableUsage"]


@dataclass
class StatementStats(ModelMixin):
    """pg_stat_statements rows, normalised (see :mod:`perfnb.io.pg_stat_statements`); rules PG020–PG022."""

    frame: pd.DataFrame
    run: str = ""
    columns_found: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "pg_stat_statements"

    def __repr__(self) -> str:
        return f"<StatementStats {self.run!r}: {len(self.frame)} statements>"

    def _frames(self) -> tuple[Any, ...]:
        return (self.frame,)

    def _summary(self) -> dict[str, Any]:
        return {"statements": len(self.frame)}

    def top(self, n: int = 20) -> pd.DataFrame:
        """The *n* statements with the most total time."""
        return (
            self.frame.sort_values("total_time_s", ascending=False).head(n).reset_index(drop=True)
        )


@dataclass
class TableUsage(ModelMixin):
    """pg_stat_user_tables + pg_statio_user_tables (``frame``) and pg_stat_user_indexes (``indexes``)."""

    frame: pd.DataFrame
    indexes: pd.DataFrame
    run: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "postgres"

    def __repr__(self) -> str:
        return f"<TableUsage {len(self.frame)} tables, {len(self.indexes)} indexes>"

    def _summary(self) -> dict[str, Any]:
        return {"tables": len(self.frame), "indexes": len(self.indexes)}
