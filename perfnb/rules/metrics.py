"""MT rules: findings on metric series (:class:`~perfnb.io.prometheus.Metrics`).

MT001 change points (regressions) in the derived signals, MT002–MT004 the standard's alert rules replayed
(p95 > 1 s for 5 min, error ratio > 5 % for 5 min, Apdex < 0.8 for 10 min), MT005/MT006 CPU and memory
saturation, MT007 load imbalance, MT008 SLO multi-window burn-rate alert.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from perfnb.analysis import slo
from perfnb.analysis.trends import change_points
from perfnb.findings import Finding, Rule, Severity, rule, threshold
from perfnb.io.prometheus import Metrics

threshold(
    "slo_target_ratio",
    0.999,
    "Availability SLO target used for error-budget burn rates.",
    unit="ratio",
)
threshold("change_max_pvalue", 0.01, "Significance level of change points (calibrated detector).")
threshold(
    "change_min_ratio",
    0.1,
    "Smallest relative level change reported as a regression.",
    unit="ratio",
)
threshold(
    "saturation_min_time_ratio",
    0.1,
    "Share of samples above a saturation level that is a finding.",
    unit="ratio",
)
threshold(
    "lb_share_max_factor",
    1.5,
    "An instance's traffic share over the fair share (1/n) that is a finding.",
)
threshold("lb_slow_factor", 1.5, "An instance's p95 over the peers' median p95 that is a finding.")

_DIRECTIONS = {
    "p95_latency_s": "up",
    "error_ratio": "up",
    "apdex": "down",
    "cpu_ratio": "up",
    "memory_ratio": "up",
}


def _signals(m: Metrics, th: Any) -> dict[str, pd.Series]:
    cache: dict[str, pd.Series] | None = getattr(m, "_signals_cache", None)
    if cache is None:
        cache = slo.signals(m, apdex_t_s=th["apdex_t_s"])
        object.__setattr__(m, "_signals_cache", cache)
    return cache


@rule(
    "MT001",
    "metric-regression-change-point",
    applies_to=Metrics,
    severity=Severity.warning,
    thresholds=("change_max_pvalue", "change_min_ratio"),
    direction="up",
)
def regression_change_point(r: Rule, m: Metrics, th: Any) -> Iterator[Finding]:
    """A significant, lasting shift for the worse in latency, errors, Apdex, CPU or memory.

    The calibrated change-point detector (rank CUSUM, false alarms controlled at ``change_max_pvalue``
    per series) runs on each derived signal; a regression is a change in the bad direction of at least
    ``change_min_ratio``. Fix: look at what was deployed or changed at that time; correlate with the resource
    series. False positives: planned load changes, daily cycles in long records.
    """
    for name, s in _signals(m, th).items():
        direction = m.directions.get(name, _DIRECTIONS.get(name, ""))
        if not direction or s.dropna().size < 20:
            continue
        cps = change_points(
            s.dropna(),
            direction=direction,  # type: ignore[arg-type]
            max_pvalue=th["change_max_pvalue"],
            min_magnitude=th["change_min_ratio"],
        )
        for row in cps[cps["kind"] == "regression"].itertuples():
            yield r.finding(
                title=f"{name} shifted from {row.median_before:.3g} to {row.median_after:.3g} "
                f"({row.change_ratio:+.0%}) at {pd.Timestamp(str(row.timestamp)):%Y-%m-%d %H:%M:%S} UTC",
                location=name,
                evidence={
                    "timestamp": str(row.timestamp),
                    "median_before": row.median_before,
                    "median_after": row.median_after,
                    "change_ratio": row.change_ratio,
                    "pvalue": row.pvalue,
                },
                recommendation="Find what changed at that time (deploy, config, traffic) and compare the "
                "resource series around it.",
                severity=Severity.critical if abs(float(row.change_ratio)) >= 1 else None,  # type: ignore[arg-type]
            )


def _alert_rule(code: str, idx: int) -> Any:
    def check_alert(r: Rule, m: Metrics, th: Any) -> Iterator[Finding]:
        ar = slo.default_rules(th)[idx]
        fired = slo.replay_alerts(_signals(m, th), [ar])
        for row in fired.itertuples():
            yield r.finding(
                title=f"{ar.name} would have fired at {row.fired_at} ({ar.signal} {ar.op} {ar.threshold:g} "
                f"for {ar.for_}; peak {row.peak:.4g})",
                location=ar.signal,
                evidence={
                    "pending_at": str(row.pending_at),
                    "fired_at": str(row.fired_at),
                    "resolved_at": str(row.resolved_at),
                    "peak": row.peak,
                },
                recommendation="Treat as an incident window: check the change points and saturation findings.",
            )

    check_alert.__doc__ = f"{code}: replay of the standard's alert rule #{idx + 1}."
    return check_alert


_p95 = _alert_rule("MT002", 0)
_p95.__doc__ = """p95 latency above ``p95_max_s`` (1 s) for 5 minutes: the standard's latency alert, replayed.

