"""Web-vitals analysis: Lighthouse's log-normal scoring, and good / needs-improvement / poor assessment.

Entry points:

* :func:`log_normal_score` and :func:`metric_score`: Lighthouse's metric score from a value and its
  ``scoringOptions`` (``p10``, ``median``), exactly as ``shared/statistics.js getLogNormalScore`` and
  ``core/audits/audit.js computeLogNormalScore`` compute it (Abramowitz–Stegun erf, band clamps, the
  +5 % boost above 0.9, floor to 2 decimals);
* :func:`performance_score`: the category score, the weighted mean of the metric scores rounded half up
  to 2 decimals (``core/scoring.js``), from a :data:`LIGHTHOUSE_METRICS` frame;
* :func:`rate` and :data:`THRESHOLDS`: the web-vitals ratings (web-vitals v4–v6 ``*Thresholds`` constants:
  LCP 2.5/4 s, INP 200/500 ms, CLS 0.1/0.25, FCP 1.8/3 s, TTFB 0.8/1.8 s; FID 100/300 ms, *retired* since
  12 March 2024 when INP replaced it);
* :func:`assess`: the 75th percentile per group and metric, rated (for RUM beacons and Lighthouse runs);
* :func:`assess_crux`: the same table for CrUX records, whose p75 is computed by the API.

Values are in seconds (CLS unitless), as every perfnb vitals table stores them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import SchemaError
from perfnb.model.lighthouse_scoring import (  # noqa: F401 - _round2: re-exported for tests
    _round2,
    erf,
    log_normal_score,
    metric_score,
    performance_score,
)

__all__ = [
    "CORE_METRICS",
    "RETIRED",
    "THRESHOLDS",
    "Threshold",
    "VitalsAssessment",
    "assess",
    "assess_crux",
    "erf",
    "field_assessment",
    "log_normal_score",
    "metric_score",
    "performance_score",
    "rate",
]


@dataclass(frozen=True)
class Threshold:
    """Good / poor boundaries of one metric: ``value <= good`` is good, ``value > poor`` is poor."""

    good: float
    poor: float
    unit: str


#: The current thresholds (web.dev, ``GoogleChrome/web-vitals`` ``src/on*.ts``), in seconds (CLS unitless).
THRESHOLDS: dict[str, Threshold] = {
    "LCP": Threshold(2.5, 4.0, "s"),
    "INP": Threshold(0.2, 0.5, "s"),
    "CLS": Threshold(0.1, 0.25, "unitless"),
    "FCP": Threshold(1.8, 3.0, "s"),
    "TTFB": Threshold(0.8, 1.8, "s"),
    "FID": Threshold(0.1, 0.3, "s"),
}

#: Metrics that were Core Web Vitals once and are no longer (FID, replaced by INP on 12 March 2024).
RETIRED: frozenset[str] = frozenset({"FID"})

#: The Core Web Vitals today: a page passes when all three are good at p75.
CORE_METRICS: tuple[str, ...] = ("LCP", "INP", "CLS")


# Abramowitz and Stegun 7.1.26, as Lighthouse's shared/statistics.js erf().
def rate(metric: str, value: float | None, *, bins: str = "web-vitals") -> str:
    """Rate one value: ``"good"``, ``"needs-improvement"`` or ``"poor"`` (``""`` for unknown/NaN).

    ``bins="web-vitals"`` uses the library's rule (``value <= good`` is good, ``> poor`` is poor);
    ``bins="crux"`` uses CrUX's half-open histogram bins (``[0, good)``, ``[good, poor)``, ``[poor, ∞)``),
    which differ only on a boundary: CrUX rounds CLS p75 to 2 decimals, so a ``"0.10"`` p75 is a
    needs-improvement page in CrUX (its good density is below 75 %).

    Examples
    --------
    >>> rate("LCP", 2.5), rate("INP", 0.3), rate("CLS", 0.26)
    ('good', 'needs-improvement', 'poor')
    """
    th = THRESHOLDS.get(metric)
    if th is None or value is None or math.isnan(value):
        return ""
    if bins == "crux":
        return "good" if value < th.good else "poor" if value >= th.poor else "needs-improvement"
    if value <= th.good:
        return "good"
    if value > th.poor:
        return "poor"
    return "needs-improvement"


_ASSESSMENT_COLUMNS = ["metric", "p75", "unit", "rating", "samples", "retired", "core"]


def _finish(out: pd.DataFrame, by: Sequence[str], bins: str = "web-vitals") -> pd.DataFrame:
    out["rating"] = [rate(m, v, bins=bins) for m, v in zip(out["metric"], out["p75"], strict=True)]
    out["unit"] = [THRESHOLDS[m].unit if m in THRESHOLDS else "" for m in out["metric"]]
    out["retired"] = out["metric"].isin(list(RETIRED))
    out["core"] = out["metric"].isin(list(CORE_METRICS))
    out = out[[*by, *_ASSESSMENT_COLUMNS]].reset_index(drop=True)
    out["metric"] = out["metric"].astype("category")
    out["rating"] = out["rating"].astype("category")
    return out


def assess(frame: pd.DataFrame, *, by: Sequence[str] = ("page", "form_factor")) -> pd.DataFrame:
    """The 75th percentile of each metric per group, rated good / needs-improvement / poor.

    Parameters
    ----------
    frame
        Long frame with ``metric`` and ``value`` columns (a RUM table, or Lighthouse metrics).
    by
        Grouping columns that exist in *frame* (absent ones are ignored).

    Returns
    -------
    DataFrame
        ``*by, metric, p75, unit, rating, samples, retired, core``. ``p75`` uses linear interpolation
        (``numpy.quantile``), as CrUX's percentiles are estimated from the distribution, not a sample.

    Examples
    --------
    >>> df = pd.DataFrame({"metric": ["LCP"] * 4, "value": [1.0, 2.0, 3.0, 5.0]})
    >>> assess(df)[["metric", "p75", "rating"]].to_dict("records")
    [{'metric': 'LCP', 'p75': 3.5, 'rating': 'needs-improvement'}]
    """
    if "metric" not in frame.columns or "value" not in frame.columns:
        raise SchemaError("frame lacks 'metric' or 'value'", expected="a long vitals frame")
    keys = [c for c in by if c in frame.columns]
    data = frame.dropna(subset=["value"])
    rows = []
    for key, group in data.groupby([*keys, "metric"], observed=True, sort=True):
        key_t = tuple(key)
        values = group["value"].to_numpy(dtype=float)
        rows.append(
            {
                **dict(zip([*keys, "metric"], key_t, strict=True)),
                "p75": float(np.quantile(values, 0.75)),
                "samples": len(values),
            }
        )
    out = pd.DataFrame(rows, columns=[*keys, "metric", "p75", "samples"])
    out["samples"] = out["samples"].astype("int64")
    return _finish(out, keys)


def assess_crux(crux: pd.DataFrame, *, period: str = "last") -> pd.DataFrame:
    """Rate the p75 of every metric in a CrUX table (:data:`perfnb.io.crux.CRUX_METRICS`).

    Parameters
    ----------
    crux
        The frame :func:`perfnb.read_crux` returns.
    period
        ``"last"``: only the latest collection period per key and form factor; ``"all"``: every period.

    Returns
    -------
    DataFrame
        ``key, form_factor, period_end, metric, p75, unit, rating, samples, retired, core`` plus
        ``api_rating``: the histogram bin of the API's own response that holds its p75 (the category the
        API implies: good when the good density is at least 75 %, poor when the poor density is above
        25 %), so the two can be compared.
    """
    needed = {"key", "form_factor", "period_end", "metric", "p75", "good_ratio", "poor_ratio"}
    if missing := needed - set(crux.columns):
        raise SchemaError(f"CrUX frame lacks {sorted(missing)}", expected=str(sorted(needed)))
    data = crux.dropna(subset=["p75"]).copy()
    if period == "last" and len(data):
        last = data.groupby(["key", "form_factor"], observed=True)["period_end"].transform("max")
        data = data[data["period_end"] == last]
    data["samples"] = 0
    keys = ["key", "form_factor", "period_end"]
    api = [_bin(g, p) for g, p in zip(data["good_ratio"], data["poor_ratio"], strict=True)]
    out = _finish(data.reset_index(drop=True), keys, bins="crux")
    out["samples"] = out["samples"].astype("int64")
    out["api_rating"] = pd.Categorical(api)
    return out


def _bin(good_ratio: float, poor_ratio: float) -> str:
    """The histogram bin that holds the 75th percentile, from the densities alone."""
    if math.isnan(good_ratio) or math.isnan(poor_ratio):
        return ""
    if good_ratio >= 0.75:
        return "good"
    if poor_ratio > 0.25:
        return "poor"
    return "needs-improvement"


@dataclass(frozen=True)
class VitalsAssessment:
    """A p75 assessment table (:func:`assess` / :func:`assess_crux`) that field-data rules check.

    ``origin`` names where the data came from (``"crux"``, ``"rum"``).
    """

    frame: pd.DataFrame
    origin: str = "field"

    def __repr__(self) -> str:
        return f"<VitalsAssessment {self.origin} {len(self.frame)} row(s)>"


def field_assessment(data: Any) -> VitalsAssessment:
    """The p75 assessment of field data: a CrUX record or RUM beacons (model or frame) → the rules' input.

    What the ``web_vitals`` notebook assembled by hand: CrUX records go through :func:`assess_crux`,
    RUM beacons through :func:`assess` per page and form factor. A :class:`VitalsAssessment` is returned
    as is.

    Raises
    ------
    SchemaError
        If *data* is neither (no ``key``/``period_start`` columns of CrUX, no ``metric``/``value`` of RUM).
    """
    if isinstance(data, VitalsAssessment):
        return data
    frame = getattr(data, "frame", data)
    columns = set(getattr(frame, "columns", ()))
    if {"key", "period_start"} <= columns:
        return VitalsAssessment(assess_crux(frame), "crux")
    if {"metric", "value"} <= columns:
        return VitalsAssessment(assess(frame, by=("page", "form_factor")), "rum")
    raise SchemaError(
        f"{type(data).__name__} is not field data",
        expected="a CrUX record or RUM beacons (perfnb.read_crux / perfnb.read_rum)",
    )
