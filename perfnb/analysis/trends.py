"""Change points in performance series: an Otava-compatible detector and a calibrated one (numpy/scipy only).

Two methods, one result table (:data:`CHANGE_POINTS`):

``method="otava"``
    The algorithm of Apache Otava (ex Hunter; Fleming et al., ICPE 2023) re-implemented from its published
    description: E-divisive means (Matteson & James 2014, α = 1) inside overlapping windows of ``window_len``
    points (step ``window_len // 2``), each split accepted by a two-sample Student t-test (ddof 0, as Otava) at a
    relaxed first-pass threshold (10 × ``max_pvalue`` below 0.05), then Otava's merge pass that removes the weakest
    change point until all have ``pvalue < max_pvalue`` and ``magnitude > min_magnitude``. Defaults are Otava's
    (window 50, p 0.001, magnitude 0). It reproduces Otava's published TigerBeetle expectations. Unlike Otava it
    takes an ndarray or Series and rejects NaN explicitly (interpolated with ``nan="interpolate"``).

``method="calibrated"`` (default)
    A rank CUSUM (Pettitt / Mann-Whitney maximum) statistic whose p-value comes from the Kolmogorov
    distribution of the supremum of a Brownian bridge, i.e. it is corrected for choosing the best split.
    It is scanned over *seeded intervals* (Kovács et al. 2020: lengths n, n/√2, n/2, … each scale covering the
    series with half-overlapping intervals), each scale and interval Bonferroni-corrected, so on an i.i.d.
    series the chance of any false change point stays about ``max_pvalue`` whatever the length; the narrowest
    significant interval places each change point (Baranowski et al.'s narrowest-over-threshold), which is
    then refined between its neighbours; once one change is established, the segments between change points
    are split further by plain binary segmentation at ``max_pvalue``. Plain binary segmentation from the
    whole series alone goes blind on long series whose shifts cancel out (a flat global CUSUM: a tiled real
    series had 184 change points at 7,500 points and none at 10,000). Ranks make it insensitive to heavy
    tails (latency outliers); a minimum segment length stops single outliers from becoming "segments"; a
    merge pass re-tests every change point against its neighbours. It detects shifts of level (median), not
    of variance. 100,000 points take well under a few seconds.

Every change point has: position, time, before/after mean, std and median, relative change, magnitude, p-value
and, given ``direction`` ("up" = higher is worse, as latency), whether it is a regression or an improvement.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from perfnb.errors import InputError
from perfnb.schema import Column, Schema, register

__all__ = ["CHANGE_POINTS", "change_points", "kolmogorov_sf", "otava_change_points"]

CHANGE_POINTS = register(
    Schema(
        "change_points",
        (
            Column(
                "index", "int64", doc="Position of the first point of the new regime (0-based)."
            ),
            Column(
                "timestamp",
                "timestamp",
                doc="Time of that point, when the series has times.",
                required=False,
            ),
            Column("mean_before", "float64", doc="Mean of the segment before."),
            Column("mean_after", "float64", doc="Mean of the segment after."),
            Column("std_before", "float64", doc="Standard deviation before."),
            Column("std_after", "float64", doc="Standard deviation after."),
            Column("median_before", "float64", doc="Median before."),
            Column("median_after", "float64", doc="Median after."),
            Column(
                "change_ratio",
                "float64",
                unit="ratio",
                doc="Relative change of the mean, after/before − 1 (Otava's forward change).",
            ),
            Column(
                "magnitude_ratio",
                "float64",
                unit="ratio",
                doc="max(|after/before − 1|, |before/after − 1|), Otava's magnitude.",
            ),
            Column(
                "pvalue",
                "float64",
                doc="Significance of the split against its neighbouring segments.",
            ),
            Column(
                "kind",
                "category",
                doc="``regression``, ``improvement`` or ``change`` (no direction).",
            ),
        ),
        doc="``perfnb.analysis.trends.change_points``: one row per change point, in series order.",
    )
)

Method = Literal["calibrated", "otava"]
Direction = Literal["up", "down", ""]


# ------------------------------------------------------------------------------------------------ E-divisive


def _sps() -> Any:
    """scipy.stats, imported on first use (half a second that ``import perfnb`` need not pay)."""
    from scipy import stats

    return stats


def _qhat(z: np.ndarray) -> tuple[int, float]:
    """Best split (τ, Q̂) of ``z`` over all τ < κ ≤ len(z) (E-divisive means, α = 1).

    Returns τ relative to ``z`` (first index of the new regime). Layout and tie-breaking follow a row-major
    argmax over (τ, κ) with invalid cells equal to zero.
    """
    n = len(z)
    d = np.abs(z[:, None] - z[None, :])
    p = np.zeros((n + 1, n + 1))
    p[1:, 1:] = d.cumsum(0).cumsum(1)
    tau = np.arange(1, n)[:, None]
    kap = np.arange(2, n + 1)[None, :]
    valid = kap > tau
    t_idx = np.broadcast_to(tau, (n - 1, n - 1))
    k_idx = np.broadcast_to(kap, (n - 1, n - 1))
    between = p[t_idx, k_idx] - p[0, k_idx] - p[t_idx, t_idx] + p[0, t_idx]
    w_x = p[t_idx, t_idx] / 2.0
    w_y = (p[k_idx, k_idx] - p[t_idx, k_idx] - p[k_idx, t_idx] + p[t_idx, t_idx]) / 2.0
    nn = t_idx.astype(float)
    mm = (k_idx - t_idx).astype(float)
    tot = nn + mm
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(nn > 1, 2 * mm / (tot * (nn - 1)) * w_x, 0.0)
        c = np.where(mm > 1, 2 * nn / (tot * (mm - 1)) * w_y, 0.0)
        q = 2.0 / tot * between - b - c
    q = np.where(valid, q, 0.0)
    i, _j = np.unravel_index(int(np.argmax(q)), q.shape)
    return int(i) + 1, float(q.flat[int(np.argmax(q))])


@dataclass
class _CP:
    index: int
    qhat: float
    pvalue: float = 1.0
    mean_1: float = math.nan
    mean_2: float = math.nan
    std_1: float = 0.0
    std_2: float = 0.0

    def fwd(self) -> float:
        return 0.0 if self.mean_1 == 0 else self.mean_2 / self.mean_1 - 1.0

    def bwd(self) -> float:
        return 0.0 if self.mean_2 == 0 else self.mean_1 / self.mean_2 - 1.0

    def magnitude(self) -> float:
        return max(abs(self.fwd()), abs(self.bwd()))


def _ttest(cp: _CP, left: np.ndarray, right: np.ndarray) -> _CP:
    if len(left) == 0 or len(right) == 0:
        raise ValueError("empty segment")
    m1, m2 = float(np.mean(left)), float(np.mean(right))
    s1 = float(np.std(left)) if len(left) >= 2 else 0.0
    s2 = float(np.std(right)) if len(right) >= 2 else 0.0
    if len(left) + len(right) > 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            p = float(_sps().ttest_ind_from_stats(m1, s1, len(left), m2, s2, len(right)).pvalue)
    else:
        p = 1.0
    cp.pvalue, cp.mean_1, cp.mean_2, cp.std_1, cp.std_2 = p, m1, m2, s1, s2
    return cp


def _bounds(cps: list[_CP], n: int) -> list[tuple[int, int]]:
    edges = [0, *[c.index for c in cps], n]
    return [(a, b) for a, b in itertools.pairwise(edges) if a != b]


def _test_at(cp: _CP, x: np.ndarray, bounds: list[tuple[int, int]]) -> _CP:
    for k, (a, b) in enumerate(bounds):
        if b == cp.index:
            return _ttest(cp, x[a:b], x[bounds[k + 1][0] : bounds[k + 1][1]])
        if a < cp.index < b:
            return _ttest(cp, x[a : cp.index], x[cp.index : b])
    raise ValueError(f"change point {cp.index} outside the intervals")


def _divisive_window(x: np.ndarray, max_p: float) -> list[_CP]:
    cps: list[_CP] = []
    n = len(x)
    while True:
        bounds = _bounds(cps, n)
        best: _CP | None = None
        for a, b in bounds:
            if b - a > 1:
                tau, q = _qhat(x[a:b])
                if best is None or q > best.qhat:
                    best = _CP(a + tau, q)
        if best is None:
            return cps
        _test_at(best, x, bounds)
        if not best.pvalue <= max_p:
            return cps
        cps.append(best)
        cps.sort(key=lambda c: c.index)


def otava_change_points(
    x: np.ndarray, *, window_len: int = 50, max_pvalue: float = 0.001, min_magnitude: float = 0.0
) -> list[_CP]:
    """Otava's ``compute_change_points`` (split + merge) on a float array; returns the final change points."""
    if window_len < 2:
        raise InputError("window_len must be at least 2", found=window_len)
    first = (
        max_pvalue * 10
        if max_pvalue < 0.05
        else (max_pvalue * 2 if max_pvalue < 0.5 else max_pvalue)
    )
    n = len(x)
    step = window_len // 2
    start = 0
    weak: list[_CP] = []
    seen: set[int] = set()
    while start < n:
        end = min(start + window_len, n)
        found = _divisive_window(x[start:end], first)
        for c in found:
            c.index += start
        last = found[-1].index if found else 0
        start = max(last, start + step)
        for c in found:
            if c.index not in seen:
                seen.add(c.index)
                weak.append(c)
    weak.sort(key=lambda c: c.index)
    bounds = _bounds(weak, n)
    cps = [_test_at(c, x, bounds) for c in weak]
    # merge (Otava's order of operations, including which neighbours it re-tests)
    while cps:
        weakest = max(cps, key=lambda c: c.pvalue)
        if weakest.pvalue < max_pvalue:
            weakest = min(cps, key=lambda c: c.magnitude())
            if weakest.magnitude() > min_magnitude:
                return cps
        k = cps.index(weakest)
        del cps[k]
        bounds = _bounds(cps, n)
        for j in (k, k + 1):
            if 0 <= j < len(cps):
                cps[j] = _test_at(cps[j], x, bounds)
    return cps


