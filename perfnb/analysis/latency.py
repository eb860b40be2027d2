"""Latency statistics for load tests: percentiles (selectable estimator), Apdex, per-label summary, intervals.

Percentile estimators are numpy's (``numpy.percentile(method=...)``):

* ``"linear"`` (default, Hyndman–Fan R7, position ``p·(n−1)``) — what **k6** computes (``TrendSink.P``);
* ``"weibull"`` (R6, position ``p·(n+1)``) — what the **JMeter** HTML dashboard computes (commons-math
  ``Percentile`` LEGACY); pass ``window=20000`` to also mimic its sliding window of the last 20,000 samples;
* ``"inverted_cdf"``, ``"nearest"``, ``"hazen"`` … any numpy method.

Apdex follows the Apdex standard: satisfied ≤ T, tolerating ≤ F (default F = 4T; JMeter's default is
3T — pass ``apdex_f_s``), failed requests count in the total as frustrated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfnb.errors import InputError
from perfnb.io._common import perfnb_attrs

if TYPE_CHECKING:
    from perfnb.io.loadtest import LoadTest

__all__ = [
    "apdex",
    "apdex_from_percentiles",
    "intervals",
    "jmeter_statistics",
    "locust_half_step",
    "percentile",
    "share_below",
    "summarize",
]

_QS = (0.5, 0.9, 0.95, 0.99)


def percentile(values: Any, q: float | list[float], method: str = "linear") -> Any:
    """Percentile(s) *q* (0–1) of *values* with numpy estimator *method*; NaN for no values.

    Examples
    --------
    >>> float(percentile([1.0, 2.0, 3.0, 4.0], 0.5))
    2.5
    >>> float(percentile([100, 170, 329], 0.9, method="weibull"))
    329.0
    """
    arr = np.asarray(values, dtype="float64")
    if arr.size == 0:
        return np.full(np.shape(q), np.nan) if np.ndim(q) else np.nan
    try:
        return np.percentile(arr, np.asarray(q) * 100.0, method=method)  # type: ignore[call-overload]
    except ValueError as err:
        raise InputError(
            f"unknown percentile method {method!r}", expected="a numpy method"
        ) from err


def apdex(response_time_s: Any, success: Any, t_s: float = 0.5, f_s: float | None = None) -> float:
    """Apdex score: (satisfied + tolerating/2) / total; failed requests are frustrated.

    Examples
    --------
    >>> apdex([0.1, 0.6, 3.0], [True, True, True], t_s=0.5)
    0.5
    """
    rt = np.asarray(response_time_s, dtype="float64")
    ok = np.asarray(success, dtype=bool)
    if rt.size == 0:
        return float("nan")
    f = 4.0 * t_s if f_s is None else f_s
    sat = np.count_nonzero(ok & (rt <= t_s))
    tol = np.count_nonzero(ok & (rt > t_s) & (rt <= f))
    return float((sat + tol / 2.0) / rt.size)


def _row(
    label: str,
    rt: np.ndarray,
    ok: np.ndarray,
    start: np.ndarray,
    nbytes: np.ndarray | None,
    sbytes: np.ndarray | None,
    *,
    method: str,
    window: int | None,
    apdex_t_s: float,
    apdex_f_s: float | None,
    expected_interval_s: float | None = None,
) -> dict[str, Any]:
    n = int(rt.size)
    pr = rt[-window:] if window and n > window else rt
    if expected_interval_s:
        from perfnb.analysis.capacity import correct_coordinated_omission

        pr = correct_coordinated_omission(pr, expected_interval_s)
    p50, p90, p95, p99 = (float(x) for x in percentile(pr, list(_QS), method))
    span = float((start + rt).max() - start.min()) if n else float("nan")
    thr = n / span if n and span > 0 else float("nan")
    fails = int(n - np.count_nonzero(ok))
    return {
        "label": label,
        "requests": n,
        "failures": fails,
        "error_ratio": fails / n if n else float("nan"),
        "mean_s": float(rt.mean()) if n else float("nan"),
        "min_s": float(rt.min()) if n else float("nan"),
        "p50_s": p50,
        "p90_s": p90,
        "p95_s": p95,
        "p99_s": p99,
        "max_s": float(rt.max()) if n else float("nan"),
        "throughput_per_s": thr,
        "received_bytes_per_s": float(np.nansum(nbytes)) / span
        if nbytes is not None and span > 0
        else np.nan,
        "sent_bytes_per_s": float(np.nansum(sbytes)) / span
        if sbytes is not None and span > 0
        else np.nan,
        "apdex": apdex(rt, ok, apdex_t_s, apdex_f_s),
    }


def summarize(
    lt: LoadTest,
    *,
    apdex_t_s: float = 0.5,
    apdex_f_s: float | None = None,
    method: str = "linear",
    window: int | None = None,
    include_controllers: bool = False,
    expected_interval_s: float | None = None,
) -> pd.DataFrame:
    """Per-label and ``Total`` summary of a load test (``loadtest_summary``).

    From requests when present (exact, estimator *method*; throughput = n / (max(start + elapsed) −
    min(start)) as JMeter computes it, or n / the test-run duration when the reader found one in
    ``lt.meta["run_duration_s"]`` — k6, whose ``http_reqs.rate`` divides by it); otherwise the tool's own
    statistics (``estimate="tool"``).
    The ``Total`` row excludes JMeter Transaction Controller samples unless *include_controllers*.

    *expected_interval_s* (the interval at which each virtual user meant to send requests) corrects
    the percentiles for coordinated omission, as HdrHistogram's ``recordValueWithExpectedInterval``
    does: every response longer than the interval adds the samples that the stalled generator did not
    send (:func:`perfnb.analysis.capacity.correct_coordinated_omission`). Counts, mean, maximum,
    throughput and Apdex stay those of the requests actually made; ``estimate`` says
    ``…:co=<interval>s``. Needs per-request data.
    """
    from perfnb.analysis.aggregate import LoadAggregate, virtual_index
    from perfnb.io.loadtest import SUMMARY

    if expected_interval_s is not None and expected_interval_s <= 0:
        raise InputError(
            "expected_interval_s must be positive",
            key="expected_interval_s",
            found=expected_interval_s,
        )
    if expected_interval_s and not lt.has_requests:
        raise InputError(
            "coordinated-omission correction needs per-request data",
            key="expected_interval_s",
            hint="read the run with engine='pandas'",
        )
    if not lt.has_requests:
        if lt.aggregate is not None:
            out = lt.aggregate.summary(
                apdex_t_s,
                apdex_f_s=apdex_f_s,
                method=method,
                include_controllers=include_controllers,
                source=lt.source,
                run=lt.run,
            )
            perfnb_attrs(out)["apdex_t_s"] = apdex_t_s
            return _over_run(out, lt)
        if lt.stats is None:
            raise InputError("this load test has neither requests nor tool statistics")
        return _apdex_of_stats(lt, apdex_t_s, apdex_f_s)
    arr = lt.arrays()
    if arr is None:  # pragma: no cover - has_requests checked above
        raise InputError("no per-request data")
    counting = window is None and not expected_interval_s and arr.elapsed_ms is not None
    if counting:
        try:
            virtual_index(1, np.array([0.5]), method)
        except InputError:
            counting = False
    if counting:
        # whole milliseconds: exact percentiles from counts per millisecond, O(n), no sort
        agg = LoadAggregate.from_arrays(
            arr, apdex_t_s=apdex_t_s, apdex_f_s=apdex_f_s, intervals=False
        )
        out = agg.summary(
            method=method, include_controllers=include_controllers, source=lt.source, run=lt.run
        )
        perfnb_attrs(out)["apdex_t_s"] = apdex_t_s
        return _over_run(out, lt)
    start_all = arr.start_ns / 1e9  # float seconds since epoch, keeping sub-ms precision
    rt_all, ok_all, b_all, s_all = arr.rt_s, arr.ok, arr.nbytes, arr.sent
    codes = arr.codes
    cats = arr.labels
    ctrl = arr.ctrl if arr.ctrl is not None else np.zeros(len(arr), dtype=bool)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(cats) + 1))
    kw: dict[str, Any] = {
        "method": method,
        "window": window,
        "expected_interval_s": expected_interval_s,
        "apdex_t_s": apdex_t_s,
        "apdex_f_s": apdex_f_s,
    }
    rows = []
    for i, name in enumerate(cats):
        idx = order[bounds[i] : bounds[i + 1]]
        if idx.size == 0:
            continue
        rows.append(
            _row(
                str(name),
                rt_all[idx],
                ok_all[idx],
                start_all[idx],
                None if b_all is None else b_all[idx],
                None if s_all is None else s_all[idx],
                **kw,
            )
        )
    keep = slice(None) if include_controllers or not ctrl.any() else ~ctrl
    rows.append(
        _row(
            "Total",
            rt_all[keep],
            ok_all[keep],
            start_all[keep],
            None if b_all is None else b_all[keep],
            None if s_all is None else s_all[keep],
            **kw,
        )
    )
    df = pd.DataFrame(rows)
    df["estimate"] = (
        f"exact:{method}"
        + (f":window={window}" if window else "")
        + (f":co={expected_interval_s:g}s" if expected_interval_s else "")
    )
    df["source"] = lt.source
    df["run"] = lt.run
    out = SUMMARY.conform(df)
    perfnb_attrs(out)["apdex_t_s"] = apdex_t_s
    return _over_run(out, lt)


def locust_half_step(value_s: float) -> float:
    """Half of Locust's rounding step at *value_s* (seconds).

    Locust buckets response times to whole milliseconds below 100 ms, to 10 ms below 1 s, 100 ms below
    10 s, then 1 s (``locust.stats``); its percentiles are bucket values.

    Examples
    --------
    >>> locust_half_step(0.05), locust_half_step(0.25), locust_half_step(3.0)
    (0.0005, 0.005, 0.05)
    """
    ms = value_s * 1000.0
    step = 1.0 if ms < 100 else 10.0 if ms < 1000 else 100.0 if ms < 10000 else 1000.0
    return step / 2000.0


def share_below(
    points: Any, x: float, half_step: Callable[[float], float] | None = None
) -> tuple[float, float, float]:
    """Share of requests at or below *x* from ``[quantile, value]`` points: ``(estimate, low, high)``.

    The tool's percentile at *q* is the smallest value with at least a share *q* at or below it, so the
    share at *x* lies between the largest *q* whose value is ≤ *x* and the smallest *q* whose value is
    above it; the estimate interpolates linearly between the two. Below the minimum it is 0, at or above
    the maximum 1 (exact; the first and last points are the exact minimum and maximum). A tool that
    rounds response times into buckets (*half_step*: half the rounding step at a value) widens the
    bracket by that much on each side.

    Examples
    --------
    >>> tuple(round(v, 6) for v in share_below([[0, 0.01], [0.5, 0.02], [0.9, 0.05], [1, 0.2]], 0.035))
    (0.7, 0.5, 0.9)
    """
    pts = sorted((float(v), float(q)) for q, v in points)
    values = np.array([v for v, _ in pts])
    qs = np.maximum.accumulate(np.array([q for _, q in pts]))
    if x < values[0]:
        return 0.0, 0.0, 0.0
    if x >= values[-1]:
        return 1.0, 1.0, 1.0
    h = np.array([half_step(v) if half_step else 0.0 for v in values])
    h[0] = h[-1] = 0.0  # the exact minimum and maximum
    below = np.flatnonzero(values + h <= x)
    above = np.flatnonzero(values - h > x)
    lo = float(qs[below[-1]]) if below.size else 0.0
    hi = float(qs[above[0]]) if above.size else 1.0
    i = int(np.searchsorted(values, x, side="right"))  # values[i-1] <= x < values[i]
    v0, v1 = values[i - 1], values[i]
    q0, q1 = float(qs[i - 1]), float(qs[i])
    est = q0 + (q1 - q0) * (x - v0) / (v1 - v0) if v1 > v0 else q0
    return float(min(max(est, lo), hi)), lo, hi


def apdex_from_percentiles(
    points: Any,
    failure_ratio: float,
    t_s: float = 0.5,
    f_s: float | None = None,
    *,
    half_step: Callable[[float], float] | None = None,
) -> tuple[float, float, float]:
    """Apdex estimated from a tool's percentiles: ``(estimate, low, high)``.

    Apdex = (S(T) + S(F)) / 2 with S(x) the share of *successful* requests ≤ x. The tool's percentiles
    cover all requests; failures (frustrated) are assumed spread like all requests for the estimate, and
    the bounds hold whatever their latencies: ``S(x)`` lies in
    ``[max(0, share(x) − failures), min(share(x), 1 − failures)]`` with ``share`` bracketed by the two
    percentiles around *x* (:func:`share_below`).
    """
    f = 4.0 * t_s if f_s is None else f_s
    fr = 0.0 if not np.isfinite(failure_ratio) else float(failure_ratio)
    est = lo = hi = 0.0
    for x in (t_s, f):
        e, a, b = share_below(points, x, half_step)
        est += e * (1 - fr) / 2
        lo += max(0.0, a - fr) / 2
        hi += min(b, 1 - fr) / 2
    return float(min(max(est, lo), hi)), float(lo), float(hi)


def _apdex_of_stats(lt: LoadTest, t_s: float, f_s: float | None) -> pd.DataFrame:
    """The tool's statistics, with Apdex estimated from its percentile columns where it wrote them."""
    stats = lt.stats
    points = lt.meta.get("percentiles") or {}
    if stats is None or not points:
        return stats if stats is not None else pd.DataFrame()
    out = stats.copy()
    step = locust_half_step if lt.source == "locust" else None  # Locust rounds into buckets
    est = out["estimate"].astype("string")
    apdex = out["apdex"].to_numpy(dtype="float64").copy()
    for i, (label, err) in enumerate(zip(out["label"], out["error_ratio"], strict=True)):
        pts = points.get(str(label))
        if not pts:
            continue
        a, lo, hi = apdex_from_percentiles(pts, float(err), t_s, f_s, half_step=step)
        apdex[i] = a
        est.iloc[i] = f"{est.iloc[i]}:apdex-from-percentiles±{(hi - lo) / 2:.3f}"
    out["apdex"] = apdex
    out["estimate"] = est.astype("category")
    perfnb_attrs(out)["apdex_t_s"] = t_s
    return out


