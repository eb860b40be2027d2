"""What the load-test tool itself judged: k6 thresholds and checks, Gatling assertions, Locust exceptions.

The readers keep the tools' own pass/fail material in ``LoadTest.meta`` (plain JSON):

* k6 ``--summary-export`` / ``handleSummary`` JSON: ``thresholds`` (k6's result for each) and ``checks``;
* k6 ``--out json``: ``checks`` (counted from the ``checks`` samples) and ``threshold_definitions`` — the
  NDJSON carries the expressions but not k6's verdicts, so perfnb evaluates the ones on metrics it reads
  (``http_req_duration`` and its ``{name:…}``/``{expected_response:…}``/``{status:…}`` sub-metrics,
  ``http_req_failed``, ``http_reqs``, ``checks``) from the samples, with k6's own estimator;
* Gatling ``simulation.log``: ``assertions`` (the declared ones; Gatling evaluates them only in its
  report), evaluated here from the requests (percentiles with numpy ``linear``, which may differ from
  Gatling's in the last millisecond);
* Locust ``_exceptions.csv``: ``exceptions`` (errors the test script raised, with the locustfile line).

:func:`verdicts` returns one row per item: ``kind``, ``name``, ``location``, ``passed`` (``<NA>`` when it
could not be evaluated), ``observed``, ``judged_by``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from perfnb.io.loadtest import LoadTest

__all__ = ["COLUMNS", "evaluate_k6_threshold", "verdicts"]

COLUMNS = ["kind", "name", "location", "passed", "observed", "judged_by"]
_K6_EXPR = re.compile(
    r"^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|===|==|!=|<|>)\s*"
    r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$"
)
_OPS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "===": np.equal,
    "!=": np.not_equal,
}


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _k6_values(lt: LoadTest, metric: str) -> dict[str, Any] | None:
    """The aggregates of one k6 metric computed from the samples, or None when perfnb does not read it."""
    base, _, sub = metric.partition("{")
    req = lt.requests
    if base == "checks":
        checks = lt.meta.get("checks") or []
        passes = sum(int(c["passes"]) for c in checks)
        total = passes + sum(int(c["fails"]) for c in checks)
        return {"rate": passes / total, "count": float(total)} if total else None
    if base not in ("http_req_duration", "http_req_failed", "http_reqs"):
        return None
    if req is None:
        return None if sub or lt.aggregate is None else _aggregate_values(lt, base)
    if sub:
        for part in sub.rstrip("}").split(","):
            key, _, val = part.partition(":")
            key, val = key.strip(), val.strip()
            if key == "name":
                req = req[req["label"].astype(str) == val]
            elif key == "expected_response":
                req = req[req["success"] == (val == "true")]
            elif key == "status" and "status" in req:
                req = req[req["status"].astype(str) == val]
            else:
                return None
    n = len(req)
    if n == 0:
        return None
    if base == "http_req_duration":
        ms = req["response_time_s"].to_numpy(dtype="float64") * 1000.0
        out = {"avg": float(ms.mean()), "min": float(ms.min()), "max": float(ms.max())}
        out["med"] = float(np.percentile(ms, 50))
        out["_values"] = ms  # type: ignore[assignment]
        return out
    if base == "http_req_failed":
        return {"rate": float((~req["success"]).mean()), "count": float((~req["success"]).sum())}
    duration = float(lt.meta.get("run_duration_s") or 0.0)
    return {"count": float(n), "rate": n / duration if duration > 0 else float("nan")}


def _aggregate_values(lt: LoadTest, base: str) -> dict[str, Any]:
    """The same aggregates from a streamed run's summary (percentiles from its histograms, ±0.78 %)."""
    s = lt.summary()
    tot: dict[Any, Any] = s[s["label"] == "Total"].iloc[0].to_dict()
    n = float(tot["requests"])
    if base == "http_req_duration":
        ms = {
            k: float(tot[c]) * 1000.0
            for k, c in (("avg", "mean_s"), ("min", "min_s"), ("max", "max_s"))
        }
        ms["med"] = float(tot["p50_s"]) * 1000.0
        pcts = {q: float(tot[f"p{q}_s"]) * 1000.0 for q in (50, 90, 95, 99)}
        return {**ms, "_pcts": pcts}
    if base == "http_req_failed":
        return {
            "rate": float(tot["failures"]) / n if n else float("nan"),
            "count": float(tot["failures"]),
        }
    return {"count": n, "rate": float(tot["throughput_per_s"])}


