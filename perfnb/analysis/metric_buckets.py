"""Mergeable downsampling of metric series: per-bucket count, exact sum, min, max and last sample.

:func:`downsample` turns a :data:`~perfnb.io.prometheus.METRIC_SAMPLES` frame into :class:`MetricBuckets`:
per series (metric + labels + ``source``/``run``) and per fixed time bucket aligned to the Unix epoch, the
aggregates Thanos' downsampling keeps (count, sum, min, max, plus the last sample for counters). Two
states merge exactly and in any order (:meth:`MetricBuckets.merge`), which is what lets
:func:`perfnb.scan_metrics` read a long history file by file or on a Dask cluster and still give the
result of reading everything at once. :meth:`MetricBuckets.to_frame` returns a METRIC_SAMPLES frame again
(one row per series and bucket), so every metrics analysis runs on it.

Sums are exact (:mod:`perfnb.analysis.exact`): a bucket split over several files gives bit-for-bit the
same sum and mean as the unsplit bucket; the mean is the correctly rounded exact mean.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from perfnb.analysis.exact import exact_sums, limbs
from perfnb.errors import InputError
from perfnb.model.metrics import METRIC_SAMPLES, Metrics

__all__ = [
    "AGGS",
    "COUNTER_SUFFIXES",
    "Agg",
    "MetricBuckets",
    "check_agg",
    "downsample",
    "parse_freq",
]

Agg = Literal["auto", "mean", "max", "min", "last", "sum", "count"]
#: the per-bucket values :meth:`MetricBuckets.to_frame` can return
AGGS: tuple[str, ...] = ("auto", "mean", "max", "min", "last", "sum", "count")
#: counter names by Prometheus convention; ``agg="auto"`` keeps their last sample per bucket
COUNTER_SUFFIXES: tuple[str, ...] = ("_total", "_count", "_sum", "_bucket")

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
SeriesKey: TypeAlias = tuple[tuple[str, Any], ...]

_FIXED = ("metric", "source", "run")
_NUMERIC = {"lower": "float64", "upper": "float64", "boundary_rule": "Int64"}
_LIMB_SLOTS = 128  # limb numbers are 0..65; a power of two above that for combined keys
_COMPACT_ROWS = 1 << 20

_PROM_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_PROM_UNITS_NS = (365 * 86400e9, 7 * 86400e9, 86400e9, 3600e9, 60e9, 1e9, 1e6)


def parse_freq(freq: str | timedelta | pd.Timedelta | np.timedelta64) -> int:
    """The bucket width in nanoseconds, from a fixed duration.

    Accepts pandas frequency strings (``"1min"``, ``"15s"``, ``"1h30min"``, ``"1D"``), Prometheus durations
    (``"5m"``, ``"1h30m"``, ``"1d"``, ``"1w"``) and timedeltas.

    Raises
    ------
    InputError
        For anything else, for a width that is not positive, and for calendar frequencies (months, weeks
        anchored on a weekday), which are not fixed.

    Examples
    --------
    >>> parse_freq("1min") == parse_freq("1m") == 60 * 10**9
    True
    >>> parse_freq("1h30m") // 10**9
    5400
    """
    ns: int | None = None
    if isinstance(freq, (timedelta, np.timedelta64)):
        ns = int(pd.Timedelta(freq).value)
    elif isinstance(freq, str):
        text = freq.strip()
        m = _PROM_DURATION.match(text)
        if text and m:
            ns = int(sum(int(g) * u for g, u in zip(m.groups(), _PROM_UNITS_NS, strict=True) if g))
        else:
            try:
                with warnings.catch_warnings():
                    # deprecated aliases ("1d" in pandas) still mean what they say; not the user's problem
                    warnings.simplefilter("ignore")
                    ns = int(pd.tseries.frequencies.to_offset(text).nanos)
            except (ValueError, TypeError) as err:
                raise InputError(
                    "freq is not a fixed duration",
                    key="freq",
                    found=freq,
                    expected="e.g. '1min', '15s', '5m', '1h30m', '1D'",
                    hint="months and weekday-anchored weeks vary in length; use e.g. '30D' or '7D'",
                ) from err
    if ns is None:
        raise InputError(
            "freq is not a duration", key="freq", found=freq, expected="a string or a timedelta"
        )
    if ns <= 0:
        raise InputError("freq must be positive", key="freq", found=freq)
    return ns


# ------------------------------------------------------------------------------------------ the state


@dataclass
class _Block:
    """Aggregates per (series id, bucket); ``l*`` arrays hold the exact sums as limbs (see module doc)."""

    sid: IntArray
    bucket: IntArray  # timestamp_ns // freq_ns
    count: IntArray  # samples whose value is not NaN
    posinf: IntArray
    neginf: IntArray
    vmin: FloatArray
    vmax: FloatArray
    last_ts: IntArray  # ns
    last_value: FloatArray
    lsid: IntArray
    lbucket: IntArray
    limb: IntArray  # the limb's position: it weighs 2**(32*limb - 1074)
    lacc: IntArray  # sum of the 32-bit chunks that fall in that limb (signed)

    def __len__(self) -> int:
        return len(self.sid)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return sum(getattr(self, f.name).nbytes for f in fields(self))


def _empty_block() -> _Block:
    i, f = np.empty(0, np.int64), np.empty(0, np.float64)
    return _Block(i, i, i, i, i, f, f, i, f, i, i, i, i)


def _pair_key(a: IntArray, b: IntArray) -> IntArray:
    """One int64 per (a, b) pair, equal exactly when the pairs are equal."""
    if len(a) == 0:
        return np.empty(0, np.int64)
    amin, bmin = int(a.min()), int(b.min())
    span_a, span_b = int(a.max()) - amin + 1, int(b.max()) - bmin + 1
    if span_a * span_b < 2**62:
        return (a - amin) * span_b + (b - bmin)
    inverse = np.unique(np.stack([a, b], axis=1), axis=0, return_inverse=True)[1]
    return np.asarray(inverse, dtype=np.int64).ravel()


def _starts(sorted_key: IntArray) -> IntArray:
    if len(sorted_key) == 0:
        return np.empty(0, np.int64)
    return np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]).astype(np.int64)


def _compact(blocks: Sequence[_Block]) -> tuple[_Block, IntArray]:
    """Merge blocks into one with a row per (series, bucket); also each limb row's aggregate row."""
    if not blocks:
        return _empty_block(), np.empty(0, np.int64)
    cat = {f.name: np.concatenate([getattr(b, f.name) for b in blocks]) for f in fields(_Block)}
    n = len(cat["sid"])
    codes = _pair_key(
        np.concatenate([cat["sid"], cat["lsid"]]), np.concatenate([cat["bucket"], cat["lbucket"]])
    )
    acode, lcode = codes[:n], codes[n:]
    # ties on the last timestamp go to the larger value (NaN largest, as numpy sorts), in every engine
    order = np.lexsort((cat["last_value"], cat["last_ts"], acode))
    skey = acode[order]
    st = _starts(skey)
    ends = np.r_[st[1:], n] - 1 if n else st
    first, last = order[st], order[ends]
    gkey = skey[st]
    # limbs: sum the int64 chunks per (group, limb); exact, any order
    lkey = np.searchsorted(gkey, lcode).astype(np.int64) * _LIMB_SLOTS + cat["limb"]
    lorder = np.argsort(lkey, kind="stable")
    lst = _starts(lkey[lorder])
    lacc = np.add.reduceat(cat["lacc"][lorder], lst) if len(lst) else cat["lacc"][:0]
    lrows = lkey[lorder][lst] // _LIMB_SLOTS
    nz = lacc != 0
    lrows, lacc = lrows[nz], lacc[nz]
    lfirst = lorder[lst][nz]

    def red(ufunc: Any, name: str) -> Any:
        return ufunc.reduceat(cat[name][order], st) if len(st) else cat[name][:0]

    out = _Block(
        sid=cat["sid"][first],
        bucket=cat["bucket"][first],
        count=red(np.add, "count"),
        posinf=red(np.add, "posinf"),
        neginf=red(np.add, "neginf"),
        vmin=red(np.fmin, "vmin"),
        vmax=red(np.fmax, "vmax"),
        last_ts=cat["last_ts"][last],
        last_value=cat["last_value"][last],
        lsid=cat["lsid"][lfirst],
        lbucket=cat["lbucket"][lfirst],
        limb=cat["limb"][lfirst],
        lacc=lacc.astype(np.int64),
    )
    return out, lrows.astype(np.int64)


