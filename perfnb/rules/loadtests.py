"""Load-test rules (LT0xx): latency objective, error ratio, Apdex, slow label, concentrated errors, knee.

And what the tool itself judged: script exceptions, k6 thresholds and checks, Gatling assertions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from perfnb.findings import Finding, Severity, rule, threshold
from perfnb.io.loadtest import LoadTest

threshold("slow_label_factor", 3.0, "A label whose p95 is this many times the median label's p95.")
threshold(
    "error_concentration_ratio", 0.8, "Share of all errors on one label or status.", unit="ratio"
)
threshold("knee_factor", 2.0, "p95 growth over the lowest user level that marks the knee.")


def _summary(lt: LoadTest, th: Any) -> Any:
    return lt.summary(apdex_t_s=th["apdex_t_s"])


@rule(
    "LT001",
    "p95-over-objective",
    applies_to=LoadTest,
    severity=Severity.critical,
    thresholds=("p95_max_s",),
    direction="up",
)
def p95_over_objective(r: Any, lt: LoadTest, th: Any) -> Iterator[Finding]:
    """The 95th percentile response time exceeds the objective (standard: p95 < 1 s).

    Fix: profile the slow endpoints, then cache, index or parallelise. False positives: warm-up included
    in the run (trim it), or an objective that does not fit this endpoint (override ``p95_max_s``).
    """
    s = _summary(lt, th)
    for row in s.itertuples(index=False):
        if np.isfinite(row.p95_s) and row.p95_s > th["p95_max_s"]:
            yield r.finding(
                title=f"p95 {row.p95_s:.3f} s over the {th['p95_max_s']:g} s objective",
                location=str(row.label),
                evidence={
                    "p95_s": row.p95_s,
                    "p95_max_s": th["p95_max_s"],
                    "requests": int(row.requests),
                },
                recommendation="Profile this endpoint under load; look at its slowest requests first.",
                run=lt.run,
            )


@rule(
    "LT002",
    "error-ratio",
    applies_to=LoadTest,
    severity=Severity.critical,
    thresholds=("error_ratio_max",),
    direction="up",
)
def error_ratio(r: Any, lt: LoadTest, th: Any) -> Iterator[Finding]:
    """More than 5 % of requests failed (overall or for a label).

    Fix: read the error breakdown (status codes, messages); 429/503 mean the system sheds load.
    False positives: expected failures (negative tests) — exclude those labels.
    """
    s = _summary(lt, th)
    for row in s.itertuples(index=False):
        if np.isfinite(row.error_ratio) and row.error_ratio > th["error_ratio_max"]:
            yield r.finding(
                title=f"{row.error_ratio:.1%} of requests failed"
                + ("" if str(row.label) == "Total" else f" on {row.label}"),
                location=str(row.label),
                evidence={
                    "error_ratio": row.error_ratio,
                    "failures": int(row.failures),
                    "requests": int(row.requests),
                },
                recommendation="Look at the error breakdown; fix the dominant status/message first.",
                run=lt.run,
            )


@rule(
    "LT003",
    "low-apdex",
    applies_to=LoadTest,
    thresholds=("apdex_min", "apdex_t_s"),
    direction="down",
)
def low_apdex(r: Any, lt: LoadTest, th: Any) -> Iterator[Finding]:
    """Apdex (T = ``apdex_t_s``, F = 4T, failures frustrated) is below 0.8 overall.

    Fix: reduce tail latency and errors. False positive: a T that does not suit the endpoint.
    """
    s = _summary(lt, th)
    tot = s[s["label"] == "Total"]
    if len(tot) and np.isfinite(tot["apdex"].iloc[0]) and tot["apdex"].iloc[0] < th["apdex_min"]:
        a = float(tot["apdex"].iloc[0])
        yield r.finding(
            title=f"Apdex {a:.2f} below {th['apdex_min']:g}",
            location="Total",
            evidence={"apdex": a, "apdex_t_s": th["apdex_t_s"]},
            recommendation="Users are frustrated: cut tail latency and errors on the busiest labels.",
            run=lt.run,
        )


@rule(
    "LT004",
    "slow-label",
    applies_to=LoadTest,
    severity=Severity.info,
    thresholds=("slow_label_factor",),
    direction="up",
)
def slow_label(r: Any, lt: LoadTest, th: Any) -> Iterator[Finding]:
    """One label's p95 is much higher (× ``slow_label_factor``) than the median label's p95.

    Fix: that endpoint is the first optimisation target. False positive: an endpoint that is slow by design.
    """
    s = _summary(lt, th)
    lab = s[s["label"] != "Total"]
    if len(lab) < 3:
        return
    med = float(lab["p95_s"].median())
    for row in lab.itertuples(index=False):
        if med > 0 and row.p95_s > th["slow_label_factor"] * med:
            yield r.finding(
                title=f"p95 {row.p95_s / med:.1f}× the median label",
                location=str(row.label),
                evidence={"p95_s": row.p95_s, "median_label_p95_s": med},
                recommendation="Optimise this endpoint first.",
                run=lt.run,
            )


@rule(
    "LT005",
    "concentrated-errors",
    applies_to=LoadTest,
    severity=Severity.info,
    thresholds=("error_concentration_ratio",),
)
def concentrated_errors(r: Any, lt: LoadTest, th: Any) -> Iterator[Finding]:
    """Most errors (≥ 80 %) come from one label or one status: a single cause to fix.

    False positive: a test with a single label.
    """
    e = lt.errors()
    total = float(e["count"].sum()) if len(e) else 0.0
    if total < 5:
        return
    for key in ("label", "status"):
        if key not in e or (e[key].nunique() < 2 and key == "label" and len(lt.labels) < 2):
            continue
        g = e.groupby(key, dropna=False)["count"].sum().sort_values(ascending=False)
        if (
            len(g)
            and g.iloc[0] / total >= th["error_concentration_ratio"]
            and (len(lt.labels) > 1 or key == "status")
        ):
            yield r.finding(
                title=f"{g.iloc[0] / total:.0%} of errors share one {key}",
                location=f"{key}={g.index[0]}",
                evidence={"errors": int(total), "share_ratio": float(g.iloc[0] / total)},
                recommendation="Fix this one cause first.",
                run=lt.run,
            )
            return


@rule(
    "LT006",
    "latency-knee",
    applies_to=LoadTest,
    thresholds=("knee_factor", "p95_max_s", "error_ratio_max"),
    direction="up",
)
def latency_knee(r: Any, lt: LoadTest, th: Any) -> Iterator[Finding]:
    """p95 climbs past ``knee_factor`` × its lowest-load value at some user level (the knee).

    Fix: capacity is reached there: scale out or remove the bottleneck; see the USL fit.
    False positive: runs without distinct user levels. The knee is taken among healthy levels only
    (below the breaking point, enough requests); the recommendation names only levels that were run.
    """
    from perfnb.analysis.capacity import capacity
    from perfnb.errors import PerfnbError

    try:
        c = capacity(
            lt,
            knee_factor=th["knee_factor"],
            p95_max_s=th["p95_max_s"],
            error_ratio_max=th["error_ratio_max"],
        )
    except PerfnbError:
        return
    if c.knee_users is not None and len(c.levels) >= 3:
        evidence: dict[str, Any] = {"knee_users": c.knee_users, "highest_users": c.highest_users}
        if np.isfinite(c.peak_users):  # only a peak within the levels run
            evidence["usl_peak_users"] = c.peak_users
            evidence["usl_max_throughput_per_s"] = c.max_throughput_per_s
        for key in ("optimal_users", "breaking_users"):
            if getattr(c, key) is not None:
                evidence[key] = getattr(c, key)
        yield r.finding(
            title=f"latency climbs from {c.knee_users} users on",
            location=f"{c.knee_users} users",
            evidence=evidence,
            recommendation=c.recommendation,
            run=lt.run,
        )


def _verdicts(lt: LoadTest) -> Any:
    from perfnb.analysis.verdicts import verdicts

    return verdicts(lt)


@rule("LT007", "script-exceptions", applies_to=LoadTest, severity=Severity.warning)
def script_exceptions(r: Any, lt: LoadTest, th: Any) -> Iterator[Finding]:
    """The test script raised exceptions (Locust's ``_exceptions.csv``): those tasks stopped half-way.

    The load the run applied is then not the load it was written to apply, and requests after the failing
    line were never sent. Fix: the locustfile at the line named. False positive: none (the tool saw them).
    """
    v = _verdicts(lt)
    for row in v[v["kind"] == "exception"].head(5).itertuples(index=False):
        yield r.finding(
            title=f"the test script raised an exception {row.observed}: {str(row.name)[:120]}",
            location=str(row.location) or "locustfile",
            evidence={"exception": str(row.name), "observed": str(row.observed)},
            recommendation="Fix the test script at this line; the iterations it interrupted sent "
            "fewer requests than planned.",
            run=lt.run,
        )


@rule("LT008", "tool-criteria-failed", applies_to=LoadTest, severity=Severity.critical)
def tool_criteria_failed(r: Any, lt: LoadTest, th: Any) -> Iterator[Finding]:
    """A pass/fail criterion written into the test failed: a k6 threshold or a Gatling assertion.

    k6's own verdicts come from a summary export; from ``--out json`` and Gatling logs perfnb evaluates the
    declared expressions itself (:mod:`perfnb.analysis.verdicts`). Fix: what the criterion measures.
    False positive: a criterion that no longer fits the system (change it in the test, not here).
    """
    v = _verdicts(lt)
    failed = v[v["kind"].isin(["threshold", "assertion"]) & (v["passed"] == False)]  # noqa: E712
    for row in failed.itertuples(index=False):
        tool = "k6 threshold" if row.kind == "threshold" else "Gatling assertion"
        yield r.finding(
            title=f"{tool} {row.name} failed" + (f" ({row.observed})" if row.observed else ""),
            location=str(row.location),
            evidence={"criterion": str(row.name), "observed": str(row.observed)},
            recommendation=f"The run fails its own criterion (judged by {row.judged_by}).",
            run=lt.run,
        )


@rule("LT009", "failed-checks", applies_to=LoadTest, severity=Severity.warning)
def failed_checks(r: Any, lt: LoadTest, th: Any) -> Iterator[Finding]:
    """A k6 check failed for some iterations (a response did not have the expected content or status).

    Fix: the endpoint's responses under load. False positive: a check that tolerates failures by design.
    """
    v = _verdicts(lt)
    for row in v[(v["kind"] == "check") & (v["passed"] == False)].itertuples(index=False):  # noqa: E712
        yield r.finding(
            title=f"check '{row.name}' failed: {row.observed}",
            location=str(row.location),
            evidence={"check": str(row.name), "observed": str(row.observed)},
            recommendation="Look at the failed responses of this request (status, body).",
            run=lt.run,
        )