Computed from latency histogram buckets (increase over 1 min). False positives: low traffic (few samples)."""
rule(
    "MT002",
    "p95-alert-replay",
    applies_to=Metrics,
    severity=Severity.critical,
    thresholds=("p95_max_s",),
    direction="up",
)(_p95)
_err = _alert_rule("MT003", 1)
_err.__doc__ = """Error ratio above ``error_ratio_max`` (5 %) for 5 minutes, replayed from request counters.

Errors are 5xx codes (``code``/``status`` label). False positives: client errors counted as 5xx by proxies."""
rule(
    "MT003",
    "error-rate-alert-replay",
    applies_to=Metrics,
    severity=Severity.critical,
    thresholds=("error_ratio_max",),
    direction="up",
)(_err)
_apd = _alert_rule("MT004", 2)
_apd.__doc__ = """Apdex below ``apdex_min`` (0.8) for 10 minutes, from histogram buckets (T = ``apdex_t_s``).

Exact when T and 4T are bucket bounds, interpolated otherwise."""
rule(
    "MT004",
    "apdex-alert-replay",
    applies_to=Metrics,
    severity=Severity.warning,
    thresholds=("apdex_min", "apdex_t_s"),
    direction="down",
)(_apd)


@rule(
    "MT005",
    "cpu-saturation",
    applies_to=Metrics,
    severity=Severity.warning,
    thresholds=("cpu_warning_ratio", "cpu_critical_ratio", "saturation_min_time_ratio"),
    direction="up",
)
def cpu_saturation(r: Rule, m: Metrics, th: Any) -> Iterator[Finding]:
    """CPU utilisation above 70 % (warning) / 85 % (critical) for a noticeable share of the record.

    Fix: scale out, profile the hot path. False positives: batch jobs that are meant to use the CPU.
    """
    yield from _saturation(r, m, th, "cpu_ratio", th["cpu_warning_ratio"], th["cpu_critical_ratio"])


@rule(
    "MT006",
    "memory-saturation",
    applies_to=Metrics,
    severity=Severity.warning,
    thresholds=("memory_max_ratio", "saturation_min_time_ratio"),
    direction="up",
)
def memory_saturation(r: Rule, m: Metrics, th: Any) -> Iterator[Finding]:
    """Memory utilisation above 80 % for a noticeable share of the record.

    Fix: look for leaks (steady growth) or raise limits. False positives: caches that fill memory on purpose.
    """
    yield from _saturation(r, m, th, "memory_ratio", th["memory_max_ratio"], None)


def _saturation(
    r: Rule, m: Metrics, th: Any, name: str, warn: float, crit: float | None
) -> Iterator[Finding]:
    s = _signals(m, th).get(name)
    if s is None or s.dropna().empty:
        return
    tab = slo.saturation(
        {name: s}, warning_ratio=warn, critical_ratio=crit if crit is not None else 2.0
    )
    row = tab.iloc[0]
    min_share = th["saturation_min_time_ratio"]
    if crit is not None and row["above_critical_ratio"] >= min_share:
        sev = Severity.critical
    elif row["above_warning_ratio"] >= min_share:
        sev = Severity.warning
    else:
        return
    yield r.finding(
        title=f"{name} above {crit if sev == Severity.critical else warn:.0%} for "
        f"{(row['above_critical_ratio'] if sev == Severity.critical else row['above_warning_ratio']):.0%} "
        f"of the record (max {row['max_ratio']:.0%})",
        location=name,
        severity=sev,
        evidence={
            k: float(row[k])
            for k in (
                "mean_ratio",
                "p95_ratio",
                "max_ratio",
                "above_warning_ratio",
                "above_critical_ratio",
            )
        },
        recommendation="Add capacity or reduce the work per request; check whether latency follows it.",
    )


@rule(
    "MT007",
    "load-imbalance",
    applies_to=Metrics,
    severity=Severity.warning,
    thresholds=("lb_share_max_factor", "lb_slow_factor"),
    direction="up",
)
def load_imbalance(r: Rule, m: Metrics, th: Any) -> Iterator[Finding]:
    """One instance/backend takes a disproportionate share of traffic, or is slower than its peers.

    The share is compared with ``lb_share_max_factor`` × 1/n; the p95 latency over the whole record with
    ``lb_slow_factor`` × the median p95 of the *other* instances (leave-one-out, so two backends can differ).

    Fix: check the balancer's weights, session affinity, health checks; look at the slow instance's resources.
    False positives: deliberate canaries, instances of different sizes.
    """
    sig = _signals(m, th)
    groups: dict[str, dict[str, float]] = {}
    lat: dict[str, dict[str, float]] = {}
    for key, s in sig.items():
        v = s.dropna()
        if key.startswith("requests_by_"):
            lab, _, inst = key[len("requests_by_") :].partition(":")
            groups.setdefault(lab, {})[inst] = float(v.iloc[-1] - v.iloc[0]) if len(v) else 0.0
        elif key.startswith("p95_run_by_") and len(v):
            # the p95 over the whole record: the same window for every instance
            lab, _, inst = key[len("p95_run_by_") :].partition(":")
            lat.setdefault(lab, {})[inst] = float(v.iloc[-1])
    for lab, reqs in groups.items():
        tab = slo.load_balance(reqs, p95_s=lat.get(lab))
        for row in tab[tab["p95_vs_median"] > th["lb_slow_factor"]].itertuples():
            yield r.finding(
                title=f"{lab} {row.instance} is slower than its peers: p95 {row.p95_s:.3g} s "
                f"({row.p95_vs_median:.2f}× the median of its peers)",
                location=f"{lab}={row.instance}",
                evidence={
                    "p95_s": row.p95_s,
                    "p95_vs_median": row.p95_vs_median,
                    "share_ratio": row.share_ratio,
                },
                recommendation="Compare the slow instance's CPU, memory and GC with its peers; drain it if faulty.",
            )
        for row in tab[tab["share_vs_fair"] > th["lb_share_max_factor"]].itertuples():
            yield r.finding(
                title=f"{lab} {row.instance} served {row.share_ratio:.0%} of requests "
                f"({row.share_vs_fair:.2f}× its fair share)",
                location=f"{lab}={row.instance}",
                evidence={
                    "share_ratio": row.share_ratio,
                    "share_vs_fair": row.share_vs_fair,
                    "instances": len(tab),
                },
                recommendation="Check balancer weights, affinity and the health of the other instances.",
            )


@rule(
    "MT008",
    "slo-burn-rate-alert",
    applies_to=Metrics,
    severity=Severity.critical,
    thresholds=("slo_target_ratio",),
    direction="up",
)
def slo_burn(r: Rule, m: Metrics, th: Any) -> Iterator[Finding]:
    """A multi-window multi-burn-rate condition of the SRE workbook held for the ``slo_target_ratio`` SLO.

    Page: 14.4× over 1 h and 5 min, 6× over 6 h and 30 min; ticket: 3× over 1 d and 2 h, 1× over 3 d and 6 h.

    Fix: the error budget is burning fast; stop risky changes. False positives: records shorter than the long
    window (the window then covers only what was recorded).
    """
    sig = _signals(m, th)
    if "requests_total" not in sig:
        return
    alerts = slo.multiwindow_alerts(
        sig["requests_total"], sig["errors_total"], th["slo_target_ratio"]
    )
    for row in alerts.drop_duplicates("severity").itertuples():
        yield r.finding(
            title=f"{row.severity}: burn rate above {row.burn_rate:g}× over {row.long_window} and "
            f"{row.short_window} from {pd.Timestamp(str(row.start)):%Y-%m-%d %H:%M:%S} UTC "
            f"(max {row.max_burn:.1f}×)",
            location="error budget",
            severity=Severity.critical if row.severity == "page" else Severity.warning,
            evidence={
                "start": str(row.start),
                "end": str(row.end),
                "max_burn": row.max_burn,
                "slo_target_ratio": th["slo_target_ratio"],
            },
            recommendation="Find the cause of the errors (see MT001/MT003); freeze risky deploys until the budget "
            "recovers.",
        )