# ------------------------------------------------------------------------------------------------ calibrated


def kolmogorov_sf(x: float) -> float:
    """P(sup |Brownian bridge| > x), the Kolmogorov distribution's survival function.

    >>> round(kolmogorov_sf(1.358), 3)
    0.05
    """
    return float(_sps().kstwobign.sf(x))


def _rank_cusum(z: np.ndarray, min_size: int) -> tuple[int, float]:
    """Best split by the standardized rank CUSUM; returns (τ, p-value)."""
    n = len(z)
    if n < 2 * min_size:
        return -1, 1.0
    r = _sps().rankdata(z)
    c = np.cumsum(r - (n + 1) / 2.0)[:-1]
    sd = math.sqrt(n * n * (n + 1) / 12.0)
    # tie correction of the variance
    _vals, counts = np.unique(z, return_counts=True)
    tie = 1.0 - float(np.sum(counts**3 - counts)) / (n**3 - n) if n > 1 else 1.0
    sd *= math.sqrt(max(tie, 1e-12))
    stat = np.abs(c) / sd
    lo, hi = min_size - 1, n - min_size  # τ = k + 1 in [min_size, n - min_size]
    if hi < lo:
        return -1, 1.0
    k = lo + int(np.argmax(stat[lo:hi]))
    return k + 1, kolmogorov_sf(float(stat[k]))


