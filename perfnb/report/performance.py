"""The performance report's building blocks: load any subset of sources, summarise them against the standard.

``notebooks/performance_report.ipynb`` calls these, so the notebook stays a thin sequence of calls:

* :func:`load_sources` reads whichever inputs were given (profile, plans or auto_explain log,
  pg_stat_statements export, load test, metrics, Lighthouse, cache snapshots) with their readers;
* :func:`standard_summary` is the standard's report table: Apdex, p95, throughput, error ratio, cache hit
  ratio (and the Lighthouse score when present), each with its objective and a pass/fail status;
* :func:`plan_events` turns log-stamped plans into a timeline of slow statements, and :func:`story`
  aligns them with the load test's steps to explain where latency jumped and what ran slow meanwhile;
* :func:`bottlenecks` lists the warning-or-worse findings with where they are and what to do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from perfnb.analysis import timeline
from perfnb.findings import Findings, Severity, Thresholds

__all__ = [
    "bottlenecks",
    "describe_sources",
    "load_sources",
    "plan_events",
    "standard_summary",
    "story",
    "summary_view",
]


def load_sources(paths: Mapping[str, str]) -> dict[str, Any]:
    """Read every non-empty path with :func:`perfnb.read`, by source name.

    Parameters
    ----------
    paths
        ``{"profile": "...", "plans": "...", "statements": "...", "loadtest": "...", "metrics": "...",
        "lighthouse": "...", "cache": "..."}``; empty values are skipped.

    Returns
    -------
    dict
        Source name → loaded object (auto_explain logs give a list of plans).
    """
    import perfnb

    # read_loadtest takes a Locust prefix as well as a file or folder; read_metrics a folder of exports
    readers: dict[str, Callable[..., Any]] = {
        "loadtest": perfnb.read_loadtest,
        "metrics": perfnb.read_metrics,
    }
    return {name: readers.get(name, perfnb.read)(path) for name, path in paths.items() if path}


def describe_sources(sources: Mapping[str, Any]) -> pd.DataFrame:
    """One line per loaded input: ``input, loaded as, size, run`` (no object reprs)."""
    rows = []
    for name, obj in sources.items():
        items = obj if isinstance(obj, list) else [obj]
        kinds = sorted({type(o).__name__ for o in items})
        size = f"{len(obj):,} plan(s)" if isinstance(obj, list) else "—"
        for attr, unit in _SIZES:
            if isinstance(obj, list):
                break
            table = getattr(obj, attr, None)
            if isinstance(table, pd.DataFrame) and len(table):
                size = f"{len(table):,} {unit}"
                break
        runs = sorted({str(getattr(o, "run", "") or "") for o in items} - {""})
        rows.append(
            {
                "input": name,
                "loaded as": ", ".join(kinds),
                "size": size,
                "run": ", ".join(runs[:3]) + (" …" if len(runs) > 3 else ""),
            }
        )
    return pd.DataFrame(rows, columns=["input", "loaded as", "size", "run"])


#: what to count to say how big a loaded object is: (attribute, unit), first one present wins
_SIZES = (
    ("functions", "functions"),
    ("requests", "requests"),
    ("history", "history rows"),
    ("runs", "run(s)"),
    ("snapshots", "snapshot(s)"),
    ("frame", "rows"),
)


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`standard_summary` for reading: each value formatted with its metric's unit."""
    from perfnb.report.format import fmt_value

    def unit_column(metric: str) -> str:
        m = metric.lower()
        if "(s)" in m or "time" in m:
            return "value_s"
        if "ratio" in m:
            return "value_ratio"
        if "score" in m:
            return "score"
        if "req/s" in m:
            return "value_per_s"
        return "value"

    out = summary.copy()
    out["value"] = [
        fmt_value(v, unit_column(str(m))) for m, v in zip(out["metric"], out["value"], strict=True)
    ]
    out["metric"] = (
        out["metric"].str.replace(" (s)", "", regex=False).str.replace(" (req/s)", "", regex=False)
    )
    return out


def _total_row(summary: pd.DataFrame) -> pd.Series | None:
    if summary.empty:
        return None
    total = summary[summary["label"].astype(str).isin(["Total", "Aggregated", "TOTAL", "all"])]
    return total.iloc[0] if len(total) else None


def _row(metric: str, value: float, objective: str, ok: bool | None, source: str) -> dict[str, Any]:
    status = "n/a" if ok is None else ("pass" if ok else "fail")
    return {
        "metric": metric,
        "value": value,
        "objective": objective,
        "status": status,
        "source": source,
    }