def evaluate_k6_threshold(lt: LoadTest, metric: str, expression: str) -> tuple[bool | None, str]:
    """Evaluate one k6 threshold expression from the samples: ``(passed, observed)``.

    ``passed`` is ``None`` when the expression or the metric is one perfnb does not evaluate.

    Examples
    --------
    >>> _K6_EXPR.match("p(95)<200").groups()
    ('p(95)', '95', '<', '200')
    """
    m = _K6_EXPR.match(expression)
    values = _k6_values(lt, metric)
    if m is None or values is None:
        return (
            None,
            "not evaluated (perfnb reads http_req_duration, http_req_failed, http_reqs, checks)",
        )
    agg, pct, op, limit = m.group(1), m.group(2), m.group(3), float(m.group(4))
    if pct is not None:
        ms = values.get("_values")
        pcts: Any = values.get("_pcts") or {}
        if ms is not None:
            got = float(np.percentile(ms, float(pct), method="linear"))  # k6's estimator
        elif float(pct) in pcts:
            got = float(pcts[float(pct)])
        else:
            return None, f"p({pct}) is not kept for aggregated {metric}"
    elif agg in values:
        got = float(values[agg])
    else:
        return None, f"{agg} is not an aggregate of {metric}"
    passed = bool(_OPS[op](got, limit))
    return passed, _observed(metric, agg, got)


def _observed(metric: str, agg: str, got: float) -> str:
    """``p(95)=300.4 ms``, ``rate=7.00%`` (a k6 rate metric is a share), ``count=300``."""
    if agg == "rate" and not metric.startswith("http_reqs"):
        return f"rate={got:.2%}"
    unit = " ms" if metric.startswith("http_req_duration") and agg != "count" else ""
    return f"{agg}={_fmt(got)}{unit}"


def _k6_rows(lt: LoadTest) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    metrics = lt.meta.get("metrics") or {}
    for t in lt.meta.get("thresholds") or []:
        vals = metrics.get(t["metric"], {})
        vals = vals.get("values", vals) if isinstance(vals, dict) else {}
        m = _K6_EXPR.match(t["threshold"])
        observed = ""
        if m is not None and isinstance(vals, dict):
            key = m.group(1)
            got = vals.get(key, vals.get("value") if key == "rate" else None)  # legacy: value
            if isinstance(got, (int, float)):
                observed = _observed(t["metric"], key, float(got))
        rows.append(
            {
                "kind": "threshold",
                "name": f"{t['metric']}: {t['threshold']}",
                "location": t["metric"],
                "passed": not t["failed"],
                "observed": observed,
                "judged_by": "k6",
            }
        )
    for metric, sources in (lt.meta.get("threshold_definitions") or {}).items():
        for src in sources:
            passed, observed = evaluate_k6_threshold(lt, metric, src)
            rows.append(
                {
                    "kind": "threshold",
                    "name": f"{metric}: {src}",
                    "location": metric,
                    "passed": pd.NA if passed is None else passed,
                    "observed": observed,
                    "judged_by": "perfnb, from k6's samples",
                }
            )
    for c in lt.meta.get("checks") or []:
        total = int(c["passes"]) + int(c["fails"])
        rows.append(
            {
                "kind": "check",
                "name": c["name"],
                "location": c.get("path", ""),
                "passed": int(c["fails"]) == 0,
                "observed": f"{c['passes']} of {total} passed"
                + (f" ({int(c['passes']) / total:.0%})" if total else ""),
                "judged_by": "k6",
            }
        )
    return rows


