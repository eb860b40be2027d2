"""One measurement across runs: direction, noise band and steps (change points) of a history series.

A :class:`HistorySeries` is the values of one ``(system, env, subject, metric)`` in run order. Its steps
come from the project's own detector, :func:`perfnb.analysis.trends.change_points` (method
``calibrated``: a rank CUSUM whose false-alarm rate per series is about ``max_pvalue``), told which way is
bad (:func:`direction`: latency and error ratios up, throughput, Apdex, hit ratios and scores down).
:meth:`HistorySeries.noise_band` is the baseline's median ± 3 robust standard deviations (1.4826 × MAD).
The ``history-regression`` rule (:mod:`perfnb.rules.history`) reads both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from perfnb.analysis.trends import change_points

__all__ = ["Direction", "HistorySeries", "direction", "format_value", "noise_band"]

Direction = Literal["up", "down", ""]

_DOWN_SUFFIXES = ("throughput_per_s", "apdex", "hit_ratio", "_score")
_UP_SUFFIXES = ("_s", "_ms", "error_ratio", "memory_ratio", "evictions", "CLS_p75", "CLS")


def direction(metric: str, source: str = "") -> Direction:
    """Which way is bad for *metric*: ``"up"``, ``"down"`` or ``""`` (counts and unknown metrics).

    Examples
    --------
    >>> direction("p95_s"), direction("throughput_per_s"), direction("requests")
    ('up', 'down', '')
    """
    if source in ("findings", "metrics"):
        return ""  # finding counts are the rules' business; a metric's meaning is not known here
    if metric.endswith(_DOWN_SUFFIXES):
        return "down"
    if metric.endswith(_UP_SUFFIXES):
        return "up"
    return ""


def _sse(x: np.ndarray) -> float:
    return float(np.sum((x - np.mean(x)) ** 2)) if len(x) else 0.0


def noise_band(values: Any) -> tuple[float, float]:
    """Median ± 3 robust standard deviations (1.4826 × MAD) of *values*.

    A perfectly steady stretch (MAD 0) gets a band of ± 1 % of its median, so a rounding difference is
    not "outside the noise".

    Examples
    --------
    >>> noise_band([10.0, 10.0, 10.0])
    (9.9, 10.1)
    """
    x = np.asarray(values, dtype="float64")
    if len(x) == 0:
        return (math.nan, math.nan)
    med = float(np.median(x))
    spread = 3 * 1.4826 * float(np.median(np.abs(x - med)))
    spread = max(spread, 0.01 * abs(med))
    return (med - spread, med + spread)


def format_value(value: float | None, unit: str) -> str:
    """A number with its unit, readable (``45.9 ms``, ``12.5 %``, ``61.7/s``)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit == "s":
        if abs(value) < 1:
            return f"{value * 1000:.3g} ms"
        return f"{value:.3g} s"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "1/s":
        return f"{value:.3g}/s"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.4g}{(' ' + unit) if unit else ''}"


@dataclass
class HistorySeries:
    """The values of one measurement across the runs of a system, oldest first.

    Attributes
    ----------
    system, env, subject, metric, unit, source
        What the series measures.
    runs
        One row per run: ``run_id``, ``started_at`` (UTC), ``commit_id``, ``report``, ``value``.
    """

    system: str
    env: str
    subject: str
    metric: str
    unit: str
    source: str
    runs: pd.DataFrame = field(repr=False)

    @property
    def direction(self) -> Direction:
        """Which way is bad (see :func:`direction`)."""
        return direction(self.metric, self.source)

    @property
    def values(self) -> np.ndarray:
        """The values, oldest run first."""
        return self.runs["value"].to_numpy(dtype="float64")

    def __len__(self) -> int:
        return len(self.runs)

    def __repr__(self) -> str:
        return (
            f"<HistorySeries {self.system or '-'}/{self.env or '-'} {self.subject} {self.metric}: "
            f"{len(self)} runs>"
        )

    def steps(self, *, max_pvalue: float = 0.05, min_runs: int = 3) -> pd.DataFrame:
        """The change points of the series, with the run where each step began.

        Each change point of :func:`~perfnb.analysis.trends.change_points` is then placed within ± 2 runs
        where it splits its two segments with the least squared error: a rank statistic cannot tell a
        step from the baseline's largest value when that value is the last run before the step (equal
        CUSUM values), and the run that began a step is what a reader acts on.

        Returns
        -------
        DataFrame
            :data:`perfnb.analysis.trends.CHANGE_POINTS` plus ``run_id``, ``started_at``, ``commit_id``
            and ``report`` of the first run of the new regime.
        """
        x = self.values
        cps = change_points(
            x, direction=self.direction, max_pvalue=max_pvalue, min_size=max(1, min_runs)
        )
        if cps.empty:
            cps = cps.assign(run_id=pd.Series(dtype="int64"), started_at=pd.Series(dtype=object))
            cps["commit_id"] = pd.Series(dtype=object)
            cps["report"] = pd.Series(dtype=object)
            return cps
        idx = cps["index"].to_list()
        edges = [0, *idx, len(x)]
        for k in range(len(idx)):
            lo, hi = edges[k] + 1, edges[k + 2] - 1
            cands = [t for t in range(idx[k] - 2, idx[k] + 3) if lo <= t <= hi]
            best = min(cands, key=lambda t: _sse(x[edges[k] : t]) + _sse(x[t : edges[k + 2]]))
            if best != idx[k]:
                left, right = x[edges[k] : best], x[best : edges[k + 2]]
                cps.loc[k, ["index", "mean_before", "mean_after"]] = [
                    best,
                    float(np.mean(left)),
                    float(np.mean(right)),
                ]
                cps.loc[k, ["median_before", "median_after"]] = [
                    float(np.median(left)),
                    float(np.median(right)),
                ]
                before, after = float(np.mean(left)), float(np.mean(right))
                cps.loc[k, "change_ratio"] = after / before - 1 if before else 0.0
                idx[k] = edges[k + 1] = best
        at = self.runs.iloc[cps["index"].to_numpy()]
        cps["run_id"] = at["run_id"].to_numpy()
        cps["started_at"] = at["started_at"].to_numpy()
        cps["commit_id"] = at["commit_id"].to_numpy()
        cps["report"] = at["report"].to_numpy()
        return cps

    def noise_band(self, start: int = 0, stop: int | None = None) -> tuple[float, float]:
        """The noise band (:func:`noise_band`) of ``values[start:stop]``."""
        return noise_band(self.values[start:stop])

    def to_frame(self) -> pd.DataFrame:
        """The runs with the series' identity columns (tidy)."""
        out = self.runs.copy()
        for name in ("system", "env", "subject", "metric", "unit"):
            out[name] = getattr(self, name)
        return out

    def describe_step(self, step: Any) -> str:
        """One line for a step row of :meth:`steps`."""
        before, after = float(step["median_before"]), float(step["median_after"])
        ratio = after / before - 1 if before else math.inf
        verb = "rose" if after > before else "fell"
        when = pd.Timestamp(step["started_at"]).strftime("%Y-%m-%d %H:%M")
        commit = f", commit {str(step['commit_id'])[:12]}" if step["commit_id"] else ""
        return (
            f"{self.metric} of {self.subject} {verb} {abs(ratio):.0%} "
            f"({format_value(before, self.unit)} → {format_value(after, self.unit)}) "
            f"from run #{int(step['run_id'])} ({when} UTC{commit})"
        )