def _over_run(out: pd.DataFrame, lt: LoadTest) -> pd.DataFrame:
    """Throughput over the test-run duration when the reader knows it (as k6 computes its rates)."""
    duration = lt.meta.get("run_duration_s")
    if duration is None or not np.isfinite(float(duration)) or float(duration) <= 0:
        return out
    out["throughput_per_s"] = out["requests"].astype("float64") / float(duration)
    perfnb_attrs(out)["throughput"] = f"requests / run duration ({float(duration):.3f} s)"
    return out


def jmeter_statistics(lt: LoadTest, *, window: int = 20000) -> dict[str, dict[str, Any]]:
    """The JMeter dashboard's ``statistics.json`` for *lt* (weibull percentiles, 20k window, ms, KB/s).

    Reproduces JMeter's own expected file for its ``HTMLReportTestFile.csv`` (see the tests).
    """
    s = summarize(lt, method="weibull", window=window)
    out: dict[str, dict[str, Any]] = {}
    for rec in s.to_dict("records"):
        r: Any = _Rec(rec)
        out[str(r.label)] = {
            "transaction": str(r.label),
            "sampleCount": int(r.requests),
            "errorCount": int(r.failures),
            "errorPct": 100.0 * float(r.error_ratio),
            "meanResTime": float(r.mean_s) * 1000.0,
            "medianResTime": float(r.p50_s) * 1000.0,
            "minResTime": float(r.min_s) * 1000.0,
            "maxResTime": float(r.max_s) * 1000.0,
            "pct1ResTime": float(r.p90_s) * 1000.0,
            "pct2ResTime": float(r.p95_s) * 1000.0,
            "pct3ResTime": float(r.p99_s) * 1000.0,
            "throughput": float(r.throughput_per_s),
            "receivedKBytesPerSec": float(r.received_bytes_per_s) / 1024.0,
            "sentKBytesPerSec": float(r.sent_bytes_per_s) / 1024.0,
        }
    return out


