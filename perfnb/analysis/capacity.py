"""Capacity analysis of a load test: throughput versus concurrency, USL fit, knee, Little's law.

Also the optimal capacity and breaking point (the performance standard's definitions) and
coordinated-omission correction.

USL (Gunther): ``X(N) = λN / (1 + σ(N−1) + κN(N−1))`` — σ contention, κ coherency; peak concurrency
``N* = sqrt((1−σ)/κ)``, maximum throughput ``X(N*)``. Fitted with :func:`scipy.optimize.curve_fit`
(bounded, σ, κ ≥ 0) on one point per user level (median throughput of that level's intervals).
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

__all__ = ["Capacity", "capacity", "correct_coordinated_omission", "levels", "usl"]


def usl(n: Any, lam: float, sigma: float, kappa: float) -> Any:
    """USL throughput at concurrency *n*.

    Examples
    --------
    >>> float(usl(1, 10.0, 0.1, 0.01))
    10.0
    """
    n = np.asarray(n, dtype="float64")
    return lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def levels(lt: LoadTest, *, freq: str = "5s") -> pd.DataFrame:
    """One row per user level: ``users``, ``throughput_per_s``, ``p95_s``, ``mean_s``, ``error_ratio``, ``intervals``.

    Intervals whose user count differs from the previous interval (ramps) are dropped.
    """
    iv = lt.intervals(freq) if lt.has_requests else lt.intervals()
    tot = iv[iv["label"] == "Total"].dropna(subset=["users"]).copy()
    tot = tot[tot["users"] > 0]
    if tot.empty:
        raise InputError(
            "no user counts in this load test", hint="capacity needs users/threads/VUs"
        )
    same = tot["users"].eq(tot["users"].shift(1)) & tot["users"].eq(tot["users"].shift(-1))
    steady = tot[same] if tot[same]["users"].nunique() >= 3 else tot  # a ramp: use every interval
    if tot["percentile_kind"].iloc[0] == "exact":
        err = steady["failures"].astype("float64") / steady["requests"].astype("float64")
    else:
        err = pd.Series(np.nan, index=steady.index)
    g = steady.assign(error_ratio=err).groupby("users")
    out = pd.DataFrame(
        {
            "throughput_per_s": g["throughput_per_s"].median(),
            "p95_s": g["p95_s"].median(),
            "mean_s": g["mean_s"].median(),
            "error_ratio": g["error_ratio"].mean(),
            "intervals": g.size(),
        }
    ).reset_index()
    out["users"] = out["users"].astype("int64")
    return out


@dataclass
class Capacity:
    """Result of :func:`capacity`."""

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

    def curve(self, n: Any) -> Any:
        """Fitted throughput at concurrency *n*."""
        return usl(n, self.lam, self.sigma, self.kappa)


def capacity(
    lt: LoadTest,
    *,
    freq: str = "5s",
    p95_max_s: float = 1.0,
    knee_factor: float = 2.0,
    think_time_s: float = 0.0,
) -> Capacity:
    """Throughput-versus-users analysis of a step or ramp load test.

    Parameters
    ----------
    p95_max_s
        Optimal capacity (standard): the largest user level with p95 < ``p95_max_s`` and error ratio < 1 %;
        breaking point: the first level with error ratio > 5 % or p95 > 5 s.
    knee_factor
        The knee is the first user level whose p95 exceeds ``knee_factor`` × the lowest level's p95.
    think_time_s
        Think/wait time per iteration, for Little's law ``N = X·(R + Z)``.
    """
    from scipy.optimize import OptimizeWarning, curve_fit

    lv = levels(lt, freq=freq)
    cap = Capacity(lv)
    n = lv["users"].to_numpy(dtype="float64")
    x = lv["throughput_per_s"].to_numpy(dtype="float64")
    if len(lv) >= 3 and np.all(np.isfinite(x)):
        lam0 = float(x[0] / n[0]) if n[0] > 0 else float(x.max())
        try:
            with warnings.catch_warnings():  # too few levels for a covariance: the fit still holds
                warnings.simplefilter("ignore", OptimizeWarning)
                (lam, sigma, kappa), _ = curve_fit(
                    usl,
                    n,
                    x,
                    p0=(lam0, 0.05, 0.001),
                    bounds=([0, 0, 0], [np.inf, 1, 1]),
                    maxfev=20000,
                )
            cap.lam, cap.sigma, cap.kappa = float(lam), float(sigma), float(kappa)
            pred = usl(n, lam, sigma, kappa)
            ss = float(((x - x.mean()) ** 2).sum())
            cap.r2 = 1 - float(((x - pred) ** 2).sum()) / ss if ss > 0 else float("nan")
            cap.peak_users = float(np.sqrt((1 - sigma) / kappa)) if kappa > 0 else float("inf")
            cap.max_throughput_per_s = (
                float(usl(cap.peak_users, lam, sigma, kappa))
                if np.isfinite(cap.peak_users)
                else lam / sigma
                if sigma > 0
                else float("inf")
            )
        except (RuntimeError, ValueError):
            pass
    p95 = lv["p95_s"].to_numpy(dtype="float64")
    err = lv["error_ratio"].fillna(0).to_numpy(dtype="float64")
    if len(lv) >= 2 and np.isfinite(p95[0]):
        over = np.flatnonzero(p95 > knee_factor * p95[0])
        cap.knee_users = int(n[over[0]]) if over.size else None
    ok = np.flatnonzero((p95 < p95_max_s) & (err < 0.01))
    cap.optimal_users = int(n[ok[-1]]) if ok.size else None
    brk = np.flatnonzero((err > 0.05) | (p95 > 5.0))
    cap.breaking_users = int(n[brk[0]]) if brk.size else None
    implied = x * (lv["mean_s"].to_numpy(dtype="float64") + think_time_s)
    cap.little = pd.DataFrame(
        {"users": n.astype("int64"), "implied_concurrency": implied, "ratio": implied / n}
    )
    cap.recommendation = _recommend(cap)
    return cap


def _recommend(c: Capacity) -> str:
    parts = []
    if np.isfinite(c.peak_users):
        parts.append(
            f"Throughput peaks near {c.peak_users:.0f} concurrent users at about {c.max_throughput_per_s:.0f} req/s "
            f"(USL σ={c.sigma:.3g} contention, κ={c.kappa:.3g} coherency)."
        )
        if c.kappa > 0 and c.sigma < 0.05:
            parts.append(
                "Coherency (κ) dominates: reduce cross-node/shared-state coordination before adding capacity."
            )
        elif c.sigma >= 0.05:
            parts.append(
                "Contention (σ) dominates: look for a serialised resource (lock, pool, single worker)."
            )
    if c.knee_users is not None:
        parts.append(
            f"Latency climbs from {c.knee_users} users on (the knee): keep the load below it."
        )
    if c.optimal_users is not None:
        parts.append(
            f"Optimal capacity (p95 within objective, < 1 % errors): {c.optimal_users} users."
        )
    if c.breaking_users is not None:
        parts.append(f"Breaking point: {c.breaking_users} users.")
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
