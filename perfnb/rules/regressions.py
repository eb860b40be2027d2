"""Regressions against a baseline: LT020 ``loadtest-regression``, PG040 ``plan-regression``.

These rules apply to comparison results (:class:`~perfnb.analysis.compare.LoadTestDiff`,
:class:`~perfnb.analysis.compare.PlanDiff`), so ``perfnb.check(perfnb.compare_loadtests(base, cand))``
— and every notebook that is given a baseline — turns a regression into a finding that ``--fail-on
warning`` makes exit code 1. Profiles have their own: PR006 ``profile-regression`` in
:mod:`perfnb.rules.profiles`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from perfnb.analysis.compare import LoadTestDiff, PlanDiff
from perfnb.findings import Finding, Severity, rule, threshold

threshold(
    "loadtest_regression_min_ratio",
    0.05,
    "Relative growth of a label's compared percentile (p95 by default) that is reported as a regression "
    "(the comparison's own verdict must say regression too: a bootstrap interval above the effect, or "
    "10 % without one).",
    unit="ratio",
)
threshold(
    "plan_regression_min_ratio",
    0.2,
    "Relative growth of a plan's execution time, against the baseline plan, that is a regression.",
    unit="ratio",
)


@rule(
    "LT020",
    "loadtest-regression",
    applies_to=LoadTestDiff,
    severity=Severity.warning,
    thresholds=("loadtest_regression_min_ratio",),
    direction="up",
)
def loadtest_regression(r: Any, diff: LoadTestDiff, th: Any) -> Iterator[Finding]:
    """A label got slower (or failed more often) than in the baseline run.

    One finding per label and metric whose comparison verdict is ``regression``: the compared percentile
    (p95 unless ``compare_loadtests(metric=…)``) grew by at least ``loadtest_regression_min_ratio``, or
    the error ratio rose by more than a percentage point. With per-request data on both sides the
    verdict rests on a bootstrap confidence interval; with the tools' aggregates only (Locust's stats
    CSV) on a 10 % effect and a minimum request count — the evidence's ``method`` says which.

    Fix: look at what changed between the runs (release, configuration, data volume, load profile).
    False positives: runs with different load (users, duration) — compare like with like.
    """
    for row in diff.regressions().to_dict("records"):
        is_err = row["metric"] == "error_ratio"
        if not is_err and not (
            math.isfinite(row["diff_ratio"])
            and row["diff_ratio"] >= th["loadtest_regression_min_ratio"]
        ):
            continue
        name = "error ratio" if is_err else str(row["metric"]).removesuffix("_s")
        if is_err:
            change = f"{row['baseline']:.1%} → {row['candidate']:.1%}"
        else:
            change = f"{row['diff_ratio']:+.0%} ({row['baseline'] * 1000:.1f} ms → {row['candidate'] * 1000:.1f} ms)"
        evidence: dict[str, Any] = {
            "metric": str(row["metric"]),
            "baseline": row["baseline"],
            "candidate": row["candidate"],
            "diff_ratio": row["diff_ratio"],
            "requests_baseline": int(row["requests_baseline"]),
            "requests_candidate": int(row["requests_candidate"]),
            "baseline_run": diff.baseline_run,
            "method": diff.method,
        }
        if diff.has_interval:
            lo, hi = (
                ("ci_low_diff", "ci_high_diff") if is_err else ("ci_low_ratio", "ci_high_ratio")
            )
            evidence[lo] = row[lo]
            evidence[hi] = row[hi]
        yield r.finding(
            title=f"{row['label']}: {name} {change} against baseline {diff.baseline_run!r}",
            location=str(row["label"]),
            evidence=evidence,
            recommendation="Find what changed since the baseline run for this endpoint (code, queries, "
            "configuration, data volume); profile it under the same load.",
            run=diff.candidate_run,
        )


@rule(
    "PG040",
    "plan-regression",
    applies_to=PlanDiff,
    severity=Severity.warning,
    thresholds=("plan_regression_min_ratio",),
    direction="up",
)
def plan_regression(r: Any, diff: PlanDiff, th: Any) -> Iterator[Finding]:
    """A query's plan runs slower than the baseline plan of the same query.

    Fires when the execution time grew by at least ``plan_regression_min_ratio`` and by more than the
    comparison's ``min_delta_s`` (1 ms); names the nodes whose self time grew most. A single execution
    per side has no spread: confirm with a few runs before acting on a small regression.

    Fix: compare the two trees (a new Seq Scan, a lost index, a different join order); ANALYZE the
    tables whose estimates moved. False positives: a cold cache in the candidate run.
    """
    ea, eb = diff.baseline.execution_time_s, diff.candidate.execution_time_s
    if diff.verdict != "regression" or not ea or eb < ea * (1 + th["plan_regression_min_ratio"]):
        return
    culprits = diff.culprits(3)
    where = str(culprits.iloc[0]["key"]).split(" > ")[-1] if len(culprits) else "(plan)"
    yield r.finding(
        title=f"plan {eb / ea:.1f}× slower than baseline {diff.baseline_run!r} "
        f"({ea * 1000:.1f} ms → {eb * 1000:.1f} ms); most added self time in {where}",
        location=f"{diff.candidate_run}: {where}",
        evidence={
            "execution_before_s": ea,
            "execution_after_s": eb,
            "nodes_changed": int((diff.table["change"] != "same").sum()),
            "top_nodes": [str(k).split(" > ")[-1] for k in culprits["key"]],
        },
        recommendation="Compare the two plan trees node by node (perfnb.compare_plans(...).table); "
        "look for a lost index or a changed join order.",
        run=diff.candidate_run,
    )
