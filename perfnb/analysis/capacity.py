"""Capacity analysis of a load test: throughput versus concurrency, USL fit, knee, Little's law.

Also the optimal capacity and breaking point (the performance standard's definitions) and
coordinated-omission correction.

What it concludes, and when it refuses (issue 15):

* **Levels.** One row per user level, from its *steady* intervals (the first interval of a level holds
  the step itself and is left out). Counts come from the intervals' own requests and failures (for
  Locust's history: differences of its cumulative counts), so the level's throughput is requests /
  time and its error ratio failures / requests. A level with fewer than ``min_requests`` requests is
  too small to judge.
* **Breaking point**: the first level whose error ratio exceeds the objective (``error_ratio_max``,
  5 % in the standard; when the lowest level already exceeds it, errors that do not come from load,
  by more than the objective on top of the lowest level's), whose p95 exceeds ``breaking_p95_s``
  (5 s), or that has **stalled intervals**
  (no request completed while users were active and the run otherwise completes several per
  interval). That level and every level above it are past the breaking point: never optimal, never
  fitted.
* **Optimal capacity** (standard): the highest level below the breaking point with p95 below
  ``p95_max_s`` and less than 1 % errors. Without per-level percentiles (Locust's history without
  ``--csv-full-history`` holds percentiles since the start) it is not stated.
* **USL** (Gunther): ``X(N) = λN / (1 + σ(N−1) + κN(N−1))`` fitted with
  :func:`scipy.optimize.curve_fit` (bounded, σ, κ ≥ 0) on the healthy levels only, when there are at
  least :data:`MIN_FIT_LEVELS`. Its quality is stated (R², σ, κ); the peak ``N* = sqrt((1−σ)/κ)``
  is reported only when it lies within the fitted levels — otherwise the run is "not saturated up to
  N users" (or the fit says nothing beyond the levels run). No statement names a concurrency that
  was not run.
* One recommendation per run (:attr:`Capacity.recommendation`), built from the same numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfnb.errors import InputError

if TYPE_CHECKING:
    from perfnb.io.loadtest import LoadTest

__all__ = [
    "MIN_FIT_LEVELS",
    "Capacity",
    "capacity",
    "correct_coordinated_omission",
    "levels",
    "usl",
]

#: healthy levels needed before the three USL parameters are fitted
MIN_FIT_LEVELS = 4
_OPTIMAL_ERROR = 0.01  # the standard's optimal capacity: < 1 % errors


def usl(n: Any, lam: float, sigma: float, kappa: float) -> Any:
    """USL throughput at concurrency *n*.

    Examples
    --------
    >>> float(usl(1, 10.0, 0.1, 0.01))
    10.0
    """
    n = np.asarray(n, dtype="float64")
    return lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def _intervals(lt: LoadTest, freq: str) -> pd.DataFrame:
    if lt.has_requests:
        return lt.intervals(freq)
    if lt.aggregate is not None:
        return lt.intervals(f"{lt.aggregate.interval_s:g}s")
    return lt.intervals()


def levels(
    lt: LoadTest,
    *,
    freq: str = "5s",
    min_requests: int = 50,
    p95_max_s: float = 1.0,
    error_ratio_max: float = 0.05,
    breaking_p95_s: float = 5.0,
) -> pd.DataFrame:
    """One row per user level (see the module docstring).

    Columns: ``users``, ``throughput_per_s``, ``p95_s``, ``mean_s``, ``requests``, ``failures``,
    ``error_ratio``, ``intervals`` (steady ones), ``stalled_intervals``, ``enough`` (at least
    *min_requests*), ``broken`` (past the breaking point, with ``reason``) and ``meets_objectives``
    (p95 below *p95_max_s* and under 1 % errors).

    Raises
    ------
    InputError
        When the run has no user counts.
    """
    iv = _intervals(lt, freq)
    tot = iv[iv["label"] == "Total"].dropna(subset=["users"])
    tot = tot[tot["users"] > 0].sort_values("timestamp", kind="stable").reset_index(drop=True)
    if tot.empty:
        raise InputError(
            "no user counts in this load test", hint="capacity needs users/threads/VUs"
        )
    users = tot["users"].to_numpy(dtype="float64")
    ts = tot["timestamp"]
    step = ts.diff().dt.total_seconds().shift(-1)  # an interval lasts until the next one starts
    default = pd.Timedelta(freq).total_seconds() if lt.has_requests else float(step.median())
    length = step.fillna(default).clip(upper=3 * default if default > 0 else None)
    req = tot["requests"].astype("float64")
    if req.isna().all():  # no counts: the tool's rate × the interval
        req = tot["throughput_per_s"].astype("float64") * length
    fails = tot["failures"].astype("float64").fillna(0.0)
    first = np.r_[True, users[1:] != users[:-1]]  # the interval in which the step happened
    stalled = _stalls(req.fillna(0).to_numpy(), length.to_numpy(dtype="float64"), users)
    rows = []
    for n in sorted(set(users.tolist())):
        at = users == n
        steady = at & ~first
        use = steady if steady.any() else at
        r, f = float(req[use].sum()), float(fails[use].sum())
        dur = float(length[use].sum())
        p95 = tot.loc[use, "p95_s"].astype("float64")
        mean = tot.loc[use, "mean_s"].astype("float64")
        w = req[use].where(mean.notna(), 0.0)
        cumulative = str(tot["percentile_kind"].iloc[0]) == "cumulative"
        rows.append(
            {
                "users": int(n),
                "throughput_per_s": r / dur if dur > 0 else float("nan"),
                "p95_s": float("nan") if cumulative or p95.isna().all() else float(p95.median()),
                "mean_s": float((mean.fillna(0) * w).sum() / w.sum())
                if w.sum() > 0
                else float("nan"),
                "requests": int(r),
                "failures": int(f),
                "error_ratio": f / r if r > 0 else float("nan"),
                "intervals": int(use.sum()),
                "stalled_intervals": int(stalled[at].sum()),
            }
        )
    out = pd.DataFrame(rows)
    out["enough"] = out["requests"] >= min_requests
    # errors above the objective already at the lowest judged level do not come from load (a failing
    # endpoint): a level then breaks on errors only when they grow by more than the objective on top
    # (only when the lowest level that ran requests is itself judged, and another level is too)
    ran = out[out["requests"] > 0]
    judged = out[out["enough"] & out["error_ratio"].notna()]
    base = 0.0
    if len(judged) >= 2 and len(ran) and bool(ran["enough"].iloc[0]):
        base = float(judged["error_ratio"].iloc[0])
    base = base if base > error_ratio_max else 0.0
    out.attrs["baseline_error_ratio"] = base
    reasons = []
    for stalls, err, p95 in zip(
        out["stalled_intervals"].to_numpy(dtype="int64"),
        out["error_ratio"].to_numpy(dtype="float64"),
        out["p95_s"].to_numpy(dtype="float64"),
        strict=True,
    ):
        why = []
        if stalls:
            why.append(f"{int(stalls)} stalled interval(s)")
        if (
            np.isfinite(err)
            and err > error_ratio_max
            and err - base > (error_ratio_max if base else 0)
        ):
            why.append(
                f"{float(err):.1%} errors > {error_ratio_max:.0%}"
                + (f" (+{float(err - base):.1%} over the lowest level's)" if base else "")
            )
        if np.isfinite(p95) and p95 > breaking_p95_s:
            why.append(f"p95 {float(p95):.2f} s > {breaking_p95_s:g} s")
        reasons.append("; ".join(why))
    out["reason"] = reasons
    out["broken"] = out["reason"] != ""
    out["meets_objectives"] = (
        out["enough"]
        & ~out["broken"]
        & (out["p95_s"] < p95_max_s)
        & (out["error_ratio"].fillna(0.0) < _OPTIMAL_ERROR)
    )
    return out


def _stalls(req: np.ndarray, length: np.ndarray, users: np.ndarray) -> np.ndarray:
    """The intervals of stalls: ≥ 2 consecutive intervals of one level in which nothing completed.

    The stall must be long enough that the run's mean rate would have completed at least 20 requests
    meanwhile (a test with long think times completes nothing in many short intervals, unstalled).
    """
    total = float(length.sum())
    rate = float(req.sum()) / total if total > 0 else 0.0
    zero = req == 0
    out = np.zeros(req.size, dtype=bool)
    i = 0
    while i < req.size:
        if not zero[i]:
            i += 1
            continue
        j = i
        while j + 1 < req.size and zero[j + 1] and users[j + 1] == users[i]:
            j += 1
        if j > i and rate * float(length[i : j + 1].sum()) >= 20:
            out[i : j + 1] = True
        i = j + 1
    return out


@dataclass
class Capacity:
    """Result of :func:`capacity` (see the module docstring for what is concluded when)."""

    levels: pd.DataFrame
    lam: float = float("nan")
    sigma: float = float("nan")
    kappa: float = float("nan")
    r2: float = float("nan")
    peak_users: float = float("nan")
    max_throughput_per_s: float = float("nan")
    knee_users: int | None = None
    optimal_users: int | None = None
    breaking_users: int | None = None
    little: pd.DataFrame = field(default_factory=pd.DataFrame)
    recommendation: str = ""
    highest_users: int = 0
    fit_users: list[int] = field(default_factory=list)
    saturated: bool | None = None
    fit_quality: str = ""
    retrograde_users: int | None = None
    min_requests: int = 50

    def curve(self, n: Any) -> Any:
        """Fitted throughput at concurrency *n* (meaningful within the fitted levels only)."""
        return usl(n, self.lam, self.sigma, self.kappa)


def capacity(
    lt: LoadTest,
    *,
    freq: str = "5s",
    p95_max_s: float = 1.0,
    error_ratio_max: float = 0.05,
    breaking_p95_s: float = 5.0,
    knee_factor: float = 2.0,
    think_time_s: float = 0.0,
    min_requests: int = 50,
) -> Capacity:
    """Throughput-versus-users analysis of a step or ramp load test.

    Parameters
    ----------
    p95_max_s
        The p95 objective: optimal capacity is the highest healthy level with p95 below it and < 1 %
        errors (the standard's definition).
    error_ratio_max
        The error objective: a level with more errors is past the breaking point.
    breaking_p95_s
        A level with a p95 above this is past the breaking point (the standard: 5 s).
    knee_factor
        The knee is the first healthy level whose p95 exceeds ``knee_factor`` × the lowest level's p95.
    think_time_s
        Think/wait time per iteration, for Little's law ``N = X·(R + Z)``.
    min_requests
        Levels with fewer requests are shown but neither fitted nor judged optimal.
    """
    lv = levels(
        lt,
        freq=freq,
        min_requests=min_requests,
        p95_max_s=p95_max_s,
        error_ratio_max=error_ratio_max,
        breaking_p95_s=breaking_p95_s,
    )
    cap = Capacity(lv, highest_users=int(lv["users"].max()), min_requests=min_requests)
    n = lv["users"].to_numpy(dtype="float64")
    x = lv["throughput_per_s"].to_numpy(dtype="float64")
    judged = lv["enough"].to_numpy(dtype=bool)
    broken = lv["broken"].to_numpy(dtype=bool) & judged
    if broken.any():
        cap.breaking_users = int(n[np.flatnonzero(broken)[0]])
    healthy = judged & ~broken & np.isfinite(x)
    if cap.breaking_users is not None:
        healthy &= n < cap.breaking_users
    _fit(cap, n[healthy], x[healthy])
    p95 = lv["p95_s"].to_numpy(dtype="float64")
    base = np.flatnonzero(healthy & np.isfinite(p95))
    if base.size >= 2 and p95[base[0]] > 0:
        over = base[p95[base] > knee_factor * p95[base[0]]]
        cap.knee_users = int(n[over[0]]) if over.size else None
    # retrograde: a level whose throughput is > 10 % below a lower level's best adds users for less work
    best_below = np.maximum.accumulate(np.where(healthy, np.nan_to_num(x, nan=0.0), 0.0))
    retro = healthy & (x < 0.9 * np.r_[0.0, best_below[:-1]])
    if retro.any():
        cap.retrograde_users = int(n[np.flatnonzero(retro)[0]])
    ok = np.flatnonzero(lv["meets_objectives"].to_numpy(dtype=bool) & healthy & ~retro)
    if cap.retrograde_users is not None:
        ok = ok[n[ok] < cap.retrograde_users]
    cap.optimal_users = int(n[ok[-1]]) if ok.size else None
    implied = x * (lv["mean_s"].to_numpy(dtype="float64") + think_time_s)
    cap.little = pd.DataFrame(
        {"users": n.astype("int64"), "implied_concurrency": implied, "ratio": implied / n}
    )
    cap.recommendation = _recommend(cap, p95_max_s=p95_max_s, error_ratio_max=error_ratio_max)
    return cap


def _fit(cap: Capacity, n: np.ndarray, x: np.ndarray) -> None:
    """USL fit on the healthy levels; the peak only when it lies within them."""
    from scipy.optimize import OptimizeWarning, curve_fit

    cap.fit_users = [int(v) for v in n]
    if n.size < MIN_FIT_LEVELS:
        cap.fit_quality = (
            f"no USL fit: {n.size} healthy level(s), {MIN_FIT_LEVELS} needed"
            if n.size
            else "no USL fit: no healthy level"
        )
        return
    lam0 = float(x[0] / n[0]) if n[0] > 0 else float(x.max())
    try:
        with warnings.catch_warnings():  # few levels: no covariance, the fit still holds
            warnings.simplefilter("ignore", OptimizeWarning)
            (lam, sigma, kappa), _ = curve_fit(
                usl, n, x, p0=(lam0, 0.05, 0.001), bounds=([0, 0, 0], [np.inf, 1, 1]), maxfev=20000
            )
    except (RuntimeError, ValueError):
        cap.fit_quality = "no USL fit: the fit did not converge"
        return
    cap.lam, cap.sigma, cap.kappa = float(lam), float(sigma), float(kappa)
    pred = usl(n, lam, sigma, kappa)
    ss = float(((x - x.mean()) ** 2).sum())
    cap.r2 = 1 - float(((x - pred) ** 2).sum()) / ss if ss > 0 else float("nan")
    peak = float(np.sqrt((1 - sigma) / kappa)) if kappa > 1e-12 else float("inf")
    top = float(n.max())
    # as shares, as the reports print them (σ: contention, κ: coherency); vanishing ones as ≈ 0
    kap = f"{cap.kappa:.3%}" if cap.kappa >= 1e-6 else "≈ 0"
    sig = f"{cap.sigma:.2%}" if cap.sigma >= 1e-5 else "≈ 0"
    cap.fit_quality = (
        f"USL fit on {n.size} levels ({int(n.min())}–{int(top)} users): R² {cap.r2:.2f}, "
        f"σ {sig}, κ {kap}"
    )
    if max(cap.sigma, cap.kappa) >= 0.999:  # pinned at a bound: the data do not determine it
        cap.fit_quality += " — σ or κ at its bound (1): the levels do not determine the curve"
        cap.saturated = None
        return
    if not np.isfinite(cap.r2) or cap.r2 < 0.8:
        cap.fit_quality += " — a poor fit: its parameters are not conclusions"
        cap.saturated = None
        return
    if peak <= top:
        cap.peak_users = peak
        cap.max_throughput_per_s = float(usl(peak, lam, sigma, kappa))
        cap.saturated = True
    else:
        cap.saturated = False  # still rising at the highest healthy level: no peak is claimed


def _users(n: float) -> str:
    return f"{n:.0f} user" + ("" if round(n) == 1 else "s")


def _recommend(c: Capacity, *, p95_max_s: float, error_ratio_max: float) -> str:
    """One recommendation; every concurrency it names was run."""
    lv = c.levels.set_index("users")
    parts = []
    base = float(c.levels.attrs.get("baseline_error_ratio", 0.0))
    if base:
        lowest = int(lv[lv["enough"]].index[0])
        parts.append(
            f"Errors exceed the {error_ratio_max:.0%} objective from the lowest level on "
            f"({base:.1%} at {_users(lowest)}): they do not come from load — fix them first (see "
            "the error breakdown); capacity is judged on how errors and latency grow above that."
        )
    if c.breaking_users is not None:
        parts.append(
            f"Breaking point: {_users(c.breaking_users)} ({lv.at[c.breaking_users, 'reason']!s})."
        )
    if c.optimal_users is not None:
        row = lv.loc[c.optimal_users]
        parts.append(
            f"Optimal capacity: {_users(c.optimal_users)}, the highest level run with p95 "
            f"{row['p95_s'] * 1000:.0f} ms < {p95_max_s:g} s and {row['error_ratio']:.2%} errors "
            "< 1 %" + (" before throughput falls." if c.retrograde_users is not None else ".")
        )
    if c.retrograde_users is not None:
        rates = lv["throughput_per_s"].to_numpy(dtype="float64")
        at = float(rates[list(lv.index).index(c.retrograde_users)])
        below = lv[lv.index < c.retrograde_users]["throughput_per_s"].astype("float64")
        best = int(below.to_numpy().argmax())
        parts.append(
            f"Throughput falls from {_users(c.retrograde_users)} on ({at:.0f} req/s against "
            f"{float(below.iloc[best]):.0f} at {_users(float(below.index[best]))}): more users "
            "get less done."
        )
    if c.saturated is True:
        parts.append(
            f"Throughput peaks near {_users(c.peak_users)} at about "
            f"{c.max_throughput_per_s:.0f} req/s ({c.fit_quality})."
        )
        if c.sigma >= 0.05:
            parts.append("Contention (σ) dominates: look for a serialised resource (lock, pool).")
        elif c.kappa > 0:
            parts.append("Coherency (κ) dominates: reduce cross-node/shared-state coordination.")
    elif c.breaking_users is None and c.retrograde_users is None:
        if len(c.fit_users) < 2:
            what = (
                f"One level run ({_users(c.highest_users)})"
                if len(lv) == 1
                else f"{len(c.fit_users)} of {len(lv)} levels with enough requests and no failure"
            )
            parts.append(f"{what}: whether it saturates is unknown.")
        else:
            parts.append(
                f"Not saturated up to {_users(c.highest_users)}: throughput still grows at the "
                "highest level run; capacity beyond it was not tested."
            )
    if c.saturated is not True and c.fit_quality:
        parts.append(c.fit_quality[0].upper() + c.fit_quality[1:] + ".")
    if c.knee_users is not None:
        parts.append(f"Latency doubles from {_users(c.knee_users)} on (the knee).")
    if c.optimal_users is not None:
        parts.append(f"Recommendation: plan for at most {_users(c.optimal_users)}.")
    elif not lv["enough"].any():
        parts.append(
            f"No level has enough requests to judge (at least {c.min_requests} each): run each "
            "level longer."
        )
    elif lv["p95_s"].isna().all():
        parts.append(
            "No per-level percentiles (Locust's history without --csv-full-history holds them "
            "since the start), so no optimal capacity is stated."
        )
    else:
        first = lv[lv["enough"]].iloc[0]
        lowest = int(lv[lv["enough"]].index[0])
        parts.append(
            f"No level met the objectives (p95 < {p95_max_s:g} s and < 1 % errors): the lowest "
            f"level judged ({_users(lowest)}) already had p95 {float(first['p95_s']) * 1000:.0f} ms "
            f"and {float(first['error_ratio']):.2%} errors."
        )
    return " ".join(parts)


def correct_coordinated_omission(response_time_s: Any, expected_interval_s: float) -> np.ndarray:
    """HdrHistogram's coordinated-omission correction (``recordValueWithExpectedInterval``).

    For each response longer than the expected request interval *I*, add the samples the load generator
    *should* have sent meanwhile: ``r − k·I`` for ``k = 1, 2, …`` **while the value is still ≥ I**
    (HdrHistogram's rule: a back-filled sample is never below the interval).

    Examples
    --------
    >>> correct_coordinated_omission([0.1, 0.35], 0.1).round(2).tolist()
    [0.1, 0.35, 0.25, 0.15]
    >>> correct_coordinated_omission([0.2], 0.1).round(2).tolist()
    [0.2, 0.1]
    """
    r = np.asarray(response_time_s, dtype="float64")
    if expected_interval_s <= 0:
        raise InputError("expected_interval_s must be positive")
    long = r[r > expected_interval_s]
    # k = 1 … fills with r − k·I ≥ I, i.e. k ≤ r/I − 1 (a relative 1e-9 absorbs binary rounding)
    fills = np.floor(long / expected_interval_s - 1.0 + 1e-9).astype("int64")
    fills = np.maximum(fills, 0)
    total = int(fills.sum())
    if total > 100_000_000:
        raise InputError(
            f"the correction would add {total:,} samples",
            key="expected_interval_s",
            hint="the interval is far shorter than the response times; check its unit (seconds)",
        )
    if total == 0:
        return r.copy()
    k = np.arange(total) - np.repeat(np.cumsum(fills) - fills, fills) + 1
    extra = np.repeat(long, fills) - k * expected_interval_s
    return np.concatenate([r, extra])