def _canonical(values: Any, cast: str | None) -> list[Any]:
    if cast == "Int64":
        return [int(v) for v in values]
    if cast is not None:
        return [float(v) for v in values]
    return [str(v) for v in values]


def _series_keys(
    frame: pd.DataFrame, mask: npt.NDArray[np.bool_] | None
) -> tuple[IntArray, list[SeriesKey]]:
    """Series id of every (masked) row and the key of each id: its (column, value) pairs, sorted.

    Values are canonical (``str`` labels, ``float`` bounds, ``int`` boundary rules), so the same series
    has the same key in every file whatever dtype its reader gave the columns.
    """
    cols = [c for c in frame.columns if c not in ("timestamp", "value")]
    n = len(frame) if mask is None else int(mask.sum())
    if n == 0:
        return np.zeros(0, np.int64), []
    codes: list[IntArray] = []
    uniques: list[list[Any]] = []
    for c in cols:
        s = frame[c]
        cast = _NUMERIC.get(c)
        if isinstance(s.dtype, pd.CategoricalDtype):
            code: Any = s.cat.codes.to_numpy()
            found: Any = s.cat.categories
        else:
            code, found = pd.factorize(s, use_na_sentinel=True)
        code = np.asarray(code, dtype=np.int64) + 1  # 0 = missing
        codes.append(code if mask is None else code[mask])
        uniques.append([None, *_canonical(found, cast)])
    combined = codes[0] if codes else np.zeros(n, np.int64)
    for code, values in zip(codes[1:], uniques[1:], strict=True):
        if len(values) > 1:
            combined = _pair_key(combined, code)
    first, inverse = np.unique(combined, return_index=True, return_inverse=True)[1:]
    keys: list[SeriesKey] = []
    index: dict[SeriesKey, int] = {}
    remap = np.empty(len(first), np.int64)
    for i, row in enumerate(first.tolist()):
        key = tuple(
            sorted(
                (c, values[code[row]])
                for c, code, values in zip(cols, codes, uniques, strict=True)
                if code[row] != 0
            )
        )
        # two codes can name one series (categories 1 and "1"): one id per key
        remap[i] = index.setdefault(key, len(keys))
        if remap[i] == len(keys):
            keys.append(key)
    return remap[np.asarray(inverse, dtype=np.int64).ravel()], keys


