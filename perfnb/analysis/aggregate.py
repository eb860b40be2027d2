"""Mergeable load-test aggregates: the summary and intervals of any number of requests in bounded memory.

:class:`RequestArrays` is the columnar core of a load test (label codes, start times, response times,
success …) as plain numpy arrays; every reader's output can be turned into one, and the streaming readers
produce one per partition. :class:`LoadAggregate` folds request arrays into per-label statistics that
**merge exactly** (counts, sums, minima and maxima add up or combine; histograms add bucket by bucket), so
the partitions of a file, the files of distributed workers and Dask partitions give the same result in any
order.

Percentiles: two representations, chosen per label.

* **Exact, 1 ms resolution**, when every response time is a whole number of milliseconds (JMeter, Gatling,
  Locust's request log): a count per millisecond value. Memory is bounded by the largest response time
  (8 bytes per millisecond up to :data:`EXACT_MAX_MS`, about 34 MB for a 70-minute timeout), not by the
  number of requests, and percentiles of *any* numpy method are exact — they equal
  ``numpy.percentile`` over all values.
* **Log-linear histogram** otherwise (k6 writes fractional milliseconds) and for intervals: see
  :mod:`perfnb.analysis.histogram`; the relative error of a percentile is at most ``1/(2·sub_buckets)``
  (0.78 % with the default 64).

The mean, minimum, maximum, counts, failures, throughput, bytes and Apdex at the threshold given when
aggregating are exact in both cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfnb.analysis.histogram import _OCTAVES, LatencyHistogram
from perfnb.errors import InputError
from perfnb.model.arrays import EXACT_MAX_MS, RequestArrays

if TYPE_CHECKING:
    from perfnb.model.loadtest import LoadTest

__all__ = [
    "EXACT_MAX_MS",
    "LoadAggregate",
    "RequestArrays",
    "order_statistics",
    "percentiles_from_counts",
    "virtual_index",
]

_QS = (0.5, 0.9, 0.95, 0.99)
# numpy's continuous estimators: virtual index = n·q + (α + q·(1 − α − β)) − 1
_ALPHA_BETA = {
    "linear": (1.0, 1.0),
    "weibull": (0.0, 0.0),
    "hazen": (0.5, 0.5),
    "median_unbiased": (1 / 3, 1 / 3),
    "normal_unbiased": (3 / 8, 3 / 8),
    "interpolated_inverted_cdf": (0.0, 1.0),
}
_LABEL_BITS = 20  # interval keys: (window, label, bucket) packed into one int64
_BUCKET_BITS = 12


def virtual_index(n: int, q: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper 0-based order-statistic indices and the interpolation weight of *method*.

    Matches ``numpy.percentile(method=...)`` for the continuous methods and ``lower``, ``higher``,
    ``nearest``, ``midpoint``.

    Examples
    --------
    >>> lo, hi, g = virtual_index(4, np.array([0.5]), "linear")
    >>> int(lo[0]), int(hi[0]), float(g[0])
    (1, 2, 0.5)
    """
    q = np.asarray(q, dtype="float64")
    if method in _ALPHA_BETA:
        a, b = _ALPHA_BETA[method]
        h = n * q + (a + q * (1 - a - b)) - 1
    elif method in ("lower", "higher", "nearest", "midpoint"):
        h = (n - 1) * q
        if method == "lower":
            h = np.floor(h)
        elif method == "higher":
            h = np.ceil(h)
        elif method == "nearest":
            h = np.around(h)
        else:
            h = (np.floor(h) + np.ceil(h)) / 2.0
    else:
        raise InputError(
            f"percentile method {method!r} is not available on aggregated data",
            key="method",
            expected="one of "
            + ", ".join([*_ALPHA_BETA, "lower", "higher", "nearest", "midpoint"]),
        )
    h = np.clip(h, 0.0, n - 1.0)
    lo = np.floor(h).astype("int64")
    hi = np.minimum(lo + 1, n - 1)
    return lo, hi, h - lo