class _Rec:
    def __init__(self, d: dict[Any, Any]) -> None:
        self.__dict__.update(d)


def intervals(lt: LoadTest, *, freq: str = "5s", method: str = "linear") -> pd.DataFrame:
    """Per-interval series per label and ``Total`` (``loadtest_intervals``).

    Exact percentiles from the requests that *started* in each interval; without requests the tool's
    history (Locust) is returned as written, with its ``percentile_kind``.
    """
    from perfnb.io.loadtest import INTERVALS

    if not lt.has_requests:
        if lt.aggregate is not None:
            agg = lt.aggregate
            if agg.iv_cell is None and agg.rescan is not None:
                # read for the summary only: the intervals need a second pass (read with
                # intervals=True to build both in one)
                fresh = agg.rescan()
                lt.aggregate = agg = fresh.aggregate if hasattr(fresh, "aggregate") else fresh
            if abs(pd.Timedelta(freq).total_seconds() - agg.interval_s) > 1e-9:
                raise InputError(
                    f"this load test was aggregated in intervals of {agg.interval_s:g} s",
                    key="freq",
                    hint="pass interval= when reading with engine='stream' or 'dask'",
                )
            return agg.intervals(method=method, source=lt.source, run=lt.run)
        if lt.history is None:
            raise InputError("this load test has neither requests nor a history file")
        return lt.history
    req = lt.requests
    if req is None:  # pragma: no cover - has_requests checked above
        raise InputError("no per-request data")
    if req["is_controller"].any():
        req = req[~req["is_controller"]]
    step = pd.Timedelta(freq).total_seconds()
    bucket = req["timestamp"].dt.floor(freq)
    frames = []
    for label, sub in [
        ("Total", req),
        *((str(k), g) for k, g in req.groupby("label", observed=True)),
    ]:
        b = bucket.loc[sub.index]
        g = sub.groupby(b)
        rt = g["response_time_s"]
        q = rt.quantile(
            np.array(_QS), interpolation="linear" if method == "linear" else "nearest"
        ).unstack()
        part = pd.DataFrame(
            {
                "users": g["users"].max() if sub["users"].notna().any() else pd.NA,
                "requests": g.size(),
                "failures": g["success"].apply(lambda s: int((~s).sum())),
                "mean_s": rt.mean(),
                "max_s": rt.max(),
                "p50_s": q[0.5],
                "p90_s": q[0.9],
                "p95_s": q[0.95],
                "p99_s": q[0.99],
            }
        )
        part["throughput_per_s"] = part["requests"] / step
        part["label"] = label
        part.index.name = "timestamp"
        frames.append(part.reset_index())
    df = pd.concat(frames, ignore_index=True)
    df["percentile_kind"] = "exact"
    df["source"] = lt.source
    df["run"] = lt.run
    return INTERVALS.conform(df)