def _pair_pvalue(left: np.ndarray, right: np.ndarray, min_size: int) -> float:
    z = np.concatenate([left, right])
    n, n1 = len(z), len(left)
    if n1 < 1 or len(right) < 1:
        return 1.0
    r = _sps().rankdata(z)
    c = float(np.sum(r[:n1]) - n1 * (n + 1) / 2.0)
    _vals, counts = np.unique(z, return_counts=True)
    tie = 1.0 - float(np.sum(counts**3 - counts)) / (n**3 - n) if n > 1 else 1.0
    sd = math.sqrt(n * n * (n + 1) / 12.0 * max(tie, 1e-12))
    return kolmogorov_sf(abs(c) / sd)


def _seeded_intervals(n: int, shortest: int) -> list[tuple[int, np.ndarray]]:
    """Seeded intervals (Kovács et al. 2020, decay 1/√2): per scale, its length and the interval starts.

    Lengths n, n/√2, n/2, … down to ``shortest``; at each scale the intervals overlap by at least half their
    length and cover the series, so every change point is near the middle of an interval about the size of
    its distance to the neighbouring change points.
    """
    scales: list[tuple[int, np.ndarray]] = []
    length = float(n)
    while round(length) >= shortest:
        ln = round(length)
        count = 2 * math.ceil(n / ln) - 1
        starts = np.unique(np.round(np.linspace(0, n - ln, count)).astype(np.int64))
        scales.append((ln, starts))
        length /= math.sqrt(2.0)
    return scales


