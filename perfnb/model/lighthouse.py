"""Lighthouse runs: :class:`LighthouseReport` (``runs``, ``metrics`` and ``audits`` frames).

The tables are declared and filled by :mod:`perfnb.io.lighthouse`; the WV rules apply to this object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from perfnb.errors import EmptyInputError
from perfnb.model._base import ModelMixin

__all__ = ["LighthouseReport"]


@dataclass(frozen=True)
class LighthouseReport(ModelMixin):
    """Several Lighthouse runs: ``runs``, ``metrics`` and ``audits`` frames (see :mod:`perfnb.io.lighthouse`)."""

    runs: pd.DataFrame
    metrics: pd.DataFrame
    audits: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    source = "lighthouse"

    @property
    def run(self) -> str:
        """The run labels, comma-separated (one per report)."""
        return ", ".join(str(r) for r in self.runs["run"]) if "run" in self.runs else ""

    def _frames(self) -> tuple[Any, ...]:
        return (self.runs,)

    def _summary(self) -> dict[str, Any]:
        score = self.runs.get("performance_score", None)
        out: dict[str, Any] = {"runs": len(self.runs), "audits not passed": len(self.audits)}
        if score is not None and score.notna().any():
            out["performance score (median)"] = float(score.median())
        return out

    def __len__(self) -> int:
        return len(self.runs)

    def __repr__(self) -> str:
        return f"<LighthouseReport {len(self.runs)} run(s)>"

    def median_runs(self) -> list[str]:
        """The median run of each URL and form factor (runs of one page on one device compare)."""
        out = []
        for _, g in self.runs.groupby(["url", "form_factor"], observed=True, sort=True):
            ok = g.dropna(subset=["performance_score"]).sort_values(["performance_score", "run"])
            if not ok.empty:
                out.append(str(ok.iloc[(len(ok) - 1) // 2]["run"]))
        return out

    def median_run(self) -> str:
        """The run label of the median run by performance score (Lighthouse's advice for variance)."""
        ok = self.runs.dropna(subset=["performance_score"]).sort_values(
            ["performance_score", "run"]
        )
        if ok.empty:
            raise EmptyInputError("no Lighthouse run has a performance score")
        return str(ok.iloc[(len(ok) - 1) // 2]["run"])

    def values(self) -> pd.DataFrame:
        """Metric values wide: one row per run, one column per metric (seconds; CLS unitless)."""
        return self.metrics.pivot_table(
            index="run", columns="metric", values="value", observed=True, aggfunc="first"
        )
