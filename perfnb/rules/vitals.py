"""Web-vitals rules (``WV0xx``): lab (Lighthouse) and field (CrUX, RUM) data.

WV001 failing lab metric in the median Lighthouse run, with the audits that explain it; WV002 run-to-run
variance of the performance score; WV003 a Lighthouse run that failed (``runtimeError``); WV004 a
recomputed score that differs from the report's (another Lighthouse version's curves); WV010 a Core Web
Vital that is not good at p75 in field data; WV011 field data that still reports FID (retired).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd

from perfnb.analysis.vitals import VitalsAssessment, field_assessment, rate
from perfnb.findings import Finding, Rule, Severity, Thresholds, rule, threshold
from perfnb.io.lighthouse import LighthouseReport
from perfnb.model.frames import CruxRecord, RumBeacons

#: Field data the WV01x rules check: an assessment, or the CrUX/RUM data it is computed from.
FieldData = VitalsAssessment | CruxRecord | RumBeacons

threshold(
    "vitals_score_spread_max_ratio",
    0.1,
    "Spread (max − min) of the performance score across Lighthouse runs above which runs disagree.",
    unit="ratio",
)

# Which audits explain which lab metric (Lighthouse's own metricSavings mapping, simplified).
_EXPLAINS: dict[str, tuple[str, ...]] = {
    "LCP": (
        "render-blocking-resources",
        "render-blocking-insight",
        "uses-responsive-images",
        "modern-image-formats",
        "uses-optimized-images",
        "image-delivery-insight",
        "prioritize-lcp-image",
        "lcp-discovery-insight",
        "lcp-breakdown-insight",
        "unused-javascript",
        "uses-text-compression",
        "server-response-time",
        "document-latency-insight",
    ),
    "FCP": ("render-blocking-resources", "render-blocking-insight", "unused-css-rules"),
    "CLS": ("layout-shifts", "cls-culprits-insight", "unsized-images", "non-composited-animations"),
    "TBT": (
        "long-tasks",
        "bootup-time",
        "mainthread-work-breakdown",
        "unused-javascript",
        "unminified-javascript",
        "legacy-javascript",
    ),
    "SI": ("render-blocking-resources", "render-blocking-insight"),
}

# Lab thresholds for TBT and SI (Lighthouse's mobile scoring p10/median, in seconds).
_LAB = {"TBT": (0.2, 0.6), "SI": (3.387, 5.8)}


def _records(df: pd.DataFrame) -> list[Any]:
    return list(df.itertuples(index=False))


def _lab_rating(metric: str, value: float) -> str:
    if metric in _LAB:
        good, poor = _LAB[metric]
        return "good" if value <= good else "poor" if value > poor else "needs-improvement"
    return rate(metric, value)


@rule(
    "WV001",
    "failing-lab-vital",
    applies_to=LighthouseReport,
    severity=Severity.warning,
    direction="up",
)
def failing_lab_vital(r: Rule, rep: LighthouseReport, th: Thresholds) -> Iterator[Finding]:
    """A metric of the median Lighthouse run is needs-improvement or poor (LCP, CLS, FCP, TBT, SI).

    TBT is the lab proxy for INP. The finding lists the failing audits that explain the metric, biggest
    savings first. Why the median run: Lighthouse varies run to run; its docs advise the median of 3–5.
    False positives: lab throttling (simulated slow 4G, 4× CPU) is harsher than many real users.
    """
    for run in rep.median_runs():
        yield from _failing(r, rep, run)


def _failing(r: Rule, rep: LighthouseReport, run: str) -> Iterator[Finding]:
    n = int(
        (
            rep.runs["form_factor"] == rep.runs.loc[rep.runs["run"] == run, "form_factor"].iloc[0]
        ).sum()
    )
    m = rep.metrics[(rep.metrics["run"] == run) & (rep.metrics["weight"] > 0)]
    audits = rep.audits[rep.audits["run"] == run]
    for rec in _records(m):
        if math.isnan(rec.value):
            continue
        rating = _lab_rating(str(rec.metric), float(rec.value))
        if rating in ("", "good"):
            continue
        why = audits[audits["audit"].isin(_EXPLAINS.get(str(rec.metric), ()))].sort_values(
            ["savings_s", "score"], ascending=[False, True], na_position="last"
        )
        names = [
            f"{a.audit} ({a.display_value})" if a.display_value else a.audit
            for a in _records(why.head(5))
        ]
        unit = "" if rec.unit == "unitless" else " s"
        yield r.finding(
            title=f"{rec.metric} {rec.value:.3g}{unit} is {rating} ({rec.form_factor}, median of {n} run(s))",
            severity=Severity.critical
            if rating == "poor" and rec.metric in ("LCP", "CLS")
            else None,
            location=str(rec.url),
            run=run,
            evidence={
                "metric": str(rec.metric),
                "value": float(rec.value),
                "rating": rating,
                "score": float(rec.score),
                "audits": names,
            },
            recommendation="Fix the audits listed: "
            + ("; ".join(names) if names else "see the report's diagnostics"),
        )


@rule(
    "WV002",
    "lighthouse-run-variance",
    applies_to=LighthouseReport,
    severity=Severity.info,
    thresholds=("vitals_score_spread_max_ratio",),
)
def run_variance(r: Rule, rep: LighthouseReport, th: Thresholds) -> Iterator[Finding]:
    """The performance score differs a lot between runs of the same page and form factor.

    Why: a single run can mislead; compare medians of several runs. Fix: run 5 times, quieten the machine,
    use ``--throttling-method=simulate``. Only runs of the same URL and form factor are compared.
    """
    runs = rep.runs.dropna(subset=["performance_score"])
    for (url, ff), g in runs.groupby(["url", "form_factor"], observed=True):
        if len(g) < 2:
            continue
        spread = float(g["performance_score"].max() - g["performance_score"].min())
        if spread > th["vitals_score_spread_max_ratio"]:
            yield r.finding(
                title=f"performance score varies by {spread:.2f} across {len(g)} runs ({ff})",
                location=str(url),
                evidence={"spread_ratio": spread, "scores": g["performance_score"].tolist()},
                recommendation="Use the median run; run more times on a quiet machine.",
            )


@rule("WV003", "lighthouse-runtime-error", applies_to=LighthouseReport, severity=Severity.warning)
def runtime_error(r: Rule, rep: LighthouseReport, th: Thresholds) -> Iterator[Finding]:
    """A Lighthouse run failed (``runtimeError``): the page did not load or Chrome crashed.

    Its score is null and it is left out of the median. Fix: check the URL, the server and Chrome flags.
    """
    for rec in _records(rep.runs[rep.runs["runtime_error"].fillna("") != ""]):
        yield r.finding(
            title=f"Lighthouse run failed: {rec.runtime_error}",
            location=str(rec.url),
            run=str(rec.run),
            evidence={"runtime_error": str(rec.runtime_error)},
            recommendation="Check that the page loads in Chrome; rerun.",
        )


@rule("WV004", "lighthouse-score-mismatch", applies_to=LighthouseReport, severity=Severity.info)
def score_mismatch(r: Rule, rep: LighthouseReport, th: Thresholds) -> Iterator[Finding]:
    """The score recomputed from the metrics differs from the report's own.

    Lighthouse 10–13 use the same log-normal scoring; a difference means a report edited by hand or a
    scoring change in a newer Lighthouse. Compare metric values across versions, not scores.
    """
    both = rep.runs.dropna(subset=["performance_score", "score_recomputed"])
    for rec in _records(both):
        if abs(rec.performance_score - rec.score_recomputed) > 1e-9:
            yield r.finding(
                title=f"score {rec.performance_score} but metrics give {rec.score_recomputed}",
                run=str(rec.run),
                location=str(rec.url),
                evidence={
                    "score": rec.performance_score,
                    "recomputed": rec.score_recomputed,
                    "lighthouse_version": str(rec.lighthouse_version),
                },
                recommendation="Compare numericValue metrics rather than scores across versions.",
            )


@rule(
    "WV010",
    "failing-field-vital",
    applies_to=(VitalsAssessment, CruxRecord, RumBeacons),
    severity=Severity.warning,
    direction="up",
)
def failing_field_vital(r: Rule, data: FieldData, th: Thresholds) -> Iterator[Finding]:
    """A Core Web Vital (LCP, INP, CLS) is not good at the 75th percentile of real page loads.

    Field data (CrUX, RUM) is what Google's page experience assessment uses: a page passes when all three
    are good at p75, per form factor. Poor is critical. Fix: see the Lighthouse audits for the metric.
    """
    a = field_assessment(data)
    f = a.frame
    bad = f[f["core"].astype(bool) & f["rating"].astype(str).isin(["needs-improvement", "poor"])]
    for rec in bad.to_dict("records"):
        where = " ".join(str(rec[k]) for k in ("key", "page", "form_factor") if k in rec)
        unit = "" if rec["metric"] == "CLS" else " s"
        yield r.finding(
            title=f"{rec['metric']} p75 {rec['p75']:.3g}{unit} is {rec['rating']} ({a.origin})",
            severity=Severity.critical if rec["rating"] == "poor" else None,
            location=where,
            evidence={
                "metric": str(rec["metric"]),
                "p75": float(rec["p75"]),
                "rating": str(rec["rating"]),
                "samples": int(rec["samples"]),
            },
            recommendation="Find the cause in a lab run (Lighthouse audits for this metric) and fix it; "
            "check again after 28 days of CrUX data.",
        )


@rule(
    "WV011",
    "retired-fid",
    applies_to=(VitalsAssessment, CruxRecord, RumBeacons),
    severity=Severity.info,
)
def retired_fid(r: Rule, data: FieldData, th: Thresholds) -> Iterator[Finding]:
    """Field data includes FID, which INP replaced as a Core Web Vital on 12 March 2024.

    FID is read and shown, but not assessed as a Core Web Vital. Fix: collect INP (web-vitals ``onINP``).
    """
    a = field_assessment(data)
    f = a.frame
    if bool(f["retired"].astype(bool).any()) and not bool((f["metric"].astype(str) == "INP").any()):
        yield r.finding(
            title="FID reported but no INP: FID is retired",
            location=a.origin,
            evidence={"metrics": sorted(set(map(str, f["metric"])))},
            recommendation="Measure INP (web-vitals onINP); FID is no longer a Core Web Vital.",
        )