def order_statistics(values: np.ndarray, counts: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The *k*-th smallest (0-based) of a multiset given as sorted distinct *values* with *counts*."""
    cum = np.cumsum(counts)
    return np.asarray(values)[np.searchsorted(cum, k, side="right")]


def percentiles_from_counts(
    values: np.ndarray, counts: np.ndarray, qs: Any, method: str = "linear"
) -> np.ndarray:
    """Percentiles (*qs* in 0–1) of the multiset *values*×*counts*, as ``numpy.percentile`` would give.

    Examples
    --------
    >>> v, c = np.array([1.0, 2.0, 5.0]), np.array([2, 1, 1])
    >>> percentiles_from_counts(v, c, [0.5, 0.9]).tolist() == np.percentile([1, 1, 2, 5], [50, 90]).tolist()
    True
    """
    q = np.atleast_1d(np.asarray(qs, dtype="float64"))
    n = int(np.sum(counts))
    if n == 0:
        return np.full(q.shape, np.nan)
    lo, hi, g = virtual_index(n, q, method)
    a = order_statistics(values, counts, lo).astype("float64")
    b = order_statistics(values, counts, hi).astype("float64")
    if method == "midpoint":
        return np.asarray((a + b) / 2.0)
    # numpy's _lerp: a + (b − a)·g, computed from the nearer end for g ≥ 0.5
    diff = b - a
    return np.asarray(np.where(g >= 0.5, b - diff * (1 - g), a + diff * g))


def _grow(a: np.ndarray, n: int, fill: Any) -> np.ndarray:
    if a.shape[0] >= n:
        return a
    pad = np.full((n - a.shape[0], *a.shape[1:]), fill, dtype=a.dtype)
    return np.concatenate([a, pad])


def _add_exact(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None or b is None:
        return None
    if a.size < b.size:
        a, b = b, a
    out = a.copy()
    out[: b.size] += b
    return out


@dataclass
class LoadAggregate:
    """Per-label statistics of any number of requests; ``merge`` (``+``) is exact, associative, commutative.

    Build with :meth:`from_arrays` (or :meth:`from_loadtest`); combine with :meth:`merge`; read with
    :meth:`summary`, :meth:`intervals`, :meth:`histograms`.

    Examples
    --------
    >>> import numpy as np
    >>> def arrays(ms, label):
    ...     n = len(ms)
    ...     return RequestArrays([label], np.zeros(n, "int32"), np.arange(n) * 10**9,
    ...                          np.array(ms) / 1000, np.ones(n, bool), np.array(ms))
    >>> a = LoadAggregate.from_arrays(arrays([10, 20, 30], "GET /"))
    >>> b = LoadAggregate.from_arrays(arrays([40], "GET /"))
    >>> s = (a + b).summary()
    >>> float(s.set_index("label").loc["GET /", "p50_s"]) == float(np.percentile([.01, .02, .03, .04], 50))
    True
    """

    interval_s: float = 5.0
    sub_buckets: int = 64
    apdex_t_s: float = 0.5
    apdex_f_s: float | None = None
    labels: list[str] = field(default_factory=list)
    count: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    failures: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    sum_s: np.ndarray = field(default_factory=lambda: np.zeros(0, "float64"))
    min_s: np.ndarray = field(default_factory=lambda: np.zeros(0, "float64"))
    max_s: np.ndarray = field(default_factory=lambda: np.zeros(0, "float64"))
    first_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    last_end_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    nbytes: np.ndarray = field(default_factory=lambda: np.zeros(0, "float64"))
    sent: np.ndarray = field(default_factory=lambda: np.zeros(0, "float64"))
    satisfied: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    tolerating: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    controllers: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    hist: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), "int64"))
    ok_hist: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), "int64"))
    exact: list[np.ndarray | None] = field(default_factory=list)
    ok_exact: list[np.ndarray | None] = field(default_factory=list)
    iv_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    iv_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    iv_cell: pd.DataFrame | None = None
    has_bytes: bool = False
    has_sent: bool = False
    has_users: bool = False
    requests_total: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    #: builds the same aggregate *with* intervals (a second pass over the input), for an aggregate made
    #: without them; :meth:`LoadTest.intervals` calls it on first use (set by ``scan_loadtest``)
    rescan: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.sub_buckets * _OCTAVES > 1 << _BUCKET_BITS:
            raise InputError(
                "sub_buckets too large for interval histograms", key="sub_buckets", expected="≤ 102"
            )
        if self.hist.shape[1] == 0:
            nb = self.sub_buckets * _OCTAVES
            self.hist = np.zeros((len(self.labels), nb), "int64")
            self.ok_hist = np.zeros((len(self.labels), nb), "int64")

    @property
    def interval_ns(self) -> int:
        """Interval width in nanoseconds."""
        return round(self.interval_s * 1e9)

    @property
    def relative_error(self) -> float:
        """Bound of the relative error of histogram percentiles."""
        return 1.0 / (2.0 * self.sub_buckets)

    @property
    def exact_percentiles(self) -> bool:
        """Whether every label keeps exact 1 ms counts (percentiles are then exact)."""
        return all(e is not None for e in self.exact)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_arrays(
        cls,
        arr: RequestArrays,
        *,
        interval_s: float = 5.0,
        sub_buckets: int = 64,
        apdex_t_s: float = 0.5,
        apdex_f_s: float | None = None,
        intervals: bool = True,
    ) -> LoadAggregate:
        """Aggregate one batch of requests (*intervals=False* skips the per-interval histograms)."""
        agg = cls(interval_s, sub_buckets, apdex_t_s, apdex_f_s, labels=list(arr.labels))
        nl = len(arr.labels)
        agg._resize(nl)
        n = len(arr)
        agg.requests_total = n
        if n == 0:
            return agg
        codes = arr.codes  # int32 is enough for the dense counting below (≤ 2^25 cells)
        if (codes < 0).any():
            raise InputError("requests without a label cannot be aggregated")
        ok = arr.ok
        f = 4.0 * apdex_t_s if apdex_f_s is None else apdex_f_s
        ms = arr.elapsed_ms
        h = LatencyHistogram(sub_buckets)
        nb = h.counts.size
        top = int(ms.max()) + 1 if ms is not None and ms.size else 1
        if ms is not None and nl * 2 * top <= 1 << 25:
            # whole milliseconds: one counting pass per (label, success, millisecond) gives counts,
            # failures, exact sums, min, max, Apdex and every percentile
            by = np.bincount((codes * 2 + ok) * top + ms, minlength=nl * 2 * top).reshape(
                nl, 2, top
            )
            ok_c, all_c = by[:, 1, :], by[:, 0, :] + by[:, 1, :]
            secs = np.arange(top) / 1000.0
            agg.count = all_c.sum(axis=1)
            agg.failures = by[:, 0, :].sum(axis=1)
            agg.sum_s = (all_c @ np.arange(top)) / 1000.0  # exact integer sum of milliseconds
            agg.satisfied = ok_c[:, secs <= apdex_t_s].sum(axis=1)
            agg.tolerating = ok_c[:, (secs > apdex_t_s) & (secs <= f)].sum(axis=1)
            agg.exact, agg.ok_exact = [], []
            table = h.index(secs)
            for i in range(nl):
                nz = np.flatnonzero(all_c[i])
                if nz.size:
                    agg.min_s[i], agg.max_s[i] = secs[nz[0]], secs[nz[-1]]
                    agg.hist[i] = np.bincount(table, weights=all_c[i], minlength=nb)
                    agg.ok_hist[i] = np.bincount(table, weights=ok_c[i], minlength=nb)
                agg.exact.append(_trim(all_c[i]))
                agg.ok_exact.append(_trim(ok_c[i]))
            bucket = table[ms] if intervals else np.zeros(0, "int64")
        else:
            codes = codes.astype("int64", copy=False)
            rt = arr.rt_s
            # one pass for counts, failures and Apdex classes: 0 failed, 1 frustrated, 2 tolerating,
            # 3 satisfied
            cls_ = ok.astype("int64") * (1 + (rt <= f) + (rt <= apdex_t_s))
            by4 = np.bincount(codes * 4 + cls_, minlength=nl * 4).reshape(nl, 4)
            agg.count = by4.sum(axis=1)
            agg.failures = by4[:, 0].copy()
            agg.tolerating = by4[:, 2].copy()
            agg.satisfied = by4[:, 3].copy()
            agg.sum_s = np.bincount(codes, weights=rt, minlength=nl)
            np.minimum.at(agg.min_s, codes, rt)  # ufunc.at: a few ms for millions of rows
            np.maximum.at(agg.max_s, codes, rt)
            agg.exact = _exact_counts(codes, ms, nl)
            agg.ok_exact = [None] * nl
            if ms is not None:  # whole ms, but too many labels × milliseconds for one dense pass
                table = h.index(np.arange(top) / 1000.0)
                for i, e in enumerate(agg.exact):
                    if e is not None and e.size:
                        agg.hist[i] = np.bincount(table[: e.size], weights=e, minlength=nb)
                okc = _exact_counts(codes[ok], ms[ok], nl)
                agg.ok_exact = okc
                for i, e in enumerate(okc):
                    if e is not None and e.size:
                        agg.ok_hist[i] = np.bincount(table[: e.size], weights=e, minlength=nb)
                bucket = table[ms]
            else:
                bucket = h.index(rt)
                agg.hist = np.bincount(codes * nb + bucket, minlength=nl * nb).reshape(nl, nb)
                agg.ok_hist = np.bincount(codes[ok] * nb + bucket[ok], minlength=nl * nb).reshape(
                    nl, nb
                )
        if arr.ctrl is not None:
            agg.controllers = np.bincount(codes[arr.ctrl], minlength=nl).astype("int64")
        for name, values in (("nbytes", arr.nbytes), ("sent", arr.sent)):
            if values is not None:
                w = values if values.dtype.kind in "iub" else np.nan_to_num(values)
                setattr(agg, name, np.bincount(codes, weights=w, minlength=nl))
                setattr(agg, "has_bytes" if name == "nbytes" else "has_sent", True)
        if ms is not None and arr.start_ms is not None:  # whole milliseconds: no nanosecond copies
            first = np.full(nl, np.iinfo("int64").max)
            last = np.full(nl, np.iinfo("int64").min)
            np.minimum.at(first, codes, arr.start_ms)
            np.maximum.at(last, codes, arr.start_ms + ms)
            seen = agg.count > 0
            agg.first_ns[seen] = first[seen] * 1_000_000
            agg.last_end_ns[seen] = last[seen] * 1_000_000
        else:
            end = arr.start_ns + (
                ms * 1_000_000 if ms is not None else np.rint(arr.rt_s * 1e9).astype("int64")
            )
            np.minimum.at(agg.first_ns, codes, arr.start_ns)
            np.maximum.at(agg.last_end_ns, codes, end)
        if intervals:
            agg._add_intervals(arr, codes.astype("int64", copy=False), bucket)
        return agg

    @classmethod
    def from_loadtest(cls, lt: LoadTest, **kwargs: Any) -> LoadAggregate:
        """Aggregate a load test that has per-request data."""
        arr = lt.arrays()
        if arr is None:
            raise InputError("this load test has no per-request data to aggregate")
        return cls.from_arrays(arr, **kwargs)

    def _resize(self, nl: int) -> None:
        for name, fill in (
            ("count", 0),
            ("failures", 0),
            ("sum_s", 0.0),
            ("min_s", np.inf),
            ("max_s", -np.inf),
            ("first_ns", np.iinfo("int64").max),
            ("last_end_ns", np.iinfo("int64").min),
            ("nbytes", 0.0),
            ("sent", 0.0),
            ("satisfied", 0),
            ("tolerating", 0),
            ("controllers", 0),
            ("hist", 0),
            ("ok_hist", 0),
        ):
            setattr(self, name, _grow(getattr(self, name), nl, fill))
        while len(self.exact) < nl:
            self.exact.append(np.zeros(0, "int64"))
        while len(self.ok_exact) < nl:
            self.ok_exact.append(np.zeros(0, "int64"))

    def _add_intervals(self, arr: RequestArrays, codes: np.ndarray, bucket: np.ndarray) -> None:
        nl = len(arr.labels)
        if nl >= 1 << _LABEL_BITS:
            raise InputError(
                f"{nl} distinct labels: too many for interval histograms",
                hint="group URLs into names (k6 'name' tag, JMeter sampler labels)",
            )
        win = arr.start_ns // self.interval_ns
        w0 = int(win.min())
        nb = self.hist.shape[1]
        ncell = (int(win.max()) - w0 + 1) * nl
        cell = (win - w0) * nl + codes  # dense local cell index: (window, label)
        users = arr.users
        if ncell * nb <= 1 << 23:  # a partition covers few intervals: dense counting, no sort
            cnt = np.bincount(cell * nb + bucket, minlength=ncell * nb)
            nz = np.flatnonzero(cnt)
            c, b = np.divmod(nz, nb)
            self.iv_keys = _cell_key(c, w0, nl) << _BUCKET_BITS | b
            self.iv_counts = cnt[nz].astype("int64")
        else:
            keys, counts = np.unique(cell * nb + bucket, return_counts=True)
            c, b = np.divmod(keys, nb)
            self.iv_keys = _cell_key(c, w0, nl) << _BUCKET_BITS | b
            self.iv_counts = counts.astype("int64")
        if ncell <= 1 << 22:
            req = np.bincount(cell, minlength=ncell)
            fails = np.bincount(cell[~arr.ok], minlength=ncell)
            total = np.bincount(cell, weights=arr.rt_s, minlength=ncell)
            mx = np.full(ncell, -np.inf)
            np.maximum.at(mx, cell, arr.rt_s)
            us = np.full(ncell, np.nan)
            if users is not None:
                u = users.astype("float64", copy=False)
                np.fmax.at(us, cell, u)
            live = np.flatnonzero(req)
            self.iv_cell = pd.DataFrame(
                {
                    "requests": req[live].astype("int64"),
                    "failures": fails[live].astype("int64"),
                    "sum_s": total[live],
                    "max_s": mx[live],
                    "users": us[live],
                },
                index=_cell_key(live, w0, nl),
            )
        else:
            frame = pd.DataFrame(
                {
                    "cell": cell,
                    "failures": ~arr.ok,
                    "sum_s": arr.rt_s,
                    "max_s": arr.rt_s,
                    "users": users if users is not None else np.nan,
                }
            )
            g = frame.groupby("cell", sort=True)
            cells = pd.DataFrame(
                {
                    "requests": g.size(),
                    "failures": g["failures"].sum().astype("int64"),
                    "sum_s": g["sum_s"].sum(),
                    "max_s": g["max_s"].max(),
                    "users": g["users"].max(),
                }
            )
            self.iv_cell = cells.set_axis(_cell_key(cells.index.to_numpy(), w0, nl))
        self.has_users = users is not None

    # ------------------------------------------------------------------ merging
    def merge(self, other: LoadAggregate) -> LoadAggregate:
        """A new aggregate of both (exact)."""
        if (other.sub_buckets, other.interval_s, other.apdex_t_s, other.apdex_f_s) != (
            self.sub_buckets,
            self.interval_s,
            self.apdex_t_s,
            self.apdex_f_s,
        ):
            raise InputError(
                "aggregates made with different settings cannot be merged",
                expected="the same sub_buckets, interval_s and apdex thresholds",
            )
        labels = list(self.labels)
        pos = {name: i for i, name in enumerate(labels)}
        for name in other.labels:
            if name not in pos:
                pos[name] = len(labels)
                labels.append(name)
        remap = np.array([pos[name] for name in other.labels], dtype="int64")
        out = LoadAggregate(
            self.interval_s,
            self.sub_buckets,
            self.apdex_t_s,
            self.apdex_f_s,
            labels=labels,
            exact=list(self.exact),
            ok_exact=list(self.ok_exact),
        )
        for name in ("count", "failures", "sum_s", "min_s", "max_s", "first_ns", "last_end_ns"):
            setattr(out, name, getattr(self, name).copy())
        for name in ("nbytes", "sent", "satisfied", "tolerating", "controllers", "hist", "ok_hist"):
            setattr(out, name, getattr(self, name).copy())
        out._resize(len(labels))
        if remap.size:
            for name in (
                "count",
                "failures",
                "sum_s",
                "nbytes",
                "sent",
                "satisfied",
                "tolerating",
                "controllers",
                "hist",
                "ok_hist",
            ):
                getattr(out, name)[remap] += getattr(other, name)  # remap has no repeats
            out.min_s[remap] = np.minimum(out.min_s[remap], other.min_s)
            out.max_s[remap] = np.maximum(out.max_s[remap], other.max_s)
            out.first_ns[remap] = np.minimum(out.first_ns[remap], other.first_ns)
            out.last_end_ns[remap] = np.maximum(out.last_end_ns[remap], other.last_end_ns)
            for j, i in enumerate(remap):
                out.exact[i] = _add_exact(out.exact[i], other.exact[j])
                out.ok_exact[i] = _add_exact(out.ok_exact[i], other.ok_exact[j])
        out.iv_keys, out.iv_counts = _merge_sparse(
            self.iv_keys,
            self.iv_counts,
            _relabel(other.iv_keys, remap, _BUCKET_BITS),
            other.iv_counts,
        )
        out.iv_cell = _merge_cells(self.iv_cell, other.iv_cell, remap)
        out.has_bytes = self.has_bytes or other.has_bytes
        out.has_sent = self.has_sent or other.has_sent
        out.has_users = self.has_users or other.has_users
        out.requests_total = self.requests_total + other.requests_total
        out.meta = {**self.meta, **other.meta}
        for k in ("skipped_rows",):
            if k in self.meta or k in other.meta:
                out.meta[k] = int(self.meta.get(k, 0)) + int(other.meta.get(k, 0))
        if "skipped_lines" in self.meta or "skipped_lines" in other.meta:  # the first 100, in order
            lines = [*self.meta.get("skipped_lines", []), *other.meta.get("skipped_lines", [])]
            out.meta["skipped_lines"] = sorted(lines)[:100]
        ends = [int(m["run_end_ns"]) for m in (self.meta, other.meta) if "run_end_ns" in m]
        if ends:  # the last sample of any metric (k6), whatever order partitions merge in
            out.meta["run_end_ns"] = max(ends)
        out.meta.update(_merge_k6_meta(self.meta, other.meta))
        return out

    __add__ = merge

    # ------------------------------------------------------------------ reading
    def _label_row(
        self, i: int | np.ndarray, name: str, method: str, apdex_t_s: float, apdex_f_s: float | None
    ) -> dict[str, Any]:
        sel = np.atleast_1d(i)
        n = int(self.count[sel].sum())
        fails = int(self.failures[sel].sum())
        exact: np.ndarray | None = np.zeros(0, "int64")
        for j in sel:
            exact = _add_exact(exact, self.exact[int(j)])
        hist = self.hist[sel].sum(axis=0)
        lo_s = float(self.min_s[sel].min()) if n else float("nan")
        hi_s = float(self.max_s[sel].max()) if n else float("nan")
        if exact is not None:
            values = np.flatnonzero(exact)
            pct = percentiles_from_counts(values / 1000.0, exact[values], _QS, method)
        else:
            nz = np.flatnonzero(hist)
            mids = np.clip(LatencyHistogram(self.sub_buckets).values()[nz], lo_s, hi_s)
            pct = percentiles_from_counts(mids, hist[nz], _QS, method)
        span = (
            (int(self.last_end_ns[sel].max()) - int(self.first_ns[sel].min())) / 1e9
            if n
            else float("nan")
        )
        apdex = float("nan")
        if n:
            if (apdex_t_s, apdex_f_s) == (self.apdex_t_s, self.apdex_f_s):
                sat, tol = int(self.satisfied[sel].sum()), int(self.tolerating[sel].sum())
            else:
                sat, tol = self._apdex_at(sel, apdex_t_s, apdex_f_s)
            apdex = (sat + tol / 2.0) / n
        return {
            "label": name,
            "requests": n,
            "failures": fails,
            "error_ratio": fails / n if n else float("nan"),
            "mean_s": float(self.sum_s[sel].sum()) / n if n else float("nan"),
            "min_s": lo_s,
            "p50_s": float(pct[0]),
            "p90_s": float(pct[1]),
            "p95_s": float(pct[2]),
            "p99_s": float(pct[3]),
            "max_s": hi_s,
            "throughput_per_s": n / span if n and span > 0 else float("nan"),
            "received_bytes_per_s": float(self.nbytes[sel].sum()) / span
            if self.has_bytes and n and span > 0
            else float("nan"),
            "sent_bytes_per_s": float(self.sent[sel].sum()) / span
            if self.has_sent and n and span > 0
            else float("nan"),
            "apdex": apdex,
            "_exact": exact is not None,
        }

    def _apdex_at(self, sel: np.ndarray, t_s: float, f_s: float | None) -> tuple[int, int]:
        """Satisfied and tolerating counts at other thresholds: exact from 1 ms counts, else histogram."""
        f = 4.0 * t_s if f_s is None else f_s
        counts: np.ndarray | None = np.zeros(0, "int64")
        for j in sel:
            counts = _add_exact(counts, self.ok_exact[int(j)] if j < len(self.ok_exact) else None)
        if counts is not None:
            secs = np.arange(counts.size) / 1000.0
            return int(counts[secs <= t_s].sum()), int(counts[(secs > t_s) & (secs <= f)].sum())
        ok = self.ok_hist[sel].sum(axis=0)
        mids = LatencyHistogram(self.sub_buckets).values()
        return int(ok[mids <= t_s].sum()), int(ok[(mids > t_s) & (mids <= f)].sum())

    def summary(
        self,
        apdex_t_s: float | None = None,
        *,
        apdex_f_s: float | None = None,
        method: str = "linear",
        include_controllers: bool = False,
        source: str = "",
        run: str = "",
    ) -> pd.DataFrame:
        """Per-label and ``Total`` statistics (``loadtest_summary``).

        ``estimate`` is ``exact:<method>`` when percentiles come from exact counts, else
        ``histogram:<method>:±<bound>``. Apdex is exact at the thresholds given when aggregating, and at
        any other where 1 ms counts are kept; otherwise it is estimated from the successful requests'
        histogram.
        """
        from perfnb.model.loadtest import SUMMARY

        t = self.apdex_t_s if apdex_t_s is None else apdex_t_s
        f = apdex_f_s if apdex_t_s is not None else self.apdex_f_s
        rows = [
            self._label_row(i, name, method, t, f)
            for i, name in enumerate(self.labels)
            if self.count[i] > 0
        ]
        keep = np.flatnonzero(
            (self.count > 0)
            & (include_controllers | (self.controllers < np.maximum(self.count, 1)))
        )
        rows.append(self._label_row(keep, "Total", method, t, f))
        df = pd.DataFrame(rows)
        bound = f"histogram:{method}:±{self.relative_error:.2%}"
        df["estimate"] = np.where(df.pop("_exact").astype(bool), f"exact:{method}", bound)
        df["source"] = source
        df["run"] = run
        return SUMMARY.conform(df)

    def histograms(self) -> dict[str, LatencyHistogram]:
        """A :class:`LatencyHistogram` per label and ``Total`` (without Transaction Controllers)."""
        out: dict[str, LatencyHistogram] = {}
        total = np.flatnonzero(self.controllers < np.maximum(self.count, 1))
        for i, name in enumerate([*self.labels, "Total"]):
            sel = total if i == len(self.labels) else np.array([i])
            n = int(self.count[sel].sum())
            out[name] = LatencyHistogram(
                self.sub_buckets,
                self.hist[sel].sum(axis=0),
                0,
                float(self.sum_s[sel].sum()),
                float(self.min_s[sel].min()) if n else float("inf"),
                float(self.max_s[sel].max()) if n else float("-inf"),
            )
        return out

    def intervals(self, *, method: str = "linear", source: str = "", run: str = "") -> pd.DataFrame:
        """``loadtest_intervals`` per label and ``Total`` (percentiles from interval histograms)."""
        from perfnb.model.loadtest import INTERVALS

        if self.iv_cell is None or self.iv_keys.size == 0:
            raise InputError(
                "this aggregate was built without intervals",
                hint="read it with intervals=True (or None: a second pass on first use)",
            )
        ctrl_labels = np.flatnonzero(self.controllers >= np.maximum(self.count, 1))
        mids = LatencyHistogram(self.sub_buckets).values()
        key = self.iv_keys
        bucket = key & ((1 << _BUCKET_BITS) - 1)
        cell = key >> _BUCKET_BITS
        label = cell & ((1 << _LABEL_BITS) - 1)
        win = cell >> _LABEL_BITS
        frames = []
        cells = self.iv_cell
        c_label = cells.index.to_numpy() & ((1 << _LABEL_BITS) - 1)
        c_win = cells.index.to_numpy() >> _LABEL_BITS
        for name, sel, csel in (
            ("Total", ~np.isin(label, ctrl_labels), ~np.isin(c_label, ctrl_labels)),
            *(
                (lab, label == i, c_label == i)
                for i, lab in enumerate(self.labels)
                if i not in set(ctrl_labels.tolist())
            ),
        ):
            if not csel.any():
                continue
            kw, kb, kc = win[sel], bucket[sel], self.iv_counts[sel]
            order = np.lexsort((kb, kw))
            kw, kb, kc = kw[order], kb[order], kc[order]
            wins, starts = np.unique(kw, return_index=True)
            ends = np.append(starts[1:], kw.size)
            pct = np.array(
                [
                    percentiles_from_counts(mids[kb[s:e]], kc[s:e], _QS, method)
                    for s, e in zip(starts, ends, strict=True)
                ]
            ).reshape(-1, len(_QS))
            c = (
                cells[csel]
                .groupby(c_win[csel])
                .agg(
                    {
                        "requests": "sum",
                        "failures": "sum",
                        "sum_s": "sum",
                        "max_s": "max",
                        "users": "max",
                    }
                )
            )
            c = c.reindex(wins)
            part = pd.DataFrame(
                {
                    "timestamp": pd.to_datetime(wins * self.interval_ns, unit="ns", utc=True),
                    "label": name,
                    "users": c["users"].round().astype("Int64").to_numpy()
                    if self.has_users
                    else pd.NA,
                    "requests": c["requests"].to_numpy(),
                    "failures": c["failures"].to_numpy(),
                    "throughput_per_s": c["requests"].to_numpy() / self.interval_s,
                    "mean_s": (c["sum_s"] / c["requests"]).to_numpy(),
                    "p50_s": pct[:, 0],
                    "p90_s": pct[:, 1],
                    "p95_s": pct[:, 2],
                    "p99_s": pct[:, 3],
                    "max_s": c["max_s"].to_numpy(),
                }
            )
            frames.append(part)
        df = pd.concat(frames, ignore_index=True)
        df["percentile_kind"] = "histogram"
        df["source"] = source
        df["run"] = run
        return INTERVALS.conform(df)


def _merge_k6_meta(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """k6 checks (passes and fails add up, by path) and threshold expressions (a union) of two parts."""
    out: dict[str, Any] = {}
    if "checks" in a or "checks" in b:
        by: dict[str, dict[str, Any]] = {}
        for c in [*a.get("checks", []), *b.get("checks", [])]:
            cur = by.setdefault(c["path"], {**c, "passes": 0, "fails": 0})
            cur["passes"] += int(c["passes"])
            cur["fails"] += int(c["fails"])
        out["checks"] = list(by.values())
    if "threshold_definitions" in a or "threshold_definitions" in b:
        defs: dict[str, list[str]] = {}
        for d in (a.get("threshold_definitions", {}), b.get("threshold_definitions", {})):
            for metric, sources in d.items():
                defs.setdefault(metric, [])
                defs[metric] += [x for x in sources if x not in defs[metric]]
        out["threshold_definitions"] = defs
    return out


def _exact_counts(codes: np.ndarray, ms: np.ndarray | None, nl: int) -> list[np.ndarray | None]:
    if ms is None:
        return [None] * nl
    top = int(ms.max()) + 1 if ms.size else 1
    if nl * top <= 1 << 25:
        dense = np.bincount(codes * top + ms, minlength=nl * top).reshape(nl, top)
        return [_trim(dense[i]) for i in range(nl)]
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(nl + 1))
    return [_trim(np.bincount(ms[order[bounds[i] : bounds[i + 1]]])) for i in range(nl)]


def _trim(a: np.ndarray) -> np.ndarray:
    nz = np.flatnonzero(a)
    return a[: nz[-1] + 1].astype("int64", copy=True) if nz.size else np.zeros(0, "int64")


def _cell_key(local: np.ndarray, w0: int, nl: int) -> np.ndarray:
    """Global (window, label) keys of dense local cell indices ``(window − w0)·nl + label``."""
    w, lab = np.divmod(np.asarray(local, dtype="int64"), nl)
    out: np.ndarray = ((w + w0) << _LABEL_BITS) + lab
    return out


def _relabel(keys: np.ndarray, remap: np.ndarray, shift: int) -> np.ndarray:
    if keys.size == 0:
        return keys
    low = keys & ((1 << shift) - 1)
    cell = keys >> shift
    label = cell & ((1 << _LABEL_BITS) - 1)
    win = cell >> _LABEL_BITS
    out: np.ndarray = ((win << _LABEL_BITS) + remap[label]) << shift | low
    return out


def _merge_sparse(
    ka: np.ndarray, ca: np.ndarray, kb: np.ndarray, cb: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    if kb.size == 0:
        return ka, ca
    if ka.size == 0:
        order = np.argsort(kb, kind="stable")
        keys, inv = np.unique(kb[order], return_inverse=True)
        return keys, np.bincount(inv, weights=cb[order], minlength=keys.size).astype("int64")
    keys, inv = np.unique(np.concatenate([ka, kb]), return_inverse=True)
    counts = np.bincount(inv, weights=np.concatenate([ca, cb]), minlength=keys.size)
    return keys, counts.astype("int64")


def _merge_cells(
    a: pd.DataFrame | None, b: pd.DataFrame | None, remap: np.ndarray
) -> pd.DataFrame | None:
    if b is None:
        return a
    b = b.set_axis(_relabel(b.index.to_numpy(), remap, 0))
    if a is None:
        both = b
    else:
        both = pd.concat([a, b])
    return both.groupby(level=0, sort=True).agg(
        {"requests": "sum", "failures": "sum", "sum_s": "sum", "max_s": "max", "users": "max"}
    )