def check_agg(agg: str) -> str:
    """Validate an ``agg`` name (raises :class:`InputError` naming the choices)."""
    if agg not in AGGS:
        raise InputError(
            f"unknown agg {agg!r}", key="agg", expected=", ".join(repr(a) for a in AGGS)
        )
    return agg


def _is_counter(key: SeriesKey) -> bool:
    return str(dict(key).get("metric", "")).endswith(COUNTER_SUFFIXES)


@dataclass
class MetricBuckets:
    """Mergeable per-bucket aggregates of metric series: count, exact sum, min, max, last sample.

    Build one with :func:`downsample` (one frame) or :func:`perfnb.scan.metrics.scan_buckets` (files);
    combine with :meth:`merge` (associative and commutative: the result does not depend on the order);
    turn into a samples frame with :meth:`to_frame`, a :class:`~perfnb.io.prometheus.Metrics` with
    :meth:`to_metrics`, or every aggregate at once with :meth:`aggregates`.

    Parameters
    ----------
    freq_ns
        Bucket width in nanoseconds; buckets start at multiples of it since the epoch.
    freq
        The width as the user wrote it (kept for display).
    """

    freq_ns: int
    freq: str = ""
    keys: list[SeriesKey] = field(default_factory=list)
    files: int = 0
    formats: set[str] = field(default_factory=set)
    run: str = ""
    skipped: list[str] = field(default_factory=list)
    _blocks: list[_Block] = field(default_factory=list, repr=False)
    _index: dict[SeriesKey, int] = field(default_factory=dict, repr=False)
    _compacted_rows: int = field(default=0, repr=False)
    _lrows: IntArray | None = field(default=None, repr=False)  # valid while _blocks holds one block

    def __post_init__(self) -> None:
        if not self._index:
            self._index = {k: i for i, k in enumerate(self.keys)}

    def __len__(self) -> int:
        """Number of (series, bucket) rows."""
        return len(self._final()[0])

    @property
    def nbytes(self) -> int:
        """Memory held by the aggregate arrays (the series keys are not counted)."""
        return sum(b.nbytes for b in self._blocks)

    def merge(self, other: MetricBuckets) -> MetricBuckets:
        """A new state holding both; equal buckets of equal series are combined exactly.

        Raises
        ------
        InputError
            When the two were built with different bucket widths.
        """
        out = MetricBuckets(
            self.freq_ns,
            self.freq,
            list(self.keys),
            self.files,
            set(self.formats),
            self.run,
            list(self.skipped),
        )
        out._blocks = list(self._blocks)
        out._compacted_rows = self._compacted_rows
        return out.update(other)

    def update(self, other: MetricBuckets) -> MetricBuckets:
        """Merge *other* into this state, in place, and return it (like :meth:`merge`, without a copy)."""
        return _merge_into(self, other)

    def compact(self) -> MetricBuckets:
        """Combine the blocks gathered by merges into one (done automatically when they grow)."""
        self._final()
        return self

    def _final(self) -> tuple[_Block, IntArray]:
        """The single compacted block and the aggregate row of each of its limb rows."""
        if self._lrows is None or len(self._blocks) > 1:
            block, lrows = _compact(self._blocks)
            self._blocks = [block] if len(block) else []
            self._lrows = lrows
            self._compacted_rows = len(block)
        return (self._blocks[0] if self._blocks else _empty_block()), self._lrows

    def aggregates(self) -> pd.DataFrame:
        """Every aggregate of every bucket, one row per series and bucket.

        Columns: ``timestamp`` (bucket start), the series columns, then ``count``, ``sum``, ``mean``,
        ``min``, ``max``, ``last`` and ``last_timestamp``.
        """
        block, lrows = self._final()
        frame, order = self._base_frame(block)
        sums, means = _exact(block, lrows)
        extra = pd.DataFrame(
            {
                "count": block.count[order],
                "sum": sums[order],
                "mean": means[order],
                "min": block.vmin[order],
                "max": block.vmax[order],
                "last": block.last_value[order],
                "last_timestamp": _timestamps(block.last_ts[order]),
            }
        )
        return pd.concat([frame.drop(columns="value"), extra], axis=1)

    def to_frame(self, agg: Agg = "auto") -> pd.DataFrame:
        """A :data:`~perfnb.io.prometheus.METRIC_SAMPLES` frame: one row per series and bucket.

        Parameters
        ----------
        agg
            What ``value`` holds: ``"mean"`` of the bucket's samples, ``"max"``, ``"min"``, ``"last"`` (the
            latest sample), ``"sum"``, ``"count"`` (samples whose value is not NaN); ``"auto"`` (default) is
            ``"last"`` for counters (names ending ``_total``, ``_count``, ``_sum``, ``_bucket``: a mean of a
            cumulative counter lags and blurs resets) and ``"mean"`` for every other series.

        Notes
        -----
        ``timestamp`` is the bucket start. NaN samples are left out of count, sum, mean, min and max (a
        bucket of NaN only has count 0 and NaN for the others); ``last`` is the latest sample whatever its
        value. Rows are sorted by series, then time; label columns are categorical with sorted categories.
        """
        check_agg(agg)
        block, lrows = self._final()
        frame, order = self._base_frame(block)
        if agg in ("mean", "sum"):
            values = _exact(block, lrows)[agg == "mean"]
        elif agg == "auto":
            counter = np.array([_is_counter(k) for k in self.keys], dtype=bool)
            is_c = counter[block.sid] if len(counter) else np.zeros(len(block), bool)
            values = np.where(is_c, block.last_value, _exact(block, lrows, ~is_c)[1])
        else:
            values = {
                "max": block.vmax,
                "min": block.vmin,
                "last": block.last_value,
                "count": block.count.astype(np.float64),
            }[agg]
        frame["value"] = np.asarray(values, dtype=np.float64)[order]
        out = METRIC_SAMPLES.conform(frame)
        out.attrs["perfnb"] = {
            "scan": {
                "freq": self.freq,
                "agg": agg,
                "files": self.files,
                "formats": sorted(self.formats),
                "skipped_files": list(self.skipped),
            }
        }
        return out

    def to_metrics(
        self, agg: Agg = "auto", *, run: str | None = None, directions: dict[str, str] | None = None
    ) -> Metrics:
        """:meth:`to_frame` wrapped in a :class:`~perfnb.io.prometheus.Metrics`, ready for ``perfnb.check``.

        The rules' counter window is the bucket width when that is longer than a minute.
        """
        window = _pandas_freq(self.freq_ns) if self.freq_ns > 60 * 10**9 else "1min"
        return Metrics(
            self.to_frame(agg),
            source=",".join(sorted(self.formats)),
            run=self.run if run is None else run,
            directions=dict(directions or {}),
            window=window,
        )

    def _base_frame(self, block: _Block) -> tuple[pd.DataFrame, IntArray]:
        """Timestamp and series columns of every row (sorted by series, then bucket), and that order."""
        used = np.unique(block.sid)
        keys = [dict(self.keys[i]) for i in used.tolist()]
        labels = sorted({c for k in keys for c in k} - set(_FIXED) - set(_NUMERIC))
        numeric = [c for c in _NUMERIC if any(c in k for k in keys)]
        cols = [*_FIXED, *labels, *numeric]
        rank_of = sorted(
            range(len(keys)),
            key=lambda i: tuple((c in keys[i], keys[i].get(c, "")) for c in cols),
        )
        rank = np.zeros(int(used.max()) + 1 if len(used) else 0, np.int64)
        rank[used[rank_of]] = np.arange(len(used))
        pos = np.zeros_like(rank)
        pos[used] = np.arange(len(used))
        order = np.lexsort((block.bucket, rank[block.sid])) if len(block) else np.empty(0, np.int64)
        sid = block.sid[order]
        data: dict[str, Any] = {"timestamp": _timestamps(block.bucket[order] * self.freq_ns)}
        data["value"] = np.zeros(len(sid))
        for c in cols:
            per_series = [k.get(c) for k in keys]
            if c in _NUMERIC:
                numbers = pd.Series(per_series, dtype=_NUMERIC[c])
                data[c] = numbers.iloc[pos[sid]].reset_index(drop=True)
                continue
            cats = sorted({v for v in per_series if v is not None})
            lookup = {v: i for i, v in enumerate(cats)}
            scode = np.array([lookup.get(v, -1) for v in per_series], dtype=np.int64)
            data[c] = pd.Categorical.from_codes(scode[pos[sid]], dtype=pd.CategoricalDtype(cats))
        return pd.DataFrame(data), order


