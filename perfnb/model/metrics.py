"""Metric samples: the long :data:`METRIC_SAMPLES` table and :class:`Metrics`, what the MT rules apply to.

The Prometheus, Grafana and tidy-table readers (:mod:`perfnb.io.prometheus` …) fill it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from perfnb.model._base import ModelMixin
from perfnb.schema import PROVENANCE, Column, Schema, register

__all__ = ["METRIC_SAMPLES", "_RESERVED", "Metrics", "label_column"]

METRIC_SAMPLES = register(
    Schema(
        "metric_samples",
        (
            Column("timestamp", "timestamp", doc="Sample time (UTC)."),
            Column(
                "metric", "category", doc="Metric name (``__name__``); empty for unnamed results."
            ),
            Column("value", "float64", doc="Sample value; NaN and ±Inf are kept as such."),
            *PROVENANCE,
        ),
        doc=(
            "Long metric samples (Prometheus API, exposition scrapes, Grafana CSV, tidy CSV): one row per "
            "sample, then one ``category`` column per label (``label_<name>`` when a label name collides "
            "with a declared column)."
        ),
        extra="allow",
    )
)

_RESERVED = frozenset(c.name for c in METRIC_SAMPLES.columns) | {"lower", "upper", "boundary_rule"}


def label_column(name: str) -> str:
    """The frame column for label *name* (``label_<name>`` on collision with a declared column).

    >>> label_column("job"), label_column("value")
    ('job', 'label_value')
    """
    return (
        f"label_{name}"
        if name in _RESERVED or (name.startswith("label_") and name[6:] in _RESERVED)
        else name
    )


@dataclass
class Metrics(ModelMixin):
    """A loaded set of metric samples: the long frame plus what the rules need to know.

    Parameters
    ----------
    frame
        A :data:`METRIC_SAMPLES` frame.
    source, run
        Provenance.
    directions
        Optional ``{metric: "up" | "down"}``: which way is bad (latency up, Apdex down).
    window
        Trailing window over which counters are turned into rates/ratios for the rules (``"1min"``).
    """

    frame: pd.DataFrame
    source: str = ""
    run: str = ""
    directions: dict[str, str] = field(default_factory=dict)
    window: str = "1min"
    meta: dict[str, Any] = field(default_factory=dict)

    def _frames(self) -> tuple[Any, ...]:
        return (self.frame,)

    def _summary(self) -> dict[str, Any]:
        ts = self.frame.get("timestamp", None)
        out: dict[str, Any] = {"samples": len(self.frame), "metrics": self.metrics[:10]}
        if ts is not None and len(ts):
            out["from"], out["to"] = str(ts.min()), str(ts.max())
        return out

    @property
    def metrics(self) -> list[str]:
        """Distinct metric names."""
        return sorted(str(m) for m in self.frame["metric"].dropna().unique())

    def labels(self) -> list[str]:
        """The label columns of the frame."""
        return [c for c in self.frame.columns if c not in _RESERVED]

    def select(self, metric: str, **labels: str) -> pd.DataFrame:
        """Rows of one metric (optionally filtered by label values)."""
        df = self.frame[self.frame["metric"] == metric]
        for k, v in labels.items():
            df = df[df[label_column(k)] == v]
        return df

    def series(self, metric: str) -> dict[tuple[tuple[str, str], ...], pd.Series]:
        """Each labelled series of *metric* as a ``value`` Series indexed by timestamp."""
        df = self.select(metric)
        labels = [c for c in self.labels() if c in df.columns and df[c].notna().any()]
        out: dict[tuple[tuple[str, str], ...], pd.Series] = {}
        if not labels:
            out[()] = df.set_index("timestamp")["value"].sort_index()
            return out
        for key, g in df.groupby(labels, observed=True, dropna=False):
            keys: tuple[Any, ...] = tuple(key)  # list of columns → tuples
            lk = tuple((k, str(v)) for k, v in zip(labels, keys, strict=True) if isinstance(v, str))
            out[lk] = g.set_index("timestamp")["value"].sort_index()
        return out

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"Metrics({len(self.frame)} samples, {len(self.metrics)} metrics, run={self.run!r})"
