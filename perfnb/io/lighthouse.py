"""Lighthouse JSON reports (LHR, Lighthouse 10–13): metrics, audits and the performance score.

Entry point: :func:`read_lighthouse` (one report, a folder of reports or a list of paths: several runs of
the same page, as Lighthouse advises for variance) → :class:`LighthouseReport` with three tables:

* ``runs`` (:data:`LIGHTHOUSE_RUNS`): one row per report: URL, time, version, form factor, the report's
  performance score and the score recomputed from the metrics (:func:`perfnb.analysis.vitals.performance_score`);
* ``metrics`` (:data:`LIGHTHOUSE_METRICS`): one row per run and metric (FCP, LCP, TBT, CLS, SI, TTI, TTFB,
  max-potential FID; INP in timespan reports), values in seconds (CLS unitless) with the scoring curve's
  control points and weight;
* ``audits`` (:data:`LIGHTHOUSE_AUDITS`): opportunities and diagnostics with their estimated savings.

LHR facts used here (``core/scoring.js``, ``core/audits/metrics/*.js``): metric audits carry
``numericValue`` in ``numericUnit`` (``millisecond`` or ``unitless``) and ``scoringOptions {p10, median}``;
the category's ``auditRefs`` give the weights. A report whose page failed to load has a top-level
``runtimeError {code, message}`` and a ``null`` score: it is read (the run is kept, with the error) unless
every report failed, which raises :class:`~perfnb.errors.EmptyInputError`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from perfnb.errors import EmptyInputError, FormatError, InputError
from perfnb.io._common import (
    JSON_ERRORS,
    expand_paths,
    guard_reader,
    json_problem,
    read_text,
    register_format,
    register_kind,
    run_label,
)
from perfnb.model.lighthouse import LighthouseReport
from perfnb.schema import PROVENANCE, Column, Schema, register

__all__ = [
    "LIGHTHOUSE_AUDITS",
    "LIGHTHOUSE_METRICS",
    "LIGHTHOUSE_RUNS",
    "LighthouseReport",
    "read_lighthouse",
]

LIGHTHOUSE_RUNS = register(
    Schema(
        "lighthouse_runs",
        (
            *PROVENANCE,
            Column(
                "url", "string", doc="The final URL the report is about (``finalDisplayedUrl``)."
            ),
            Column("timestamp", "timestamp", doc="When the report was made (``fetchTime``)."),
            Column("lighthouse_version", "category", doc="``lighthouseVersion``."),
            Column(
                "form_factor", "category", doc="``mobile`` or ``desktop`` (``configSettings``)."
            ),
            Column(
                "throttling_method", "category", doc="``simulate``, ``devtools`` or ``provided``."
            ),
            Column("gather_mode", "category", doc="``navigation``, ``timespan`` or ``snapshot``."),
            Column(
                "performance_score", "float64", unit="ratio", doc="The report's own score (0–1)."
            ),
            Column(
                "score_recomputed",
                "float64",
                unit="ratio",
                doc="The score recomputed from the metric values with Lighthouse's log-normal curves.",
            ),
            Column(
                "runtime_error", "string", doc="``runtimeError.code: message`` if the run failed."
            ),
        ),
        doc="``read_lighthouse(...).runs``: one row per Lighthouse report.",
    )
)

LIGHTHOUSE_METRICS = register(
    Schema(
        "lighthouse_metrics",
        (
            *PROVENANCE,
            Column("url", "string", doc="The page."),
            Column("form_factor", "category", doc="``mobile`` or ``desktop``."),
            Column(
                "metric", "category", doc="``FCP``, ``LCP``, ``TBT``, ``CLS``, ``SI``, ``TTI`` …"
            ),
            Column(
                "audit", "string", doc="The Lighthouse audit id (``largest-contentful-paint``)."
            ),
            Column("value", "float64", doc="The value, seconds for times, unitless for CLS."),
            Column("unit", "category", doc="``s`` or ``unitless``."),
            Column("score", "float64", unit="ratio", doc="The audit's score as reported (0–1)."),
            Column(
                "weight", "float64", doc="Weight in the performance category (0 if unweighted)."
            ),
            Column(
                "p10", "float64", doc="Scoring control point that scores 0.9 (same unit as value)."
            ),
            Column("median", "float64", doc="Scoring control point that scores 0.5 (same unit)."),
        ),
        doc="``read_lighthouse(...).metrics``: one row per run and metric.",
    )
)

LIGHTHOUSE_AUDITS = register(
    Schema(
        "lighthouse_audits",
        (
            *PROVENANCE,
            Column("audit", "string", doc="Audit id (``render-blocking-resources``)."),
            Column("title", "string", doc="The audit's title."),
            Column("score", "float64", unit="ratio", doc="0–1; NaN for informative audits."),
            Column("score_display_mode", "category", doc="``binary``, ``metricSavings`` …"),
            Column("kind", "category", doc="``opportunity``, ``diagnostic`` or ``insight``."),
            Column(
                "savings_s", "float64", unit="s", doc="Estimated time saved (``overallSavingsMs``)."
            ),
            Column("savings_bytes", "float64", unit="bytes", doc="Estimated bytes saved."),
            Column("lcp_savings_s", "float64", unit="s", doc="``metricSavings.LCP``, seconds."),
            Column("cls_savings", "float64", doc="``metricSavings.CLS``."),
            Column("tbt_savings_s", "float64", unit="s", doc="``metricSavings.TBT``, seconds."),
            Column("items", "Int64", doc="Number of rows in the audit's details table."),
            Column("display_value", "string", doc="Lighthouse's own summary text."),
        ),
        doc="``read_lighthouse(...).audits``: opportunities, diagnostics and insights that did not pass.",
    )
)

# audit id → metric name; INP appears in timespan (user-flow) reports only.
METRIC_AUDITS: dict[str, str] = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
    "speed-index": "SI",
    "interactive": "TTI",
    "interaction-to-next-paint": "INP",
    "max-potential-fid": "MPFID",
    "server-response-time": "TTFB",
}

_UNIT_SCALE = {"millisecond": 0.001, "second": 1.0, "unitless": 1.0}


def _looks_like_lhr(head: bytes) -> bool:
    return head.lstrip()[:1] == b"{" and b'"lighthouseVersion"' in head


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _num(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    return math.nan


def _one(path: Path, run: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    text = read_text(path)
    try:
        lhr = json.loads(text)
    except JSON_ERRORS as err:
        raise FormatError(
            f"invalid JSON: {json_problem(err)[0]}",
            path=path,
            line=json_problem(err)[1],
            expected="a Lighthouse JSON report",
        ) from err
    if isinstance(lhr, Mapping) and "lhr" in lhr and isinstance(lhr["lhr"], Mapping):
        lhr = lhr["lhr"]  # PageSpeed Insights API: {"lighthouseResult": …} / node API {"lhr": …}
    if isinstance(lhr, Mapping) and isinstance(lhr.get("lighthouseResult"), Mapping):
        lhr = lhr["lighthouseResult"]
    if not isinstance(lhr, Mapping) or "lighthouseVersion" not in lhr:
        raise FormatError(
            "not a Lighthouse report",
            path=path,
            key="$.lighthouseVersion",
            expected="a JSON object with lighthouseVersion, audits and categories",
        )
    audits = lhr.get("audits")
    if not isinstance(audits, Mapping):
        raise FormatError("'audits' is missing or not an object", path=path, key="$.audits")
    settings = _map(lhr.get("configSettings"))
    form_factor = str(settings.get("formFactor", "") or "")
    error = lhr.get("runtimeError")
    error_text = ""
    if isinstance(error, Mapping) and error.get("code"):
        error_text = f"{error.get('code')}: {error.get('message', '')}"
    perf = _map(lhr.get("categories")).get("performance")
    weights: dict[str, float] = {}
    score = math.nan
    if isinstance(perf, Mapping):
        score = _num(perf.get("score"))
        refs = perf.get("auditRefs")
        if not isinstance(refs, list):
            raise FormatError(
                "performance category has no auditRefs list",
                path=path,
                key="$.categories.performance.auditRefs",
            )
        for i, ref in enumerate(refs):
            if not isinstance(ref, Mapping) or not isinstance(ref.get("id"), str):
                raise FormatError(
                    "auditRef is not an object with an id",
                    path=path,
                    key=f"$.categories.performance.auditRefs[{i}]",
                )
            w = _num(ref.get("weight"))
            weights[ref["id"]] = 0.0 if math.isnan(w) else w
    url = str(lhr.get("finalDisplayedUrl") or lhr.get("finalUrl") or lhr.get("requestedUrl") or "")
    try:
        fetch = lhr.get("fetchTime")
        timestamp = pd.to_datetime(str(fetch), utc=True) if fetch else pd.NaT
    except (ValueError, TypeError) as err:
        raise FormatError(
            "fetchTime is not a date",
            path=path,
            key="$.fetchTime",
            found=lhr.get("fetchTime"),
            expected="an ISO 8601 time",
        ) from err
    run_row = {
        "run": run,
        "url": url,
        "timestamp": timestamp,
        "lighthouse_version": str(lhr.get("lighthouseVersion")),
        "form_factor": form_factor,
        "throttling_method": str(settings.get("throttlingMethod", "") or ""),
        "gather_mode": str(lhr.get("gatherMode", "") or ""),
        "performance_score": score,
        "runtime_error": error_text,
    }
    metric_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []
    for audit_id, audit in audits.items():
        if not isinstance(audit, Mapping):
            raise FormatError("audit is not an object", path=path, key=f"$.audits[{audit_id!r}]")
        metric = METRIC_AUDITS.get(str(audit_id))
        if metric is not None:
            metric_rows.append(
                _metric_row(path, run, url, form_factor, audit_id, metric, audit, weights)
            )
        elif not weights or audit_id in weights:  # only the performance category's audits
            row = _audit_row(run, str(audit_id), audit)
            if row is not None:
                audit_rows.append(row)
    return run_row, metric_rows, audit_rows


def _metric_row(
    path: Path,
    run: str,
    url: str,
    form_factor: str,
    audit_id: str,
    metric: str,
    audit: Mapping[str, Any],
    weights: Mapping[str, float],
) -> dict[str, Any]:
    unit = str(audit.get("numericUnit") or ("unitless" if metric == "CLS" else "millisecond"))
    if unit not in _UNIT_SCALE:
        raise FormatError(
            f"unknown numericUnit {unit!r}",
            path=path,
            key=f"$.audits[{audit_id!r}].numericUnit",
            expected="millisecond or unitless",
        )
    scale = _UNIT_SCALE[unit]
    # An audit without numericValue (an error, or "notApplicable") is kept with a missing value.
    value = _num(audit.get("numericValue")) * scale
    options = _map(audit.get("scoringOptions"))
    return {
        "run": run,
        "url": url,
        "form_factor": form_factor,
        "metric": metric,
        "audit": audit_id,
        "value": value,
        "unit": "unitless" if unit == "unitless" else "s",
        "score": _num(audit.get("score")),
        "weight": weights.get(audit_id, 0.0),
        "p10": _num(options.get("p10")) * scale,
        "median": _num(options.get("median")) * scale,
    }


def _audit_row(run: str, audit_id: str, audit: Mapping[str, Any]) -> dict[str, Any] | None:
    details = _map(audit.get("details"))
    dtype = details.get("type")
    mode = str(audit.get("scoreDisplayMode") or "")
    score = _num(audit.get("score"))
    if mode in ("notApplicable", "manual", "error") or (not math.isnan(score) and score >= 1):
        return None
    if dtype == "opportunity":
        kind = "opportunity"
    elif audit_id.endswith("-insight"):
        kind = "insight"
    elif dtype in ("table", "list", "criticalrequestchain", "network-tree") or mode in (
        "metricSavings",
        "informative",
    ):
        kind = "diagnostic"
    else:
        return None
    if mode == "informative" and kind == "diagnostic" and not audit.get("displayValue"):
        return None
    savings = _map(audit.get("metricSavings"))
    items = details.get("items")
    return {
        "run": run,
        "audit": audit_id,
        "title": str(audit.get("title") or ""),
        "score": score,
        "score_display_mode": mode,
        "kind": kind,
        "savings_s": _num(details.get("overallSavingsMs")) / 1000,
        "savings_bytes": _num(details.get("overallSavingsBytes")),
        "lcp_savings_s": _num(savings.get("LCP")) / 1000,
        "cls_savings": _num(savings.get("CLS")),
        "tbt_savings_s": _num(savings.get("TBT")) / 1000,
        "items": len(items) if isinstance(items, list) else None,
        "display_value": str(audit.get("displayValue") or ""),
    }


@register_kind("vitals")  # several reports of one page combine; CrUX and RUM files are read alone
@register_format(
    "lighthouse",
    description="Lighthouse JSON report (LHR)",
    kind="vitals",
    sniff=lambda path, head: _looks_like_lhr(head),
    priority=20,
)
@guard_reader
def read_lighthouse(
    path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    run: str | None = None,
) -> LighthouseReport:
    """Read one or several Lighthouse JSON reports.

    Parameters
    ----------
    path
        A report file, a folder of ``*.json`` reports, or a list of report files.
    run
        Run label for a single file (default: the file stem); with several files the stems are used.

    Returns
    -------
    LighthouseReport
        ``runs``, ``metrics`` and ``audits`` frames conforming to :data:`LIGHTHOUSE_RUNS`,
        :data:`LIGHTHOUSE_METRICS` and :data:`LIGHTHOUSE_AUDITS`.

    Raises
    ------
    FormatError
        Invalid JSON or not a Lighthouse report (file and JSON key named).
    EmptyInputError
        A folder without reports, or every report failed (``runtimeError``) without metrics.

    Examples
    --------
    >>> rep = read_lighthouse("data/samples/vitals/lhr_mobile_run1.json")
    >>> bool((rep.runs["performance_score"] == rep.runs["score_recomputed"]).all())
    True
    """
    from perfnb.model.lighthouse_scoring import performance_score

    paths = expand_paths(path, formats={"lighthouse"})
    runs, metrics, audits = [], [], []
    seen: set[str] = set()
    for p in paths:
        label = run_label(p, run if len(paths) == 1 else None)
        while label in seen:
            label += "'"
        seen.add(label)
        r, m, a = _one(p, label)
        runs.append(r)
        metrics.extend(m)
        audits.extend(a)
    metrics_df = pd.DataFrame(
        metrics, columns=[c.name for c in LIGHTHOUSE_METRICS if c.name != "source"]
    )
    runs_df = pd.DataFrame(runs)
    if runs_df["runtime_error"].ne("").all() and metrics_df["value"].isna().all():
        raise EmptyInputError(
            f"every Lighthouse run failed ({runs_df['runtime_error'].iloc[0]})",
            path=paths[0],
            key="$.runtimeError",
            expected="a report of a page that loaded",
        )
    if metrics_df.empty:
        raise EmptyInputError(
            "report has no metric audits",
            path=paths[0],
            key="$.audits",
            expected="a performance report",
        )
    try:
        scores = performance_score(metrics_df)
    except InputError as err:
        raise FormatError(str(err.message), path=paths[0], key="scoringOptions") from err
    runs_df = runs_df.merge(scores[["run", "score_recomputed"]], on="run", how="left")
    for df in (runs_df, metrics_df):
        df["source"] = "lighthouse"
    audits_df = pd.DataFrame(
        audits, columns=[c.name for c in LIGHTHOUSE_AUDITS if c.name != "source"]
    )
    audits_df["source"] = "lighthouse"
    return LighthouseReport(
        runs=LIGHTHOUSE_RUNS.conform(runs_df),
        metrics=LIGHTHOUSE_METRICS.conform(metrics_df),
        audits=LIGHTHOUSE_AUDITS.conform(audits_df),
    )
