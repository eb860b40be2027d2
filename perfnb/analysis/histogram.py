"""A mergeable log-linear latency histogram (HdrHistogram-style) with a documented relative error bound.

Layout is FIXED (not data dependent), so merging two histograms is adding two count arrays: exact,
associative, commutative and O(buckets) — chunks of a file, distributed workers' files and Dask partitions
all combine the same way and give the same result as one pass over all values.

Values (seconds) are bucketed in octaves ``[2^e, 2^(e+1))`` µs, each split into ``sub_buckets`` equal
linear sub-buckets. A value is reported as its bucket's midpoint, so for values ≥ 1 µs the **relative
error of any quantile is at most 1 / (2·sub_buckets)** (default 64 sub-buckets → ≤ 0.79 %); values below
1 µs fall in bucket 0 (absolute error ≤ 1 µs). Values up to 2^40 µs (≈ 12.7 days) are representable;
larger ones are clamped into the last bucket and counted in ``overflow``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from perfnb.errors import InputError

if TYPE_CHECKING:
    from perfnb.model.loadtest import LoadTest

__all__ = ["LatencyHistogram", "loadtest_histograms"]

_OCTAVES = 40


@dataclass
class LatencyHistogram:
    """Log-linear histogram of latencies in seconds.

    Examples
    --------
    >>> a = LatencyHistogram.from_values([0.010, 0.020, 0.030])
    >>> b = LatencyHistogram.from_values([0.040])
    >>> m = a.merge(b)
    >>> m.count
    4
    >>> abs(m.quantile(0.5) - 0.02) / 0.02 <= m.relative_error
    True
    """

    sub_buckets: int = 64
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    overflow: int = 0
    total_s: float = 0.0
    min_s: float = float("inf")
    max_s: float = float("-inf")

    def __post_init__(self) -> None:
        if self.counts.size == 0:
            self.counts = np.zeros(_OCTAVES * self.sub_buckets, dtype="int64")

    @property
    def relative_error(self) -> float:
        """Upper bound of the relative error of a reported value (≥ 1 µs)."""
        return 1.0 / (2.0 * self.sub_buckets)

    @property
    def count(self) -> int:
        """Number of recorded values."""
        return int(self.counts.sum())

    def index(self, values_s: Any) -> np.ndarray:
        """Bucket index of each value."""
        us = np.maximum(np.asarray(values_s, dtype="float64") * 1e6, 1.0)
        mant, exp = np.frexp(us)  # us = mant·2^exp, mant in [0.5, 1)
        e = exp.astype("int64") - 1
        sub = np.floor((mant * 2.0 - 1.0) * self.sub_buckets).astype("int64")
        idx = e * self.sub_buckets + np.minimum(sub, self.sub_buckets - 1)
        out: np.ndarray = np.minimum(idx, self.counts.size - 1)
        return out

    def values(self) -> np.ndarray:
        """Representative value (seconds, bucket midpoint) of every bucket."""
        i = np.arange(self.counts.size)
        e, sub = divmod(i, self.sub_buckets)
        lo = np.ldexp(1.0 + sub / self.sub_buckets, e)
        return (lo + np.ldexp(0.5 / self.sub_buckets, e)) / 1e6

    def record(self, values_s: Any) -> LatencyHistogram:
        """Add values (in place) and return self."""
        v = np.asarray(values_s, dtype="float64")
        v = v[np.isfinite(v)]
        if v.size == 0:
            return self
        self.counts += np.bincount(self.index(v), minlength=self.counts.size)
        self.overflow += int(np.count_nonzero(v * 1e6 >= 2.0**_OCTAVES))
        self.total_s += float(v.sum())
        self.min_s = min(self.min_s, float(v.min()))
        self.max_s = max(self.max_s, float(v.max()))
        return self

    @classmethod
    def from_values(cls, values_s: Any, sub_buckets: int = 64) -> LatencyHistogram:
        """A histogram of *values_s*."""
        return cls(sub_buckets).record(values_s)

    def merge(self, other: LatencyHistogram) -> LatencyHistogram:
        """A new histogram holding both (exact: counts add)."""
        if other.sub_buckets != self.sub_buckets:
            raise ValueError("histograms with different sub_buckets cannot be merged")
        return LatencyHistogram(
            self.sub_buckets,
            self.counts + other.counts,
            self.overflow + other.overflow,
            self.total_s + other.total_s,
            min(self.min_s, other.min_s),
            max(self.max_s, other.max_s),
        )

    __add__ = merge

    def quantile(self, q: float) -> float:
        """The *q* quantile (0–1): the smallest bucket whose cumulative count reaches ⌈q·n⌉; exact min/max at 0/1."""
        n = self.count
        if n == 0:
            return float("nan")
        if q <= 0:
            return self.min_s
        if q >= 1:
            return self.max_s
        rank = max(1, int(np.ceil(q * n)))
        i = int(np.searchsorted(np.cumsum(self.counts), rank))
        return float(min(max(self.values()[i], self.min_s), self.max_s))

    @property
    def mean_s(self) -> float:
        """Exact mean (the sum is tracked exactly)."""
        n = self.count
        return self.total_s / n if n else float("nan")


def loadtest_histograms(lt: LoadTest, sub_buckets: int = 64) -> dict[str, LatencyHistogram]:
    """Mergeable latency histograms of a load test per label and ``Total`` (``LoadTest.histograms()``).

    Histograms of chunks, of distributed workers' files or of Dask partitions add up exactly:
    ``sum(parts) == whole``.
    """
    if lt.aggregate is not None and not lt.has_requests:
        if sub_buckets != lt.aggregate.sub_buckets:
            raise InputError(
                f"this load test was aggregated with sub_buckets={lt.aggregate.sub_buckets}",
                key="sub_buckets",
            )
        return dict(lt.aggregate.histograms())
    if lt.requests is None:
        raise InputError("histograms() needs per-request data")
    req = lt.requests[~lt.requests["is_controller"]]
    out: dict[str, LatencyHistogram] = {
        "Total": LatencyHistogram.from_values(req["response_time_s"].to_numpy(), sub_buckets)
    }
    for label, g in req.groupby("label", observed=True):
        out[str(label)] = LatencyHistogram.from_values(g["response_time_s"].to_numpy(), sub_buckets)
    return out