def standard_summary(sources: Mapping[str, Any], **thresholds: float) -> pd.DataFrame:
    """The standard's summary with SLA compliance: ``metric, value, objective, status, source``.

    Values are in base units (seconds, ratios, requests per second); ``status`` is ``pass``, ``fail`` or
    ``n/a`` when the sources do not give the number.
    """
    th = Thresholds(thresholds)
    rows: list[dict[str, Any]] = []
    lt = sources.get("loadtest")
    if lt is not None:
        total = _total_row(lt.summary(apdex_t_s=th["apdex_t_s"]))
        if total is not None:
            apdex = float(total.get("apdex", np.nan))
            rows.append(
                _row(
                    "Apdex",
                    apdex,
                    f"≥ {th['apdex_min']:g} (T = {th['apdex_t_s']:g} s)",
                    None if math.isnan(apdex) else apdex >= th["apdex_min"],
                    lt.source,
                )
            )
            p95 = float(total["p95_s"])
            rows.append(
                _row(
                    "p95 response time (s)",
                    p95,
                    f"< {th['p95_max_s']:g} s",
                    p95 < th["p95_max_s"],
                    lt.source,
                )
            )
            rows.append(
                _row("throughput (req/s)", float(total["throughput_per_s"]), "—", None, lt.source)
            )
            err = float(total["error_ratio"])
            rows.append(
                _row(
                    "error ratio",
                    err,
                    f"< {th['error_ratio_max']:.0%}",
                    err < th["error_ratio_max"],
                    lt.source,
                )
            )
    cache = sources.get("cache")
    if cache is not None and hasattr(cache, "snapshots"):
        from perfnb.analysis import cache as cache_analysis

        facts = cache_analysis.summary(cache)
        value = float(facts["hit_ratio"])
        rows.append(
            _row(
                f"cache hit ratio ({facts['basis']})",
                value,
                f"≥ {th['cache_hit_min_ratio']:.0%}",
                None if math.isnan(value) else value >= th["cache_hit_min_ratio"],
                str(facts["kind"]),
            )
        )
    vitals = sources.get("lighthouse")
    if vitals is not None and hasattr(vitals, "runs") and len(vitals.runs):
        score = float(vitals.runs["performance_score"].median())
        rows.append(_row("Lighthouse performance score", score, "≥ 90", score >= 0.9, "lighthouse"))
    return pd.DataFrame(rows, columns=["metric", "value", "objective", "status", "source"])


def plan_events(plans: Any) -> pd.DataFrame:
    """One row per log-stamped plan: ``timestamp, duration_s, summary, query``.

    *summary* names the plan's most expensive node (``"Seq Scan on orders (filter removes 99.9 % of rows)"``).
    Plans without a log timestamp are left out.
    """
    rows = []
    for plan in plans if isinstance(plans, list | tuple) else [plans]:
        ts = getattr(plan, "timestamp", None)
        if ts is None or pd.isna(ts):
            continue
        nodes = plan.nodes
        top = nodes.sort_values("self_time_s", ascending=False).iloc[0] if len(nodes) else None
        text = "a plan without nodes"
        if top is not None:
            text = str(top["node_type"])
            if "relation" in nodes and isinstance(top["relation"], str):
                text += f" on {top['relation']}"
            removed = top.get("rows_removed_by_filter", np.nan)
            rows_out = top.get("actual_rows_total", top.get("actual_rows", np.nan))
            if pd.notna(removed) and pd.notna(rows_out) and float(removed) > 0:
                share = float(removed) / (float(removed) + float(rows_out))
                text += f" (its filter removes {share:.2%} of the rows it reads)"
        duration = getattr(plan, "duration_s", None)
        if duration is None or pd.isna(duration):
            duration = plan.execution_time_s
        rows.append(
            {
                "timestamp": pd.Timestamp(ts),
                "duration_s": float(duration),
                "summary": text,
                "query": str(getattr(plan, "query", "") or ""),
            }
        )
    return pd.DataFrame(rows, columns=["timestamp", "duration_s", "summary", "query"])


def story(sources: Mapping[str, Any], *, min_ratio: float = 1.5, limit: int = 3) -> list[str]:
    """Sentences that align the load test's steps with slow statements and the profile's top cost."""
    lt = sources.get("loadtest")
    if lt is None:
        return metric_shifts(sources)
    intervals = lt.intervals()
    intervals = intervals[~intervals["label"].astype(str).isin(["Total", "Aggregated"])]
    steps = timeline.load_steps(intervals, min_duration_s=5)
    per_step = timeline.step_latency(intervals, steps)
    jumps = timeline.latency_jumps(per_step, min_ratio=min_ratio)
    statements = plan_events(sources["plans"]) if "plans" in sources else None
    profile_top = ""
    profile = sources.get("profile")
    if profile is not None and hasattr(profile, "time_by_category"):
        cats = profile.time_by_category()
        if len(cats):
            top = cats.sort_values("self_ratio", ascending=False).iloc[0]
            kind = (
                f"{top['category']} on {top['wait_kind']}"
                if top.get("wait_kind")
                else str(top["category"])
            )
            profile_top = f"{kind} ({float(top['self_ratio']):.0%} of profiled self time)"
    sentences = timeline.correlate(
        jumps, statements=statements, profile_top=profile_top, limit=limit
    )
    return sentences + metric_shifts(sources, steps)


def metric_shifts(sources: Mapping[str, Any], steps: pd.DataFrame | None = None) -> list[str]:
    """Sentences for the metrics' significant change points, placed on the load test's user steps."""
    import perfnb

    metrics = sources.get("metrics")
    if metrics is None:
        return []
    out = []
    for f in perfnb.check(metrics, select=["metric-regression-change-point"]):
        ts = pd.Timestamp(f.evidence["timestamp"])
        before, after = float(f.evidence["median_before"]), float(f.evidence["median_after"])
        text = f"Prometheus: {f.location} shifted from {before:.3g} to {after:.3g} at {ts:%H:%M:%S} UTC"
        if steps is not None and len(steps):
            inside = steps[(steps["start"] <= ts) & (steps["end"] >= ts)]
            if len(inside):
                text += f", while the load test ran {int(inside['users'].iloc[0])} users"
        out.append(text + ".")
    return out


def bottlenecks(findings: Findings, *, at_least: str | Severity = Severity.warning) -> pd.DataFrame:
    """The findings at or above *at_least*: ``severity, rule, title, location, recommendation``."""
    df = findings.at_least(at_least).to_frame()
    return df[["severity", "rule", "name", "title", "location", "recommendation"]]
