"""Lighthouse's log-normal scoring, exactly as Lighthouse computes it (re-exported by :mod:`perfnb.analysis.vitals`).

:func:`log_normal_score` and :func:`metric_score` follow ``shared/statistics.js getLogNormalScore`` and
``core/audits/audit.js computeLogNormalScore`` (Abramowitz–Stegun erf, band clamps, the +5 % boost above
0.9, floor to 2 decimals); :func:`performance_score` is the category score, the weighted mean of the
metric scores rounded half up to 2 decimals (``core/scoring.js``). The Lighthouse reader recomputes the
score while reading, which is why this sits in the model layer.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from perfnb.errors import SchemaError

__all__ = ["erf", "log_normal_score", "metric_score", "performance_score"]

_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_P = 0.3275911
_INVERSE_ERFC_ONE_FIFTH = 0.9061938024368232
_MIN_VALUE = 5e-324  # JavaScript Number.MIN_VALUE


def erf(x: float) -> float:
    """Lighthouse's approximate erf (Abramowitz–Stegun 7.1.26), not :func:`math.erf`.

    Examples
    --------
    >>> round(erf(0.5), 6)
    0.5205
    """
    sign = math.copysign(1.0, x) if x != 0 else 0.0
    x = abs(x)
    a1, a2, a3, a4, a5 = _A
    t = 1 / (1 + _P * x)
    y = t * (a1 + t * (a2 + t * (a3 + t * (a4 + t * a5))))
    return sign * (1 - y * math.exp(-x * x))


def log_normal_score(value: float, *, p10: float, median: float) -> float:
    """The complementary log-normal percentile of *value* (``getLogNormalScore``), clamped per band.

    Parameters
    ----------
    value, p10, median
        The metric value and the curve's control points, in the same unit.

    Returns
    -------
    float
        In [0.9, 1] at or below p10, [0.5, 0.9) up to the median, [0, 0.5) above it.

    Examples
    --------
    >>> log_normal_score(2500, p10=2500, median=4000)
    0.9
    >>> log_normal_score(4000, p10=2500, median=4000)
    0.5
    """
    if median <= 0 or p10 <= 0 or p10 >= median:
        raise SchemaError(
            f"scoring control points p10={p10!r}, median={median!r} are invalid",
            expected="0 < p10 < median",
        )
    if value <= 0:
        return 1.0
    x_log_ratio = math.log(max(_MIN_VALUE, value / median))
    p10_log_ratio = -math.log(max(_MIN_VALUE, p10 / median))
    standardized = x_log_ratio * _INVERSE_ERFC_ONE_FIFTH / p10_log_ratio
    percentile = (1 - erf(standardized)) / 2
    if value <= p10:
        return max(0.9, min(1.0, percentile))
    if value <= median:
        return max(0.5, min(0.8999999999999999, percentile))
    return max(0.0, min(0.49999999999999994, percentile))


def metric_score(value: float, *, p10: float, median: float) -> float:
    """A Lighthouse metric audit's score (``Audit.computeLogNormalScore``): boost above 0.9, floor to 0.01.

    Examples
    --------
    >>> metric_score(10884.681, p10=2500, median=4000)  # sample_v2's LCP
    0.0
    >>> metric_score(0.099576, p10=0.1, median=0.25)  # sample_v2's CLS
    0.9
    """
    percentile = log_normal_score(value, p10=p10, median=median)
    if percentile > 0.9:
        percentile += 0.05 * (percentile - 0.9)
    return min(1.0, math.floor(percentile * 100) / 100)


def _records(df: pd.DataFrame) -> list[Any]:
    return list(df.itertuples(index=False))


def _round2(value: float) -> float:
    """JavaScript ``Math.round(v * 100) / 100`` (half rounds up, unlike Python's round)."""
    return math.floor(value * 100 + 0.5) / 100


def performance_score(metrics: pd.DataFrame) -> pd.DataFrame:
    """Recompute each run's performance score from its metric values, as Lighthouse does.

    Parameters
    ----------
    metrics
        A frame conforming to :data:`perfnb.io.lighthouse.LIGHTHOUSE_METRICS` (``run``, ``metric``,
        ``value``, ``p10``, ``median``, ``weight``, ``score``).

    Returns
    -------
    DataFrame
        One row per run: ``run``, ``score_recomputed`` (the category score) and ``metric_scores_match``
        (whether every recomputed metric score equals the report's). ``score_recomputed`` is NaN when a
        weighted metric has no value (Lighthouse's score is then ``null``).

    Raises
    ------
    SchemaError
        If a column is missing.
    """
    needed = {"run", "metric", "value", "p10", "median", "weight", "score"}
    if missing := needed - set(metrics.columns):
        raise SchemaError(
            f"lighthouse metrics frame lacks {sorted(missing)}", expected=str(sorted(needed))
        )
    rows = []
    for run, group in metrics.groupby("run", observed=True, sort=False):
        weighted = group[group["weight"].fillna(0) > 0]
        total = 0.0
        weight = 0.0
        all_match = True
        valid = True
        for rec in _records(weighted):
            value, p10, median = float(rec.value), float(rec.p10), float(rec.median)
            if any(math.isnan(v) for v in (value, p10, median)):
                valid = False
                continue
            # Lighthouse scores in its own units (ms for times); the curve is scale-free, but the
            # floor() after it is not exactly, so score in ms to get the same float path.
            scale = 1000.0 if rec.unit == "s" else 1.0
            s = metric_score(value * scale, p10=p10 * scale, median=median * scale)
            reported = rec.score
            if pd.isna(reported) or abs(s - float(reported)) > 1e-9:
                all_match = False
            total += s * float(rec.weight)
            weight += float(rec.weight)
        score = _round2(total / weight) if valid and weight else math.nan
        rows.append({"run": run, "score_recomputed": score, "metric_scores_match": all_match})
    return pd.DataFrame(rows, columns=["run", "score_recomputed", "metric_scores_match"])
