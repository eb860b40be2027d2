"""SLOs and alerting on metric series: error budget, burn rates, Apdex, alert replay, saturation, balance.

Multi-window multi-burn-rate alerts follow the SRE workbook; Apdex comes from histogram buckets; saturation is
the USE method's; load balancing compares instances.

Inputs are pandas Series indexed by UTC timestamps (counters or gauges) or METRIC_SAMPLES frames; outputs are
frames. :func:`signals` derives the standard signals (p95 latency, error ratio, Apdex, CPU, memory, per-instance
traffic) from a :class:`~perfnb.io.prometheus.Metrics` by naming conventions, for the MT rules and notebooks.

Burn rates are computed from counter increases (``Δbad / Δtotal`` over the window, resets handled), not from
means of per-step ratios (SRE workbook, "Alerting on SLOs"). On a record shorter than a window, the window
holds what exists (as ``rate(x[1h])`` would).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomllib

from perfnb.analysis.promql import (
    bucket_quantile,
    counter_increase,
    histogram_fraction_le,
    parse_le,
)
from perfnb.errors import InputError

__all__ = [
    "SRE_POLICY",
    "AlertRule",
    "apdex_from_buckets",
    "bucket_increases",
    "burn_rates",
    "correlate_around",
    "default_rules",
    "error_budget",
    "load_balance",
    "load_rules",
    "multiwindow_alerts",
    "replay_alerts",
    "saturation",
    "signals",
    "window_increase",
]


@dataclass(frozen=True)
class BurnWindow:
    """One row of the multi-window multi-burn-rate table."""

    severity: str
    long: str
    short: str
    burn_rate: float
    budget_consumed_ratio: float


#: The SRE workbook's recommended multiwindow, multi-burn-rate policy for a 30-day SLO period.
SRE_POLICY: tuple[BurnWindow, ...] = (
    BurnWindow("page", "1h", "5min", 14.4, 0.02),
    BurnWindow("page", "6h", "30min", 6.0, 0.05),
    BurnWindow("ticket", "1D", "2h", 3.0, 0.10),
    BurnWindow("ticket", "3D", "6h", 1.0, 0.10),
)


def _series(s: pd.Series, name: str) -> pd.Series:
    if not isinstance(s.index, pd.DatetimeIndex):
        raise InputError(
            f"{name} must be indexed by timestamps", expected="a Series with a DatetimeIndex"
        )
    return s.sort_index().astype("float64")


def window_increase(counter: pd.Series, window: str) -> pd.Series:
    """Increase of a counter over a trailing time window (resets handled), at every sample time."""
    c = _series(counter, "counter")
    inc = pd.Series(counter_increase(c.to_numpy()), index=c.index)
    return inc.rolling(window, min_periods=1).sum()


def error_budget(total: pd.Series, bad: pd.Series, slo_target: float) -> dict[str, float]:
    """Error budget over the whole record from two counters (all events, bad events).

    >>> idx = pd.date_range("2024-01-01", periods=3, freq="min", tz="UTC")
    >>> b = error_budget(pd.Series([0, 1000, 2000.0], idx), pd.Series([0, 1, 3.0], idx), 0.999)
    >>> round(b["budget_consumed_ratio"], 6)
    1.5
    """
    t = float(counter_increase(_series(total, "total").to_numpy()).sum())
    b = float(counter_increase(_series(bad, "bad").to_numpy()).sum())
    budget = 1.0 - slo_target
    ratio = b / t if t else math.nan
    consumed = ratio / budget if budget > 0 else math.inf
    return {
        "events": t,
        "bad_events": b,
        "error_ratio": ratio,
        "error_budget_ratio": budget,
        "budget_consumed_ratio": consumed,
        "budget_remaining_ratio": 1.0 - consumed,
    }


def burn_rates(
    total: pd.Series, bad: pd.Series, slo_target: float, *, windows: Iterable[str] | None = None
) -> pd.DataFrame:
    """Burn rate (error ratio / error budget) over each trailing window, at every sample time.

    Columns are named ``burn_<window>`` (``burn_1h``, ``burn_5min`` …); windows default to those of
    :data:`SRE_POLICY`.
    """
    if not 0 < slo_target < 1:
        raise InputError(
            "slo_target must be between 0 and 1", found=slo_target, expected="e.g. 0.999"
        )
    t, b = (
        _series(total, "total"),
        _series(bad, "bad").reindex(_series(total, "total").index).ffill().fillna(0),
    )
    wins = list(dict.fromkeys(windows or [w for p in SRE_POLICY for w in (p.long, p.short)]))
    out = {}
    for w in wins:
        dt, db = window_increase(t, w), window_increase(b, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"burn_{w}"] = (db / dt.where(dt > 0)) / (1 - slo_target)
    return pd.DataFrame(out, index=t.index)


def _intervals(mask: pd.Series) -> list[tuple[pd.Timestamp, pd.Timestamp | None]]:
    m = mask.fillna(False).astype(bool).to_numpy()
    idx = mask.index
    out: list[tuple[pd.Timestamp, pd.Timestamp | None]] = []
    start = None
    for i, v in enumerate(m):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((idx[start], idx[i]))
            start = None
    if start is not None:
        out.append((idx[start], None))
    return out


def multiwindow_alerts(
    total: pd.Series,
    bad: pd.Series,
    slo_target: float,
    *,
    policy: Sequence[BurnWindow] = SRE_POLICY,
    min_events: float = 0.0,
) -> pd.DataFrame:
    """When each multiwindow burn-rate condition (long AND short window above the rate) held.

    Returns one row per firing interval: ``severity``, ``long_window``, ``short_window``, ``burn_rate``,
    ``start``, ``end`` (NaT if still firing at the end), ``max_burn``. ``min_events`` is a low-traffic guard:
    the short window must hold at least that many events.
    """
    br = burn_rates(total, bad, slo_target, windows=[w for p in policy for w in (p.long, p.short)])
    rows = []
    for p in policy:
        cond = (br[f"burn_{p.long}"] > p.burn_rate) & (br[f"burn_{p.short}"] > p.burn_rate)
        if min_events:
            cond &= window_increase(total, p.short) >= min_events
        for start, end in _intervals(cond):
            seg = br.loc[start:end, f"burn_{p.short}"]
            rows.append(
                {
                    "severity": p.severity,
                    "long_window": p.long,
                    "short_window": p.short,
                    "burn_rate": p.burn_rate,
                    "start": start,
                    "end": end if end is not None else pd.NaT,
                    "max_burn": float(seg.max()),
                }
            )
    cols = ["severity", "long_window", "short_window", "burn_rate", "start", "end", "max_burn"]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------------------------ Apdex


def apdex_from_buckets(buckets: pd.DataFrame, *, t_s: float = 0.5) -> pd.Series:
    """Apdex_T per timestamp from per-interval bucket counts (``le`` label, cumulative, e.g. rates/increases).

    ``(satisfied + tolerating/2) / total`` with satisfied ≤ T and tolerating ≤ 4T. Exact when T and 4T are
    bucket bounds (Prometheus' documented approximation); interpolated linearly inside buckets otherwise
    (``attrs["approximate"]`` is then True).
    """
    les = buckets["le"].astype(str).map(parse_le)
    work = pd.DataFrame(
        {
            "timestamp": buckets["timestamp"].to_numpy(),
            "le": les.to_numpy(),
            "v": buckets["value"].to_numpy(dtype="float64"),
        }
    )
    agg = work.groupby(["timestamp", "le"], sort=True)["v"].sum()
    out = {}
    for ts, g in agg.groupby(level=0):
        u = g.index.get_level_values(1).to_list()
        c = g.to_list()
        sat = histogram_fraction_le(t_s, u, c)
        tol = histogram_fraction_le(4 * t_s, u, c)
        out[ts] = (sat + (tol - sat) / 2) if not math.isnan(sat) else math.nan
    s = pd.Series(out, dtype="float64", name="apdex")
    bounds = set(work["le"].unique())
    s.attrs["approximate"] = not (t_s in bounds and 4 * t_s in bounds)
    return s


# ------------------------------------------------------------------------------------------------ alert replay


@dataclass(frozen=True)
class AlertRule:
    """``signal op threshold for duration``: e.g. ``AlertRule("HighP95", "p95_latency_s", ">", 1.0, "5min")``."""

    name: str
    signal: str
    op: str
    threshold: float
    for_: str = "0s"
    severity: str = "warning"

    def holds(self, s: pd.Series) -> pd.Series:
        """Where the condition holds (NaN → False)."""
        ops = {">": s.gt, ">=": s.ge, "<": s.lt, "<=": s.le}
        if self.op not in ops:
            raise InputError(
                f"alert rule {self.name}: unknown operator {self.op!r}", expected="> >= < <="
            )
        return ops[self.op](self.threshold) & s.notna()


def default_rules(thresholds: Mapping[str, float] | None = None) -> list[AlertRule]:
    """The standard's rules: p95 > 1 s for 5 min, error rate > 5 % for 5 min, Apdex < 0.8 for 10 min."""
    th = dict(thresholds or {})
    return [
        AlertRule(
            "HighLatencyP95", "p95_latency_s", ">", th.get("p95_max_s", 1.0), "5min", "critical"
        ),
        AlertRule(
            "HighErrorRate", "error_ratio", ">", th.get("error_ratio_max", 0.05), "5min", "critical"
        ),
        AlertRule("LowApdex", "apdex", "<", th.get("apdex_min", 0.8), "10min", "warning"),
    ]


def load_rules(path: str | Path) -> list[AlertRule]:
    """User alert rules from TOML (``[[rule]]`` tables) or JSON (a list): name, signal, op, threshold, for."""
    p = Path(path)
    try:
        raw = p.read_text()
        doc: Any = tomllib.loads(raw) if p.suffix == ".toml" else json.loads(raw)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"cannot read alert rules: {err}", path=p) from err
    items = doc.get("rule", doc.get("rules", [])) if isinstance(doc, dict) else doc
    rules = []
    for i, r in enumerate(items or []):
        try:
            rules.append(
                AlertRule(
                    str(r["name"]),
                    str(r["signal"]),
                    str(r["op"]),
                    float(r["threshold"]),
                    str(r.get("for", "0s")),
                    str(r.get("severity", "warning")),
                )
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(
                f"alert rule {i}: {err}",
                path=p,
                key=f"rule[{i}]",
                expected="name, signal, op, threshold[, for, severity]",
            ) from err
    return rules


def replay_alerts(signals_: Mapping[str, pd.Series], rules: Iterable[AlertRule]) -> pd.DataFrame:
    """Replay alert rules over recorded signals: when each would have gone pending, fired and resolved.

    Prometheus semantics: a rule is pending while its condition holds and fires once it has held for ``for``;
    it resolves at the first sample where the condition no longer holds. Missing samples count as "not holding".
    """
    rows = []
    for rule in rules:
        s = signals_.get(rule.signal)
        if s is None or s.empty:
            continue
        s = s.sort_index()
        need = pd.Timedelta(rule.for_)
        for start, end in _intervals(rule.holds(s)):
            last = s.index[-1] if end is None else end
            held_until = last if end is not None else s.index[-1]
            if held_until - start < need:
                continue
            fired = start + need
            seg = s.loc[start:held_until]
            rows.append(
                {
                    "rule": rule.name,
                    "signal": rule.signal,
                    "severity": rule.severity,
                    "pending_at": start,
                    "fired_at": fired,
                    "resolved_at": end if end is not None else pd.NaT,
                    "peak": float(seg.max() if rule.op in (">", ">=") else seg.min()),
                }
            )
    cols = ["rule", "signal", "severity", "pending_at", "fired_at", "resolved_at", "peak"]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------------------------ USE, balance


def saturation(
    resources: Mapping[str, pd.Series], *, warning_ratio: float = 0.7, critical_ratio: float = 0.85
) -> pd.DataFrame:
    """Per resource (ratios 0–1): mean, p95, max and the share of samples above the warning/critical levels."""
    rows = []
    for name, s in resources.items():
        v = s.dropna().to_numpy(dtype="float64")
        if v.size == 0:
            continue
        rows.append(
            {
                "resource": name,
                "mean_ratio": float(v.mean()),
                "p95_ratio": float(np.percentile(v, 95)),
                "max_ratio": float(v.max()),
                "above_warning_ratio": float((v > warning_ratio).mean()),
                "above_critical_ratio": float((v > critical_ratio).mean()),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "resource",
            "mean_ratio",
            "p95_ratio",
            "max_ratio",
            "above_warning_ratio",
            "above_critical_ratio",
        ],
    )


def correlate_around(
    target: pd.Series, others: Mapping[str, pd.Series], at: pd.Timestamp, window: str = "10min"
) -> pd.DataFrame:
    """Correlation of *target* (e.g. latency) with resource series within ±window of a change point."""
    w = pd.Timedelta(window)
    t = target.loc[at - w : at + w]
    rows = []
    for name, s in others.items():
        j = (
            pd.concat([t.rename("t"), s.rename("o")], axis=1).dropna()
            if not t.empty
            else pd.DataFrame()
        )
        if len(j) < 3:
            continue
        before, after = j.loc[:at, "o"], j.loc[at:, "o"]
        rows.append(
            {
                "resource": name,
                "pearson_r": float(j["t"].corr(j["o"])),
                "mean_before": float(before.mean()) if len(before) else math.nan,
                "mean_after": float(after.mean()) if len(after) else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=["resource", "pearson_r", "mean_before", "mean_after"])


def load_balance(
    requests: Mapping[str, float],
    *,
    p95_s: Mapping[str, float] | None = None,
    error_ratio: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Per-instance traffic share vs the fair share, latency relative to its peers' median, error ratio.

    ``p95_vs_median`` compares an instance with the median p95 of the *other* instances (leave-one-out):
    a median that includes the instance itself hides the difference between two backends (b/((a+b)/2) < 2).

    >>> load_balance({"a": 70, "b": 30})["share_vs_fair"].round(2).tolist()
    [1.4, 0.6]
    >>> load_balance({"a": 1, "b": 1}, p95_s={"a": 0.2, "b": 0.5})["p95_vs_median"].round(2).tolist()
    [0.4, 2.5]
    """
    total = float(sum(requests.values()))
    n = len(requests)
    lat = {k: v for k, v in (p95_s or {}).items() if not math.isnan(v)}
    rows = []
    for inst, cnt in requests.items():
        share = cnt / total if total else math.nan
        p = lat.get(inst, math.nan)
        peers = [v for k, v in lat.items() if k != inst]
        med = float(np.median(peers)) if peers else math.nan
        rows.append(
            {
                "instance": inst,
                "requests": cnt,
                "share_ratio": share,
                "share_vs_fair": share * n if n else math.nan,
                "p95_s": p,
                "p95_vs_median": p / med if med and not math.isnan(p) else math.nan,
                "error_ratio": (error_ratio or {}).get(inst, math.nan),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "instance",
            "requests",
            "share_ratio",
            "share_vs_fair",
            "p95_s",
            "p95_vs_median",
            "error_ratio",
        ],
    )


# ------------------------------------------------------------------------------------------------ signals

_ERR_CODE = re.compile(r"^(5\d\d|error|fail.*|false)$", re.IGNORECASE)


def bucket_increases(df: pd.DataFrame, window: str, by: str | None = None) -> pd.DataFrame:
    """Bucket counters → increases over a trailing window, summed by (timestamp, le[, by])."""
    keys = [
        c
        for c in df.columns
        if c not in ("timestamp", "value", "source", "run", "lower", "upper", "boundary_rule")
        and df[c].notna().any()
    ]
    parts = []
    for _, g in df.groupby(keys, observed=True, dropna=False):
        s = g.set_index("timestamp")["value"].sort_index()
        inc = window_increase(s, window)
        part = pd.DataFrame(
            {"timestamp": inc.index, "value": inc.to_numpy(), "le": g["le"].iloc[0]}
        )
        if by:
            part[by] = g[by].iloc[0]
        parts.append(part)
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["timestamp", "value", "le"])
    )


def _quantile_series(b: pd.DataFrame, q: float) -> pd.Series:
    les = b["le"].astype(str).map(parse_le)
    w = pd.DataFrame({"timestamp": b["timestamp"], "le": les, "v": b["value"].astype("float64")})
    agg = w.groupby(["timestamp", "le"], sort=True)["v"].sum()
    out = {
        ts: bucket_quantile(q, g.index.get_level_values(1).to_list(), g.to_list())
        for ts, g in agg.groupby(level=0)
    }
    return pd.Series(out, dtype="float64")


def signals(
    metrics: Any, *, window: str | None = None, apdex_t_s: float = 0.5
) -> dict[str, pd.Series]:
    """Derive standard signals from a :class:`~perfnb.io.prometheus.Metrics` by naming conventions.

    * ``p95_latency_s`` and ``apdex`` from ``*_seconds_bucket`` counters (increase over *window*), or from
      unnamed bucket rows with an ``le`` label (already rates);
    * ``error_ratio`` from ``*_requests_total``/``*_total`` counters with a ``code``/``status`` label;
    * ``cpu_ratio`` / ``memory_ratio`` from gauges whose names contain ``cpu``/``mem`` and end in ``_ratio``;
    * ``requests_by_<label>`` counters per ``instance``/``backend`` (used by the load-balance rule);
    * ``p95_by_<label>:<instance>`` (over *window*) and ``p95_run_by_<label>:<instance>`` (one point: the p95
      over the whole record) from bucket counters with such a label.
    """
    df = metrics.frame
    window = str(window or getattr(metrics, "window", "1min"))
    out: dict[str, pd.Series] = {}
    names = df["metric"].astype(str)
    has_le = df["le"].notna() if "le" in df.columns else pd.Series(False, index=df.index)
    bucket_counters = df[names.str.endswith("_seconds_bucket") & has_le]
    if not bucket_counters.empty:
        b = bucket_increases(bucket_counters, window, None)
        out["p95_latency_s"] = _quantile_series(b, 0.95)
        out["apdex"] = apdex_from_buckets(b, t_s=apdex_t_s)
        for lab in ("instance", "backend", "upstream"):
            if lab in bucket_counters.columns and bucket_counters[lab].nunique() > 1:
                bl = bucket_increases(bucket_counters, window, lab)
                for inst, g in bl.groupby(lab, observed=True):
                    out[f"p95_by_{lab}:{inst}"] = _quantile_series(g, 0.95)
                # the p95 of each instance over the whole record (same window for all instances)
                ts = bucket_counters["timestamp"]
                span = f"{math.ceil((ts.max() - ts.min()).total_seconds()) + 1}s"
                whole = bucket_increases(bucket_counters, span, lab)
                whole = whole[whole["timestamp"] == whole["timestamp"].max()]
                for inst, g in whole.groupby(lab, observed=True):
                    out[f"p95_run_by_{lab}:{inst}"] = _quantile_series(g, 0.95)
    elif (has_le & (names == "")).any():
        b = df[has_le & (names == "")][["timestamp", "value", "le"]]
        out["p95_latency_s"] = _quantile_series(b, 0.95)
        out["apdex"] = apdex_from_buckets(b, t_s=apdex_t_s)
    code_col = next((c for c in ("code", "status", "status_code") if c in df.columns), None)
    req = df[names.str.endswith("_total") & df[code_col].notna()] if code_col else df.iloc[0:0]
    if not req.empty:
        req = req.assign(_bad=req[code_col].astype(str).str.match(_ERR_CODE))
        tot = _sum_counters(req, window)
        bad = _sum_counters(req[req["_bad"]], window).reindex(tot.index).fillna(0.0)
        out["error_ratio"] = (bad / tot.where(tot > 0)).rename("error_ratio")
        out["requests_total"] = _sum_raw(req)
        out["errors_total"] = (
            _sum_raw(req[req["_bad"]]).reindex(out["requests_total"].index).ffill().fillna(0.0)
        )
        for lab in ("instance", "backend", "upstream"):
            if lab in req.columns and req[lab].nunique() > 1:
                for inst, g in req.groupby(lab, observed=True):
                    out[f"requests_by_{lab}:{inst}"] = _sum_raw(g)
    for key, pat in (("cpu_ratio", "cpu"), ("memory_ratio", "mem")):
        g = df[names.str.contains(pat) & names.str.endswith("_ratio")]
        if not g.empty:
            out[key] = g.groupby("timestamp")["value"].max().astype("float64")
    return out


def _sum_counters(df: pd.DataFrame, window: str) -> pd.Series:
    parts = []
    keys = [
        c
        for c in df.columns
        if c not in ("timestamp", "value", "source", "run", "_bad") and df[c].notna().any()
    ]
    for _, g in df.groupby(keys, observed=True, dropna=False):
        parts.append(window_increase(g.set_index("timestamp")["value"], window))
    if not parts:
        return pd.Series(dtype="float64")
    return pd.concat(parts, axis=1).ffill().sum(axis=1)


def _sum_raw(df: pd.DataFrame) -> pd.Series:
    """Sum of counters with resets removed (a monotonic total)."""
    parts = []
    keys = [
        c
        for c in df.columns
        if c not in ("timestamp", "value", "source", "run", "_bad") and df[c].notna().any()
    ]
    for _, g in df.groupby(keys, observed=True, dropna=False):
        s = g.set_index("timestamp")["value"].sort_index()
        parts.append(pd.Series(np.cumsum(counter_increase(s.to_numpy())), index=s.index))
    if not parts:
        return pd.Series(dtype="float64")
    return pd.concat(parts, axis=1).ffill().fillna(0.0).sum(axis=1)
