"""PromQL semantics on metric-sample frames: ``histogram_quantile`` (exact), counter increases with resets.

:func:`bucket_quantile` is a line-by-line port of Prometheus' ``promql/quantile.go`` ``BucketQuantile`` for
classic buckets: φ outside [0, 1] gives ∓Inf, NaN φ gives NaN, a histogram without a ``+Inf`` bucket gives NaN,
buckets with the same numeric ``le`` are summed (``coalesceBuckets``), non-monotonic cumulative counts are
forced monotonic and relative deltas below 1e-12 are ignored (``ensureMonotonicAndIgnoreSmallDeltas``), and
the value is linearly interpolated inside the bucket (the lowest bucket starts at 0 unless its upper bound is
≤ 0). It is tested against Prometheus' own ``histograms.test``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

from perfnb.errors import SchemaError

__all__ = [
    "bucket_quantile",
    "counter_increase",
    "histogram_fraction_le",
    "histogram_quantile",
    "parse_le",
]

_SMALL_DELTA = 1e-12
_MIN_NORMAL = sys.float_info.min


def parse_le(text: object) -> float:
    """Parse a ``le``/``quantile`` label value as Prometheus does (``+Inf``, ``1e0``, ``.2`` …).

    >>> parse_le("+Inf"), parse_le(".2"), parse_le("2.0e-1")
    (inf, 0.2, 0.2)
    """
    s = str(text).strip()
    low = s.lower()
    if low in ("+inf", "inf"):
        return math.inf
    if low == "-inf":
        return -math.inf
    return float(s)


def _almost_equal(a: float, b: float, eps: float) -> bool:
    if a == b:
        return True
    abs_sum = abs(a) + abs(b)
    diff = abs(a - b)
    if a == 0 or b == 0 or abs_sum < _MIN_NORMAL:
        return diff < eps * _MIN_NORMAL
    return diff / min(abs_sum, sys.float_info.max) < eps


def bucket_quantile(q: float, uppers: Sequence[float], counts: Sequence[float]) -> float:
    """φ-quantile of one classic histogram given bucket upper bounds and cumulative counts.

    Examples
    --------
    >>> bucket_quantile(0.5, [0, 2, 4, 6, math.inf], [0, 1, 2, 3, 3])
    3.0
    >>> bucket_quantile(0.5, [1, 2], [1, 2])  # no +Inf bucket
    nan
    """
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(uppers) == 0:
        return math.nan
    order = sorted(range(len(uppers)), key=lambda i: uppers[i])
    ub = [float(uppers[i]) for i in order]
    cn = [float(counts[i]) for i in order]
    if not math.isinf(ub[-1]) or ub[-1] < 0:
        return math.nan
    # coalesce equal bounds
    cub: list[float] = []
    ccn: list[float] = []
    for u, c in zip(ub, cn, strict=True):
        if cub and cub[-1] == u:
            ccn[-1] += c
        else:
            cub.append(u)
            ccn.append(c)
    # ensure monotonic, ignore tiny deltas
    prev = ccn[0]
    for i in range(1, len(ccn)):
        curr = ccn[i]
        if curr == prev:
            continue
        if _almost_equal(prev, curr, _SMALL_DELTA) or curr < prev:
            ccn[i] = prev
            continue
        prev = curr
    if len(cub) < 2:
        return math.nan
    observations = ccn[-1]
    if observations == 0 or math.isnan(observations):
        return math.nan
    rank = q * observations
    n = len(cub) - 1
    b = next((i for i in range(n) if ccn[i] >= rank), n)
    if b == n:
        return cub[-2]
    if b == 0 and cub[0] <= 0:
        return cub[0]
    start = 0.0
    end = cub[b]
    count = ccn[b]
    if b > 0:
        start = cub[b - 1]
        count -= ccn[b - 1]
        rank -= ccn[b - 1]
    return start + (end - start) * (rank / count)


def _bucket_rows(df: pd.DataFrame) -> pd.DataFrame:
    if "le" not in df.columns:
        raise SchemaError(
            "histogram frame lacks an 'le' label column",
            key="le",
            expected="rows of <name>_bucket with an le label",
        )
    rows = df[df["le"].notna()]
    if "metric" in rows.columns:
        names = rows["metric"].astype(str)
        rows = rows[names.str.endswith("_bucket") | (names == "")]
    return rows


def _group_cols(rows: pd.DataFrame, by: Sequence[str] | None) -> list[str]:
    skip = {"value", "le", "source", "run", "lower", "upper", "boundary_rule"}
    if by is not None:
        return ["timestamp", *by]
    return [c for c in rows.columns if c not in skip and rows[c].notna().any()]


def histogram_quantile(
    q: float, df: pd.DataFrame, *, by: Sequence[str] | None = None
) -> pd.DataFrame:
    """``histogram_quantile(q, <bucket rows>)`` per timestamp and label set.

    Parameters
    ----------
    q
        The quantile φ (0–1).
    df
        METRIC_SAMPLES rows of ``<name>_bucket`` series with an ``le`` label (already rated or increased if
        you want a per-interval quantile; the function is scale-invariant).
    by
        Label columns to keep (like ``sum by (le, …)``): buckets with equal ``le`` in a group are summed.
        Default: every label column (one result per series, as PromQL without aggregation).

    Returns
    -------
    DataFrame
        The group columns (``metric`` with the ``_bucket`` suffix removed) and ``value``.
    """
    rows = _bucket_rows(df)
    cols = _group_cols(rows, by)
    if rows.empty:
        return pd.DataFrame(columns=[*cols, "value"])
    les = rows["le"].astype(str).map(parse_le).to_numpy(dtype="float64")
    work = rows[cols].copy()
    work["_le"] = les
    work["_v"] = rows["value"].to_numpy(dtype="float64")
    out = []
    for key, g in work.groupby(cols, observed=True, dropna=False, sort=True):
        keys = tuple(key)  # groupby over a list of columns always yields tuples
        agg = g.groupby("_le", sort=True)["_v"].sum()
        val = bucket_quantile(q, agg.index.to_list(), agg.to_list())
        out.append((*keys, val))
    res = pd.DataFrame(out, columns=[*cols, "value"])
    if "metric" in res.columns:
        res["metric"] = res["metric"].astype(str).str.removesuffix("_bucket")
    return res


def histogram_fraction_le(
    threshold: float, uppers: Sequence[float], counts: Sequence[float]
) -> float:
    """Fraction of observations ≤ *threshold*, interpolating linearly inside the bucket (for Apdex).

    >>> histogram_fraction_le(0.5, [0.25, 0.5, 1, math.inf], [10, 20, 30, 40])
    0.5
    """
    pairs = sorted(zip(uppers, counts, strict=True))
    total = pairs[-1][1] if pairs else 0.0
    if not total or not math.isinf(pairs[-1][0]):
        return math.nan
    prev_u, prev_c = 0.0, 0.0
    for u, c in pairs:
        if threshold <= u:
            if math.isinf(u):
                return prev_c / total
            frac = (threshold - prev_u) / (u - prev_u) if u > prev_u else 1.0
            return float((prev_c + (c - prev_c) * max(0.0, min(1.0, frac))) / total)
        prev_u, prev_c = u, c
    return 1.0


def counter_increase(values: pd.Series | np.ndarray) -> np.ndarray:
    """Per-step increases of a counter, with resets handled as Prometheus does (a drop means a restart from 0).

    The first element is 0. NaN steps contribute 0.

    >>> counter_increase(np.array([1.0, 3.0, 7.0, 2.0, 5.0])).tolist()
    [0.0, 2.0, 4.0, 2.0, 3.0]
    """
    v = np.asarray(values, dtype="float64")
    if v.size == 0:
        return v
    d = np.diff(v, prepend=v[0])
    reset = d < 0
    d[reset] = v[reset]
    return np.nan_to_num(d, nan=0.0)