def _timestamps(ns: IntArray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")


def _pandas_freq(ns: int) -> str:
    """A pandas offset string for *ns* nanoseconds (``"5min"``, ``"90s"``, ``"250ms"``)."""
    for unit, size in (
        ("D", 86400 * 10**9),
        ("h", 3600 * 10**9),
        ("min", 60 * 10**9),
        ("s", 10**9),
    ):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def _merge_into(acc: MetricBuckets, other: MetricBuckets) -> MetricBuckets:
    if acc.freq_ns != other.freq_ns:
        raise InputError(
            "cannot merge metric buckets of different widths",
            key="freq",
            found=(acc.freq or acc.freq_ns, other.freq or other.freq_ns),
            expected="the same freq for every partition",
        )
    remap = np.empty(len(other.keys), np.int64)
    for i, k in enumerate(other.keys):
        j = acc._index.get(k)
        if j is None:
            j = acc._index[k] = len(acc.keys)
            acc.keys.append(k)
        remap[i] = j
    for b in other._blocks:
        acc._blocks.append(replace(b, sid=remap[b.sid], lsid=remap[b.lsid]))
    acc._lrows = None
    acc.files += other.files
    acc.formats |= other.formats
    rows = sum(len(b) for b in acc._blocks)
    if rows > max(2 * acc._compacted_rows, _COMPACT_ROWS):
        acc.compact()
    return acc


def downsample(
    frame: pd.DataFrame, *, freq: str | timedelta | pd.Timedelta = "1min"
) -> MetricBuckets:
    """Aggregate a :data:`~perfnb.io.prometheus.METRIC_SAMPLES` frame into epoch-aligned buckets per series.

    Series are told apart by every column but ``timestamp`` and ``value`` (metric, source, run, labels).

    Examples
    --------
    >>> import perfnb
    >>> df = perfnb.read_prometheus("data/samples/metrics/query_range_cpu.json")
    >>> b = downsample(df, freq="30s")
    >>> len(b), int(b.to_frame("count")["value"].sum()) == len(df)
    (4, True)
    """
    freq_ns = parse_freq(freq)
    return _downsample(frame, freq_ns, freq if isinstance(freq, str) else _pandas_freq(freq_ns))


def _downsample(frame: pd.DataFrame, freq_ns: int, freq: str) -> MetricBuckets:
    missing = [c for c in ("timestamp", "value") if c not in frame.columns]
    if missing:
        raise InputError(
            f"frame lacks column(s) {missing}", expected="a METRIC_SAMPLES frame (timestamp, value)"
        )
    try:
        ts_all = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True)).as_unit("ns")
    except (ValueError, TypeError) as err:
        raise InputError("timestamp column is not a time", key="timestamp") from err
    ts = np.asarray(ts_all.asi8, dtype=np.int64)
    values = np.asarray(frame["value"].to_numpy(dtype=np.float64, na_value=np.nan))
    mask: npt.NDArray[np.bool_] | None = None
    if ts_all.hasnans:
        mask = ~np.asarray(ts_all.isna())
        ts, values = ts[mask], values[mask]
    sid, keys = _series_keys(frame, mask)
    bucket = np.floor_divide(ts, freq_ns)
    nan = np.isnan(values)
    rows, limb, acc = limbs(values)
    samples = _Block(
        sid=sid,
        bucket=bucket,
        count=(~nan).astype(np.int64),
        posinf=(values == np.inf).astype(np.int64),
        neginf=(values == -np.inf).astype(np.int64),
        vmin=values,
        vmax=values,
        last_ts=ts,
        last_value=values,
        lsid=sid[rows],
        lbucket=bucket[rows],
        limb=limb,
        lacc=acc,
    )
    block, lrows = _compact([samples])
    out = MetricBuckets(freq_ns, freq, keys)
    out._blocks = [block] if len(block) else []
    out._lrows = lrows
    out._compacted_rows = len(block)
    return out


def _exact(
    block: _Block, lrows: IntArray, need: npt.NDArray[np.bool_] | None = None
) -> tuple[FloatArray, FloatArray]:
    return exact_sums(lrows, block.limb, block.lacc, block.count, block.posinf, block.neginf, need)
