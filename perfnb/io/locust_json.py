"""Locust's ``--json`` output: per-entry statistics with bucketed response-time histograms.

Split from :mod:`perfnb.io.locust` (which re-exports :func:`read_locust_json`). Also
:func:`errors_from_stats`, the per-label failure breakdown of any Locust statistics without messages.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import FormatError
from perfnb.io._common import ensure_path, guard_reader, read_bytes, register_format, run_label
from perfnb.model.loadtest import SUMMARY, LoadTest

__all__ = ["errors_from_stats", "read_locust_json"]


def _sniff_json(path: Path, head: bytes) -> bool:
    h = head.lstrip()
    return h.startswith(b"[") and b'"response_times"' in h and b'"num_requests"' in h


@register_format(
    "locust_json",
    description="Locust --json output",
    kind="loadtest",
    sniff=_sniff_json,
    priority=20,
)
@guard_reader
def read_locust_json(path: str | os.PathLike[str], *, run: str | None = None) -> LoadTest:
    """Read Locust's ``--json`` stdout (per-entry stats with bucketed response-time histograms).

    Percentiles are computed from Locust's histogram buckets (rounded to 2 significant digits above 100 ms),
    as Locust does (``estimate="tool"``).

    Raises
    ------
    FormatError
        On invalid JSON or entries lacking ``num_requests``/``response_times``.
    """
    p = ensure_path(path)
    label = run_label(p, run)
    try:
        doc = json.loads(read_bytes(p))
    except (ValueError, UnicodeDecodeError) as err:
        raise FormatError(
            f"not valid JSON: {err}", path=p, line=getattr(err, "lineno", None)
        ) from err
    if not isinstance(doc, list):
        raise FormatError(
            "Locust --json output is a list of entries", path=p, found=type(doc).__name__
        )
    rows = []
    points: dict[str, list[list[float]]] = {}
    total: dict[float, int] = {}
    agg = {
        "n": 0,
        "f": 0,
        "sum": 0.0,
        "min": np.inf,
        "max": 0.0,
        "t0": np.inf,
        "t1": 0.0,
        "bytes": 0.0,
    }
    try:
        for i, e in enumerate(doc):  # noqa: B007 - i names the entry in errors
            hist = {float(k): int(v) for k, v in e["response_times"].items()}
            for k, v in hist.items():
                total[k] = total.get(k, 0) + v
            n, f = int(e["num_requests"]), int(e["num_failures"])
            span = float(e["last_request_timestamp"]) - float(e["start_time"])
            rows.append(_json_row(str(e["name"]), n, f, e, hist, span))
            points[str(e["name"])] = _hist_points(hist, rows[-1]["min_s"], rows[-1]["max_s"])
            agg["n"] += n
            agg["f"] += f
            agg["sum"] += float(e["total_response_time"])
            if n:
                agg["min"] = min(agg["min"], float(e["min_response_time"]))
                agg["max"] = max(agg["max"], float(e["max_response_time"]))
            agg["t0"] = min(agg["t0"], float(e["start_time"]))
            agg["t1"] = max(agg["t1"], float(e["last_request_timestamp"] or 0))
            agg["bytes"] += float(e.get("total_content_length", 0))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise FormatError(
            f"Locust JSON entry {i} is malformed: {err!r}", path=p, key=f"[{i}]"
        ) from err
    e = {
        "total_response_time": agg["sum"],
        "min_response_time": agg["min"],
        "max_response_time": agg["max"],
        "total_content_length": agg["bytes"],
    }
    rows.append(_json_row("Total", int(agg["n"]), int(agg["f"]), e, total, agg["t1"] - agg["t0"]))
    df = pd.DataFrame(rows)
    df["estimate"] = "tool"
    df["source"] = "locust"
    df["run"] = label
    points["Total"] = _hist_points(total, rows[-1]["min_s"], rows[-1]["max_s"])
    stats = SUMMARY.conform(df)
    lt = LoadTest(None, "locust", label, str(p), stats=stats, errors_table=errors_from_stats(stats))
    lt.meta["percentiles"] = {k: v for k, v in points.items() if v}
    return lt


def _hist_points(hist: dict[float, int], min_s: float, max_s: float) -> list[list[float]]:
    """``[share at or below, seconds]`` of a Locust response-time histogram (its rounded buckets)."""
    n = sum(hist.values())
    if n == 0 or not (np.isfinite(min_s) and np.isfinite(max_s)):
        return []
    out = [[0.0, float(min_s)]]
    cum = 0
    for k in sorted(hist):
        cum += hist[k]
        out.append([cum / n, float(k) / 1000.0])
    out.append([1.0, float(max_s)])
    return out


def errors_from_stats(stats: pd.DataFrame) -> pd.DataFrame:
    """Failures per label from a tool's own statistics, when no failure messages were written.

    ``status`` and ``error`` are empty: Locust's ``--json`` output and a stats CSV without its
    ``_failures.csv`` count failures per entry but do not say why.
    """
    lab = stats[(stats["label"] != "Total") & (stats["failures"] > 0)]
    return pd.DataFrame(
        {
            "label": lab["label"].astype("string").to_numpy(),
            "status": pd.array([""] * len(lab), dtype="string"),
            "error": pd.array([""] * len(lab), dtype="string"),
            "count": lab["failures"].to_numpy(dtype="int64"),
        }
    ).sort_values("count", ascending=False, ignore_index=True)


def _json_row(
    name: str, n: int, f: int, e: dict[str, Any], hist: dict[float, int], span: float
) -> dict[str, Any]:
    keys = np.array(sorted(hist))
    counts = np.array([hist[k] for k in keys], dtype="int64")
    cum = np.cumsum(counts)

    def pct(q: float) -> float:
        if n == 0 or cum.size == 0:
            return np.nan
        idx = int(
            np.searchsorted(cum, int(cum[-1] * q), side="right")
        )  # Locust: floor(n·p) then first bucket above
        return float(keys[min(idx, keys.size - 1)]) / 1000.0

    return {
        "label": name,
        "requests": n,
        "failures": f,
        "error_ratio": f / n if n else np.nan,
        "mean_s": float(e["total_response_time"]) / n / 1000.0 if n else np.nan,
        "min_s": float(e["min_response_time"]) / 1000.0 if n else np.nan,
        "p50_s": pct(0.5),
        "p90_s": pct(0.9),
        "p95_s": pct(0.95),
        "p99_s": pct(0.99),
        "max_s": float(e["max_response_time"]) / 1000.0 if n else np.nan,
        "throughput_per_s": n / span if span > 0 else np.nan,
        "received_bytes_per_s": float(e.get("total_content_length", 0)) / span
        if span > 0
        else np.nan,
        "sent_bytes_per_s": np.nan,
        "apdex": np.nan,
    }
