"""Statistical comparison of two load-test runs: :func:`compare_loadtests`.

Per label (and ``Total``): differences candidate − baseline of p50/p95/p99, throughput and error ratio,
with percentile bootstrap confidence intervals. The bootstrap resamples **time windows** (a block
bootstrap: requests within a window are correlated, so resampling single requests would give too-narrow
intervals) when both runs have at least 8 windows, else single requests.

Verdict per row (on p95 unless ``metric=``): ``regression`` when the CI of the relative difference lies
entirely above ``+min_effect_ratio``, ``improvement`` when entirely below ``−min_effect_ratio``, else
``no significant change``. A CI job can fail on any ``regression``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from perfnb.errors import InputError

if TYPE_CHECKING:
    from perfnb.model.loadtest import LoadTest

__all__ = ["compare_loadtests"]

_QS = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def _groups(lt: LoadTest, freq: str) -> dict[str, list[np.ndarray]]:
    if lt.requests is None:
        raise InputError("no per-request data")
    req = lt.requests[~lt.requests["is_controller"]]
    w = req["timestamp"].dt.floor(freq)
    out: dict[str, list[np.ndarray]] = {}
    for label, sub in [
        ("Total", req),
        *((str(k), g) for k, g in req.groupby("label", observed=True)),
    ]:
        out[label] = [
            np.column_stack(
                [
                    g["response_time_s"].to_numpy(dtype="float64"),
                    (~g["success"]).to_numpy(dtype="float64"),
                ]
            )
            for _, g in sub.groupby(w.loc[sub.index])
        ]
    return out


def _stats(blocks: list[np.ndarray], seconds: float) -> np.ndarray:
    a = np.concatenate(blocks) if blocks else np.zeros((0, 2))
    if a.shape[0] == 0:
        return np.full(5, np.nan)
    p = np.percentile(a[:, 0], [50, 95, 99])
    return np.array([p[0], p[1], p[2], a.shape[0] / seconds, a[:, 1].mean()])


def compare_loadtests(
    baseline: LoadTest,
    candidate: LoadTest,
    *,
    metric: str = "p95",
    min_effect_ratio: float = 0.05,
    confidence: float = 0.95,
    n_boot: int = 400,
    freq: str = "5s",
    seed: int = 0,
) -> pd.DataFrame:
    """Compare *candidate* with *baseline*, per label and ``Total``.

    Returns
    -------
    pandas.DataFrame
        One row per label: ``label``, ``metric`` (``p50_s``, ``p95_s``, ``p99_s``, ``throughput_per_s``,
        ``error_ratio``), ``baseline``, ``candidate``, ``diff``, ``diff_ratio``, ``ci_low_ratio``,
        ``ci_high_ratio`` and ``verdict`` (on the chosen *metric*; for throughput lower is a regression).

    Raises
    ------
    InputError
        If either run lacks per-request data.
    """
    if not (baseline.has_requests and candidate.has_requests):
        raise InputError("compare_loadtests needs per-request data in both runs")
    names = ["p50_s", "p95_s", "p99_s", "throughput_per_s", "error_ratio"]
    if metric + "_s" in names:
        metric = metric + "_s"
    if metric not in names:
        raise InputError(f"unknown metric {metric!r}", expected=", ".join(names))
    rng = np.random.default_rng(seed)
    gb, gc = _groups(baseline, freq), _groups(candidate, freq)
    step = pd.Timedelta(freq).total_seconds()
    alpha = (1 - confidence) / 2
    rows = []
    for label in [lab for lab in gb if lab in gc]:
        b, c = gb[label], gc[label]
        tb, tc = len(b) * step, len(c) * step
        sb, sc = _stats(b, tb), _stats(c, tc)
        windows = len(b) >= 8 and len(c) >= 8
        if not windows:
            b = list(np.concatenate(b)[:, None, :]) if b else b
            c = list(np.concatenate(c)[:, None, :]) if c else c
        boot = np.empty((n_boot, 5))
        for i in range(n_boot):
            rb = [b[j] for j in rng.integers(0, len(b), len(b))]
            rc = [c[j] for j in rng.integers(0, len(c), len(c))]
            xb = _stats(rb, tb)
            xc = _stats(rc, tc)
            with np.errstate(divide="ignore", invalid="ignore"):
                boot[i] = (xc - xb) / np.where(xb == 0, np.nan, xb)
        lo, hi = np.full(5, np.nan), np.full(5, np.nan)
        for k in range(5):
            col = boot[:, k][np.isfinite(boot[:, k])]
            if col.size:
                lo[k], hi[k] = np.quantile(col, alpha), np.quantile(col, 1 - alpha)
        for k, name in enumerate(names):
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = (sc[k] - sb[k]) / sb[k] if sb[k] else np.nan
            worse_up = name != "throughput_per_s"
            low, high = (lo[k], hi[k]) if worse_up else (-hi[k], -lo[k])
            if not np.isfinite(low) or not np.isfinite(high):
                verdict = "no significant change"
            elif low > min_effect_ratio:
                verdict = "regression"
            elif high < -min_effect_ratio:
                verdict = "improvement"
            else:
                verdict = "no significant change"
            rows.append(
                {
                    "label": label,
                    "metric": name,
                    "baseline": sb[k],
                    "candidate": sc[k],
                    "diff": sc[k] - sb[k],
                    "diff_ratio": ratio,
                    "ci_low_ratio": lo[k],
                    "ci_high_ratio": hi[k],
                    "verdict": verdict,
                    "primary": name == metric,
                }
            )
    df = pd.DataFrame(rows)
    df.attrs["perfnb"] = {
        "bootstrap": "time windows" if len(gb.get("Total", [])) >= 8 else "requests",
        "confidence": confidence,
        "min_effect_ratio": min_effect_ratio,
    }
    return df