def _scan(
    csum: np.ndarray, csq: np.ndarray, length: int, starts: np.ndarray, min_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best split and its standardized score CUSUM for every interval ``[s, s + length)`` at once."""
    k = np.arange(min_size, length - min_size + 1)
    a = starts[:, None]
    tot = csum[starts + length] - csum[starts]
    part = csum[a + k[None, :]] - csum[a]
    c = np.abs(part - (k / length)[None, :] * tot[:, None])
    var = (csq[starts + length] - csq[starts]) / length - (tot / length) ** 2
    # permutation variance of the CUSUM of `length` exchangeable scores: t(L-t)/(L-1) * var
    sd = np.sqrt(np.maximum(var, 0.0) * length * length / max(length - 1, 1))
    j = np.argmax(c, axis=1)
    best = c[np.arange(len(starts)), j]
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(sd > 0, best / sd, 0.0)
    return starts + k[j], stat


def _calibrated(x: np.ndarray, max_p: float, min_size: int, min_magnitude: float) -> list[_CP]:
    n = len(x)
    if n < 2 * min_size:
        return []
    scores = _sps().rankdata(x)
    csum = np.r_[0.0, np.cumsum(scores)]
    csq = np.r_[0.0, np.cumsum(scores * scores)]
    scales = _seeded_intervals(n, max(2 * min_size, 8))
    # candidates: (length, -excess, split, start, crit); Bonferroni over scales and intervals of a scale
    heap: list[tuple[int, float, int, int, float]] = []
    for length, starts in scales:
        crit = float(_sps().kstwobign.isf(max_p / (len(scales) * len(starts))))
        splits, stats = _scan(csum, csq, length, starts, min_size)
        for j in np.flatnonzero(stats > crit).tolist():
            heap.append((length, -float(stats[j]) / crit, int(splits[j]), int(starts[j]), crit))
    # narrowest-over-threshold: the shortest significant interval locates its change point best. An
    # interval holding an accepted change point is cut at it and its pieces are scanned again at the
    # interval's threshold (otherwise a change point 2 points inside an interval hides its neighbour).
    heapq.heapify(heap)
    found: list[int] = []
    while heap:
        length, _excess, split, start, crit = heapq.heappop(heap)
        end = start + length
        lo, hi = bisect.bisect_right(found, start), bisect.bisect_left(found, end)
        if lo == hi:
            bisect.insort(found, split)
            continue
        cuts = [start, *found[lo:hi], end]
        for j, (c0, c1) in enumerate(itertools.pairwise(cuts)):
            # a piece between two accepted change points is left to the binary segmentation below
            if c1 - c0 >= 2 * min_size and (j == 0 or j == len(cuts) - 2):
                sp, st = _scan(csum, csq, c1 - c0, np.array([c0]), min_size)
                if st[0] > crit:
                    heapq.heappush(heap, (c1 - c0, -float(st[0]) / crit, int(sp[0]), c0, crit))
    # refine: each change point moves to the best split between its neighbours (a narrow interval that
    # just passed its threshold locates a small shift loosely)
    for k in range(len(found)):
        a, b = found[k - 1] if k else 0, found[k + 1] if k + 1 < len(found) else n
        found[k] = int(_scan(csum, csq, b - a, np.array([a]), min_size)[0][0])
    # once the series is shown to change, each segment between change points is split further at the
    # per-test level, as plain binary segmentation does (on noise nothing gets here, so the false-alarm
    # rate stays max_p whatever the length)
    if found:
        stack = list(itertools.pairwise([0, *found, n]))
        while stack:
            a, b = stack.pop()
            tau, p = _rank_cusum(x[a:b], min_size)
            if tau >= 0 and p <= max_p:
                bisect.insort(found, a + tau)
                stack += [(a, a + tau), (a + tau, b)]
    cps = [_CP(i, 0.0) for i in found]
    edges = [0, *found, n]

    def test(k: int) -> None:
        left, right = x[edges[k] : edges[k + 1]], x[edges[k + 1] : edges[k + 2]]
        cps[k].pvalue = _pair_pvalue(left, right, min_size)
        _ttest_stats(cps[k], left, right)

    for k in range(len(cps)):
        test(k)
    # merge pass: drop the weakest change point, re-test its two neighbours, until all are significant
    while cps:
        weakest = max(range(len(cps)), key=lambda k: cps[k].pvalue)
        if cps[weakest].pvalue <= max_p:
            if min_magnitude <= 0:
                break
            weakest = min(range(len(cps)), key=lambda k: cps[k].magnitude())
            if cps[weakest].magnitude() > min_magnitude:
                break
        del cps[weakest]
        del edges[weakest + 1]
        for k in (weakest - 1, weakest):
            if 0 <= k < len(cps):
                test(k)
    return cps


def _ttest_stats(cp: _CP, left: np.ndarray, right: np.ndarray) -> None:
    cp.mean_1, cp.mean_2 = float(np.mean(left)), float(np.mean(right))
    cp.std_1 = float(np.std(left, ddof=1)) if len(left) > 1 else 0.0
    cp.std_2 = float(np.std(right, ddof=1)) if len(right) > 1 else 0.0


# ------------------------------------------------------------------------------------------------ public API


def change_points(
    series: pd.Series | np.ndarray | list[float],
    *,
    method: Method = "calibrated",
    direction: Direction = "",
    max_pvalue: float | None = None,
    min_magnitude: float = 0.0,
    window_len: int = 50,
    min_size: int = 5,
    nan: Literal["error", "interpolate", "drop"] = "error",
) -> pd.DataFrame:
    """Find the change points of a series.

    Parameters
    ----------
    series
        Values in time order (a Series with a DatetimeIndex gives each change point a ``timestamp``).
    method
        ``"calibrated"`` (default: false positives controlled at ``max_pvalue`` per series, robust to heavy
        tails) or ``"otava"`` (Otava/Hunter-compatible results).
    direction
        Which way is bad: ``"up"`` (latency, errors), ``"down"`` (throughput, Apdex) or ``""``.
    max_pvalue
        Significance level; default 0.001 for ``otava`` (its default) and 0.01 for ``calibrated``.
    min_magnitude
        Minimum relative change (Otava's ``min_magnitude``); 0 keeps every significant change.
    window_len
        Otava's window (``otava`` only).
    min_size
        Minimum segment length (``calibrated`` only).
    nan
        What to do with NaN/±Inf values: raise, interpolate linearly, or drop them.

    Returns
    -------
    DataFrame
        :data:`CHANGE_POINTS`.

    Examples
    --------
    >>> x = np.r_[np.full(40, 10.0), np.full(40, 12.0)] + np.tile([0.1, -0.1], 40)
    >>> change_points(x, direction="up")[["index", "kind"]].to_dict("records")
    [{'index': 40, 'kind': 'regression'}]
    """
    s = series if isinstance(series, pd.Series) else pd.Series(np.asarray(series, dtype="float64"))
    s = s.astype("float64")
    bad = ~np.isfinite(s.to_numpy())
    if bad.any():
        if nan == "error":
            first = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"series has {int(bad.sum())} NaN/inf value(s), first at position {first}",
                expected="finite values",
                hint='pass nan="interpolate" or nan="drop"',
            )
        if nan == "drop":
            s = s[~bad]
        else:
            s = s.mask(pd.Series(bad, index=s.index)).interpolate(limit_direction="both")
    x = s.to_numpy(dtype="float64")
    if len(x) < 2:
        return CHANGE_POINTS.empty()
    if method == "otava":
        cps = otava_change_points(
            x,
            window_len=window_len,
            max_pvalue=0.001 if max_pvalue is None else max_pvalue,
            min_magnitude=min_magnitude,
        )
    elif method == "calibrated":
        cps = _calibrated(
            x, 0.01 if max_pvalue is None else max_pvalue, max(1, min_size), min_magnitude
        )
    else:
        raise InputError(f"unknown method {method!r}", expected="'calibrated' or 'otava'")
    edges = [0, *[c.index for c in cps], len(x)]
    rows = []
    for k, c in enumerate(cps):
        left, right = x[edges[k] : edges[k + 1]], x[edges[k + 1] : edges[k + 2]]
        up = c.mean_2 > c.mean_1
        kind = (
            "change"
            if not direction
            else (
                "regression"
                if (up and direction == "up") or (not up and direction == "down")
                else "improvement"
            )
        )
        rows.append(
            {
                "index": c.index,
                "timestamp": s.index[c.index] if isinstance(s.index, pd.DatetimeIndex) else pd.NaT,
                "mean_before": c.mean_1,
                "mean_after": c.mean_2,
                "std_before": c.std_1,
                "std_after": c.std_2,
                "median_before": float(np.median(left)),
                "median_after": float(np.median(right)),
                "change_ratio": c.fwd(),
                "magnitude_ratio": c.magnitude(),
                "pvalue": c.pvalue,
                "kind": kind,
            }
        )
    if not rows:
        return CHANGE_POINTS.empty()
    df = pd.DataFrame(rows)
    if df["timestamp"].isna().all():
        df["timestamp"] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
    return CHANGE_POINTS.conform(df)
