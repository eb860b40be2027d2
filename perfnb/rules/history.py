"""History rules (``HI0xx``) over :class:`~perfnb.history.series.HistorySeries` (a measurement across runs).

HI001 history-regression: the newest runs sit after a step in the bad direction, beyond the noise band and
beyond ``history_regression_min_ratio``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from perfnb.findings import Finding, Rule, Severity, Thresholds, rule, threshold
from perfnb.history.series import HistorySeries, format_value

threshold(
    "history_regression_min_ratio",
    0.10,
    "Smallest relative change of a series' median, in the bad direction, that HI001 reports.",
    unit="ratio",
)
threshold(
    "history_max_pvalue",
    0.05,
    "Significance of a step in a history series (false alarms per series ≈ this).",
)
threshold(
    "history_min_runs",
    3,
    "Fewest runs on each side of a step; a step needs this many runs after it to be reported.",
    unit="count",
)


@rule(
    "HI001",
    "history-regression",
    applies_to=HistorySeries,
    severity=Severity.warning,
    thresholds=("history_regression_min_ratio", "history_max_pvalue", "history_min_runs"),
)
def history_regression(r: Rule, series: HistorySeries, th: Thresholds) -> Iterator[Finding]:
    """The newest runs are worse than the runs before a step, beyond the noise.

    Why: one run against one baseline cannot tell a slow night from a real change; a history can. The
    step is found by the calibrated change-point detector (:func:`perfnb.analysis.trends.change_points`,
    false alarms per series ≈ ``history_max_pvalue``), in the metric's bad direction (latency up,
    throughput, Apdex and hit ratios down). It is reported when it is the latest step, every run after it
    is counted (at least ``history_min_runs``), the newest run lies outside the baseline's noise band
    (median ± 3 robust standard deviations) and the medians differ by at least
    ``history_regression_min_ratio``.
    Fix: look at what changed in the run where the step began (its commit, its report), compare that
    report with one before the step. False positives: a deliberate change of load profile or test data
    recorded under the same system and environment tags (give it another ``--env``).
    """
    if not series.direction or len(series) < 2 * th["history_min_runs"]:
        return
    steps = series.steps(max_pvalue=th["history_max_pvalue"], min_runs=int(th["history_min_runs"]))
    if steps.empty:
        return
    last = steps.iloc[-1]
    if last["kind"] != "regression":
        return
    start = int(last["index"])
    prev = int(steps.iloc[-2]["index"]) if len(steps) > 1 else 0
    values = series.values
    before, after = float(np.median(values[prev:start])), float(np.median(values[start:]))
    if before == 0 or not math.isfinite(before):
        return
    worse = (after / before - 1) if series.direction == "up" else (1 - after / before)
    low, high = series.noise_band(prev, start)
    newest = float(values[-1])
    outside = newest > high if series.direction == "up" else newest < low
    if worse < th["history_regression_min_ratio"] or not outside:
        return
    where = " ".join(x for x in (series.system, series.env) if x) or "(no system tag)"
    yield r.finding(
        title=f"{where}: {series.describe_step(last)}; the {len(values) - start} newest run(s) stay there",
        severity=Severity.critical if worse >= 1.0 else None,
        location=f"{series.subject} {series.metric} [{where}]",
        evidence={
            "system": series.system,
            "env": series.env,
            "subject": series.subject,
            "metric": series.metric,
            "unit": series.unit,
            "median_before": before,
            "median_after": after,
            "change_ratio": after / before - 1,
            "step_run_id": int(last["run_id"]),
            "step_started_at": str(last["started_at"]),
            "step_commit": str(last["commit_id"] or ""),
            "step_report": str(last["report"] or ""),
            "runs_before": start - prev,
            "runs_after": len(values) - start,
            "noise_band_low": low,
            "noise_band_high": high,
            "newest_value": newest,
            "newest_value_text": format_value(newest, series.unit),
            "pvalue": float(last["pvalue"]),
        },
        recommendation=f"Open the report of run #{int(last['run_id'])}"
        + (f" ({last['report']})" if last["report"] else "")
        + (f" and the changes of commit {str(last['commit_id'])[:12]}" if last["commit_id"] else "")
        + "; compare it with a report from before the step to see what moved.",
    )
