"""Chrome UX Report (CrUX) API responses: ``records:queryRecord`` and ``records:queryHistoryRecord``.

Entry point: :func:`read_crux` → a frame conforming to :data:`CRUX_METRICS`, one row per metric and
collection period (one period for the daily API, usually 25 weekly ones for the History API).

Shapes (developer.chrome.com/docs/crux/api and /history-api): ``{"record": {"key": {url|origin,
formFactor?}, "metrics": {name: {"histogram": [{start, end?, density} ×3], "percentiles": {"p75"}}},
"collectionPeriod": {firstDate, lastDate}}}``; the History API has ``histogramTimeseries[].densities[]``,
``percentilesTimeseries.p75s[]`` and ``collectionPeriods[]``. ``cumulative_layout_shift`` bounds and p75
are strings (``"0.10"``); missing History periods are ``"NaN"`` densities and ``null`` p75s. Times are
milliseconds and are converted to seconds. Non-histogram metrics (``navigation_types``, ``form_factors``,
LCP breakdowns) are not read. An error body (``{"error": {code, message, status}}``) is a
:class:`~perfnb.errors.FormatError` that quotes the API's message.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import (
    JSON_ERRORS,
    ensure_path,
    guard_reader,
    json_problem,
    read_text,
    register_format,
    run_label,
)
from perfnb.schema import PROVENANCE, Column, Schema, register

__all__ = ["CRUX_METRICS", "METRIC_NAMES", "read_crux"]

CRUX_METRICS = register(
    Schema(
        "crux_metrics",
        (
            *PROVENANCE,
            Column("key", "string", doc="The URL or origin the record is about."),
            Column("key_type", "category", doc="``url`` or ``origin``."),
            Column("form_factor", "category", doc="``PHONE``, ``DESKTOP``, ``TABLET`` or ``ALL``."),
            Column(
                "metric",
                "category",
                doc="``LCP``, ``INP``, ``CLS``, ``FCP``, ``TTFB``, ``FID``, ``RTT``.",
            ),
            Column("period_start", "timestamp", doc="First day of the 28-day collection period."),
            Column("period_end", "timestamp", doc="Last day of the collection period."),
            Column("p75", "float64", doc="75th percentile: seconds for times, unitless for CLS."),
            Column("unit", "category", doc="``s`` or ``unitless``."),
            Column("good_ratio", "float64", unit="ratio", doc="Density of the first (good) bin."),
            Column(
                "needs_improvement_ratio", "float64", unit="ratio", doc="Density of the middle bin."
            ),
            Column("poor_ratio", "float64", unit="ratio", doc="Density of the last (poor) bin."),
            Column("good_max", "float64", doc="End of the good bin (the good threshold)."),
            Column("poor_min", "float64", doc="Start of the poor bin (the poor threshold)."),
        ),
        doc="``read_crux()``: one row per metric and collection period.",
    )
)

#: CrUX metric key → perfnb metric name.
METRIC_NAMES: dict[str, str] = {
    "largest_contentful_paint": "LCP",
    "interaction_to_next_paint": "INP",
    "cumulative_layout_shift": "CLS",
    "first_contentful_paint": "FCP",
    "experimental_time_to_first_byte": "TTFB",
    "first_input_delay": "FID",
    "round_trip_time": "RTT",
}


def _float(value: Any, *, path: Any, key: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise FormatError("value is not a number", path=path, key=key, found=value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)  # CLS values are strings; "NaN" marks a missing period
        except ValueError as err:
            raise FormatError(
                "value is not a number", path=path, key=key, found=value, expected="a number"
            ) from err
    raise FormatError("value is not a number", path=path, key=key, found=value)


def _date(value: Any, *, path: Any, key: str) -> pd.Timestamp:
    if not isinstance(value, Mapping):
        raise FormatError(
            "date is not an object", path=path, key=key, expected="{year, month, day}"
        )
    try:
        return pd.Timestamp(
            year=int(value["year"]), month=int(value["month"]), day=int(value["day"]), tz="UTC"
        )
    except (KeyError, TypeError, ValueError) as err:
        raise FormatError(
            "date is not valid", path=path, key=key, found=value, expected="{year, month, day}"
        ) from err


def _looks_like_crux(head: bytes) -> bool:
    return (
        head.lstrip()[:1] == b"{"
        and b'"record"' in head
        and (b'"collectionPeriod' in head or b'"percentiles' in head or b'"histogram' in head)
    )


@register_format(
    "crux",
    description="CrUX API / CrUX History API JSON response",
    kind="vitals",
    sniff=lambda path, head: _looks_like_crux(head),
    priority=25,
)
@guard_reader
def read_crux(path: str | os.PathLike[str], *, run: str | None = None) -> pd.DataFrame:
    """Read a CrUX API or CrUX History API response.

    Parameters
    ----------
    path
        The JSON response body.
    run
        Run label (default: the file stem).

    Returns
    -------
    DataFrame
        Conforming to :data:`CRUX_METRICS`.

    Raises
    ------
    FormatError
        Invalid JSON, an API error body, or a value of the wrong type (the JSON key is named).
    EmptyInputError
        A record without metrics.

    Examples
    --------
    >>> df = read_crux("data/samples/vitals/crux_history.json")  # doctest: +SKIP
    """
    p = ensure_path(path)
    text = read_text(p)
    try:
        doc = json.loads(text)
    except JSON_ERRORS as err:
        raise FormatError(
            f"invalid JSON: {json_problem(err)[0]}",
            path=p,
            line=json_problem(err)[1],
            expected="a CrUX API response",
        ) from err
    if isinstance(doc, Mapping) and isinstance(doc.get("error"), Mapping):
        e = doc["error"]
        raise FormatError(
            f"CrUX API error {e.get('code')} {e.get('status', '')}: {e.get('message', '')}",
            path=p,
            key="$.error",
        )
    record = doc.get("record") if isinstance(doc, Mapping) else None
    if not isinstance(record, Mapping):
        raise FormatError("no 'record' object", path=p, key="$.record", expected="a CrUX response")
    key: Mapping[str, Any] = record["key"] if isinstance(record.get("key"), Mapping) else {}
    key_type = "url" if "url" in key else "origin"
    key_value = str(key.get("url") or key.get("origin") or "")
    form_factor = str(key.get("formFactor") or "ALL")
    metrics = record.get("metrics")
    if not isinstance(metrics, Mapping) or not metrics:
        raise EmptyInputError("record has no metrics", path=p, key="$.record.metrics")
    history = "collectionPeriods" in record
    periods_raw = record.get("collectionPeriods") if history else [record.get("collectionPeriod")]
    if not isinstance(periods_raw, list):
        raise FormatError(
            "collectionPeriods is not a list", path=p, key="$.record.collectionPeriods"
        )
    periods: list[tuple[Any, Any]] = []
    for i, per in enumerate(periods_raw):
        k = f"$.record.collectionPeriods[{i}]" if history else "$.record.collectionPeriod"
        if per is None:
            periods.append((pd.NaT, pd.NaT))
            continue
        if not isinstance(per, Mapping):
            raise FormatError("collection period is not an object", path=p, key=k)
        periods.append(
            (
                _date(per.get("firstDate"), path=p, key=k + ".firstDate"),
                _date(per.get("lastDate"), path=p, key=k + ".lastDate"),
            )
        )
    rows: list[dict[str, Any]] = []
    for name, body in metrics.items():
        metric = METRIC_NAMES.get(str(name))
        if metric is None or not isinstance(body, Mapping):
            continue
        base = f"$.record.metrics.{name}"
        scale = 1.0 if metric == "CLS" else 0.001
        hist = body.get("histogramTimeseries" if history else "histogram")
        if not isinstance(hist, list) or not all(isinstance(b, Mapping) for b in hist):
            raise FormatError("histogram is not a list of bins", path=p, key=base)
        pct = body.get("percentilesTimeseries" if history else "percentiles")
        pct = pct if isinstance(pct, Mapping) else {}
        p75s = pct.get("p75s") if history else [pct.get("p75")]
        if not isinstance(p75s, list):
            raise FormatError("p75s is not a list", path=p, key=base + ".percentilesTimeseries")
        bounds = [
            (
                _float(b.get("start"), path=p, key=f"{base}.histogram[{j}].start") * scale,
                _float(b.get("end"), path=p, key=f"{base}.histogram[{j}].end") * scale,
            )
            for j, b in enumerate(hist)
        ]
        for i, (start, end) in enumerate(periods):
            dens = []
            for j, b in enumerate(hist):
                if history:
                    seq = b.get("densities")
                    if not isinstance(seq, list) or i >= len(seq):
                        raise FormatError(
                            "densities is shorter than collectionPeriods",
                            path=p,
                            key=f"{base}.histogramTimeseries[{j}].densities",
                        )
                    d = seq[i]
                else:
                    d = b.get("density")
                dens.append(_float(d, path=p, key=f"{base}.histogram[{j}].density"))
            if len(dens) != 3:
                # CrUX always sends 3 bins for these metrics; anything else cannot be rated.
                dens = [*dens, math.nan, math.nan, math.nan][:3]
            p75 = p75s[i] if i < len(p75s) else None
            rows.append(
                {
                    "key": key_value,
                    "key_type": key_type,
                    "form_factor": form_factor,
                    "metric": metric,
                    "period_start": start,
                    "period_end": end,
                    "p75": _float(p75, path=p, key=f"{base}.percentiles.p75") * scale,
                    "unit": "unitless" if metric == "CLS" else "s",
                    "good_ratio": dens[0],
                    "needs_improvement_ratio": dens[1],
                    "poor_ratio": dens[2],
                    "good_max": bounds[0][1] if bounds else math.nan,
                    "poor_min": bounds[-1][0] if len(bounds) >= 3 else math.nan,
                }
            )
    if not rows:
        raise EmptyInputError("record has no histogram metrics", path=p, key="$.record.metrics")
    df = pd.DataFrame(rows)
    df["source"] = "crux-history" if history else "crux"
    df["run"] = run_label(p, run)
    return CRUX_METRICS.conform(df)
