"""RUM exports of the ``web-vitals`` library: NDJSON (one beacon per line) or CSV.

Entry point: :func:`read_rum` → a frame conforming to :data:`RUM_METRICS`, one row per beacon.

Each beacon is what ``onLCP/onINP/onCLS/onFCP/onTTFB(callback)`` passes to the callback, plus the page
and time the sender added: ``name``, ``value`` (milliseconds, CLS unitless), ``rating``, ``delta``,
``id``, ``navigationType``, and ``page`` (or ``url``/``path``), ``timestamp`` (ISO or epoch ms), optional
``formFactor``/``form_factor``. With ``reportAllChanges`` one metric instance (``id``) is reported
several times; :func:`read_rum` keeps the last report per ``id`` (``dedupe=True``), as analytics do.
``FID`` is read and marked retired by the analyses. Bad lines follow ``on_bad_lines``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import (
    JSON_ERRORS,
    BadLines,
    OnBadLines,
    ensure_path,
    guard_reader,
    json_problem,
    read_text,
    register_format,
    run_label,
)
from perfnb.schema import PROVENANCE, Column, Schema, register

__all__ = ["RUM_METRICS", "read_rum"]

RUM_METRICS = register(
    Schema(
        "rum_metrics",
        (
            *PROVENANCE,
            Column("timestamp", "timestamp", doc="When the beacon was sent."),
            Column("page", "string", doc="Page path or URL."),
            Column("form_factor", "category", doc="Device class, if the sender recorded it."),
            Column(
                "metric", "category", doc="``LCP``, ``INP``, ``CLS``, ``FCP``, ``TTFB`` or ``FID``."
            ),
            Column("value", "float64", doc="Seconds for times, unitless for CLS."),
            Column("rating", "category", doc="The library's own rating."),
            Column("id", "string", doc="The metric instance id (``v4-…``)."),
            Column(
                "navigation_type", "category", doc="``navigate``, ``reload``, ``back-forward`` …"
            ),
        ),
        doc="``read_rum()``: one row per web-vitals report.",
    )
)

_KNOWN = {"LCP", "INP", "CLS", "FCP", "TTFB", "FID"}


def _row(obj: Mapping[str, Any], bad: BadLines, line: int) -> dict[str, Any] | None:
    name = str(obj.get("name", "")).upper()
    if name not in _KNOWN:
        bad.add(
            line,
            f"unknown metric name {obj.get('name')!r}",
            expected="LCP, INP, CLS, FCP, TTFB, FID",
        )
        return None
    try:
        value = float(obj["value"])
    except (KeyError, TypeError, ValueError):
        bad.add(
            line, "'value' is missing or not a number", found=obj.get("value"), expected="a number"
        )
        return None
    if math.isnan(value) or value < 0:
        bad.add(line, "'value' is negative or NaN", found=value)
        return None
    ts_raw = obj.get("timestamp", obj.get("time"))
    ts: Any
    try:
        if isinstance(ts_raw, int | float) or (isinstance(ts_raw, str) and ts_raw.isdigit()):
            ts = pd.Timestamp(int(float(ts_raw)), unit="ms", tz="UTC")
        else:
            ts = pd.to_datetime(str(ts_raw), utc=True) if ts_raw not in (None, "") else pd.NaT
    except (ValueError, TypeError, OverflowError):
        bad.add(line, "'timestamp' is not a time", found=ts_raw, expected="ISO 8601 or epoch ms")
        return None
    return {
        "timestamp": ts,
        "page": str(obj.get("page") or obj.get("url") or obj.get("path") or ""),
        "form_factor": str(obj.get("formFactor") or obj.get("form_factor") or ""),
        "metric": name,
        "value": value if name == "CLS" else value / 1000,
        "rating": str(obj.get("rating") or ""),
        "id": str(obj.get("id") or ""),
        "navigation_type": str(obj.get("navigationType") or obj.get("navigation_type") or ""),
    }


def _sniff(head: bytes) -> bool:
    first = head.lstrip().split(b"\n", 1)[0]
    if first.startswith(b"{"):
        return b'"name"' in first and b'"value"' in first and b'"rating"' in first
    cols = [c.strip().strip(b'"').lower() for c in first.split(b",")]
    return b"name" in cols and b"value" in cols and b"rating" in cols


@register_format(
    "rum",
    description="web-vitals RUM export (NDJSON or CSV of name, value, rating, page, timestamp)",
    kind="vitals",
    sniff=lambda path, head: _sniff(head),
    priority=40,
)
@guard_reader
def read_rum(
    path: str | os.PathLike[str],
    *,
    run: str | None = None,
    dedupe: bool = True,
    on_bad_lines: OnBadLines = "error",
) -> pd.DataFrame:
    """Read a web-vitals RUM export.

    Parameters
    ----------
    path
        NDJSON (one JSON object per line) or CSV with a header.
    run
        Run label (default: the file stem).
    dedupe
        Keep only the last report of each metric ``id`` (``reportAllChanges`` sends several).
    on_bad_lines
        ``"error"``, ``"warn"`` or ``"skip"`` for unreadable rows.

    Returns
    -------
    DataFrame
        Conforming to :data:`RUM_METRICS`.

    Raises
    ------
    FormatError
        Bad JSON or a bad value, with the line number (``on_bad_lines="error"``).
    EmptyInputError
        No beacons.

    Examples
    --------
    >>> df = read_rum("data/samples/vitals/rum.ndjson")
    >>> sorted(set(df["metric"]))[:3]
    ['CLS', 'FCP', 'INP']
    """
    p = ensure_path(path)
    text = read_text(p)
    bad = BadLines(on_bad_lines, path=p)
    rows: list[dict[str, Any]] = []
    stripped = text.lstrip()
    if stripped.startswith("{"):
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except JSON_ERRORS as err:
                bad.add(
                    i, f"invalid JSON: {json_problem(err)[0]}", expected="one JSON object per line"
                )
                continue
            if not isinstance(obj, Mapping):
                bad.add(i, "line is not a JSON object", found=obj)
                continue
            row = _row(obj, bad, i)
            if row is not None:
                rows.append(row)
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"name", "value"} <= set(reader.fieldnames):
            raise FormatError(
                "CSV header lacks 'name' and 'value'",
                path=p,
                line=1,
                found=reader.fieldnames,
                expected="a web-vitals export header",
            )
        try:
            for rec in reader:
                row = _row(rec, bad, reader.line_num)
                if row is not None:
                    rows.append(row)
        except csv.Error as err:
            raise FormatError(f"bad CSV: {err}", path=p, line=reader.line_num) from err
    if not rows:
        raise EmptyInputError("no web-vitals reports", path=p, expected="name/value beacons")
    df = pd.DataFrame(rows)
    if dedupe:
        has_id = df["id"] != ""
        df = pd.concat([df[has_id].drop_duplicates("id", keep="last"), df[~has_id]]).sort_index()
    df["source"] = "web-vitals"
    df["run"] = run_label(p, run)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    out: pd.DataFrame = bad.finish(RUM_METRICS.conform(df.reset_index(drop=True)))
    return out