def _gatling_rows(lt: LoadTest) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    req = lt.requests
    for a in lt.meta.get("assertions") or []:
        if not a.get("decoded") or req is None:
            rows.append(
                {
                    "kind": "assertion",
                    "name": a["text"],
                    "location": "",
                    "passed": pd.NA,
                    "observed": "not decoded: " + str(a.get("reason", "")),
                    "judged_by": "Gatling definition",
                }
            )
            continue
        if a["path"] == "global":
            scopes = [("global", req)]
        elif a["path"] == "forAll":
            scopes = [(str(k), g) for k, g in req.groupby("label", observed=True)]
        else:
            name = "/".join(a["parts"])
            sel = req[req["label"].astype(str) == name]
            if sel.empty and a["parts"]:
                sel = req[req["label"].astype(str).str.endswith("/" + a["parts"][-1])]
            scopes = [(name, sel)]
        for where, g in scopes:
            got = _gatling_value(a, g)
            passed: Any = pd.NA if got is None else _gatling_holds(a, got)
            rows.append(
                {
                    "kind": "assertion",
                    "name": a["text"],
                    "location": where,
                    "passed": passed,
                    "observed": "no requests" if got is None else _fmt(got),
                    "judged_by": "perfnb, from Gatling's definition",
                }
            )
    return rows


def _gatling_value(a: dict[str, Any], g: pd.DataFrame) -> float | None:
    n = len(g)
    if n == 0:
        return None
    ok = int(g["success"].sum())
    counts = {"allRequests": n, "successfulRequests": ok, "failedRequests": n - ok}
    if a["target"] == "count":
        return float(counts[a["metric"]])
    if a["target"] == "percent":
        return 100.0 * counts[a["metric"]] / n
    if a["target"] == "requestsPerSec":
        ts = g["timestamp"]
        end = (ts + pd.to_timedelta(g["response_time_s"], unit="s")).max()
        span = (end - ts.min()).total_seconds()
        return n / span if span > 0 else None
    ms = g["response_time_s"].to_numpy(dtype="float64") * 1000.0
    stat = a["stat"]
    if stat == "percentile":
        return float(np.percentile(ms, float(a["percentile"])))
    if stat == "min":
        return float(ms.min())
    if stat == "max":
        return float(ms.max())
    if stat == "mean":
        return float(ms.mean())
    return float(ms.std())  # stdDev


def _gatling_holds(a: dict[str, Any], got: float) -> bool:
    v = a["values"]
    cond = a["condition"]
    if cond == "between":
        lo, hi = v
        return bool(lo <= got <= hi) if a.get("inclusive", True) else bool(lo < got < hi)
    if cond == "in":
        return any(abs(got - x) < 1e-9 for x in v)
    ops = {"lte": "<=", "gte": ">=", "lt": "<", "gt": ">", "is": "=="}
    return bool(_OPS[ops[cond]](got, v[0]))


def _exception_rows(lt: LoadTest) -> list[dict[str, Any]]:
    return [
        {
            "kind": "exception",
            "name": str(e["message"]).strip().splitlines()[0][:200] if e["message"] else "",
            "location": e.get("location", ""),
            "passed": False,
            "observed": f"{e['count']:,} times",
            "judged_by": lt.source or "the load-test tool",
        }
        for e in lt.meta.get("exceptions") or []
    ]


def verdicts(lt: LoadTest) -> pd.DataFrame:
    """The tool's own judgements of *lt* (see the module docstring); an empty frame when there are none."""
    rows = [*_k6_rows(lt), *_gatling_rows(lt), *_exception_rows(lt)]
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["passed"] = out["passed"].astype("boolean")
    return out
