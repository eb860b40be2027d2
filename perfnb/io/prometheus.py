"""Prometheus readers: HTTP API JSON responses and text exposition (0.0.4 / OpenMetrics 1.0) scrapes.

Both produce the long *metric samples* frame declared here (:data:`METRIC_SAMPLES`): one row per sample,
``timestamp`` (UTC), ``metric`` (the ``__name__``, or ``""`` for expressions without one), ``value``
(float64; ``NaN`` and ``±Inf`` kept, never treated as missing), provenance ``source``/``run``, then one
``category`` column per label. A label whose name collides with a declared column is renamed
``label_<name>`` (a label ``value`` becomes ``label_value``).

Native histograms (API JSON ``histogram``/``histograms``) become rows ``<name>_count``, ``<name>_sum`` and
``<name>_bucket`` (one per non-empty bucket, **not** cumulative) with extra columns ``lower``, ``upper``
(float64) and ``boundary_rule`` (0 = (l,u], 1 = [l,u), 2 = (l,u), 3 = [l,u]).

The :class:`Metrics` wrapper is what :func:`perfnb.check` applies the MT rules to.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import (
    JSON_ERRORS,
    BadLines,
    OnBadLines,
    ensure_path,
    guard_reader,
    json_problem,
    perfnb_attrs,
    read_bytes,
    read_text,
    register_format,
    run_label,
)
from perfnb.model.metrics import _RESERVED, METRIC_SAMPLES, Metrics, label_column

__all__ = [
    "METRIC_SAMPLES",
    "Metrics",
    "label_column",
    "parse_api_response",
    "parse_exposition",
    "read_exposition",
    "read_prometheus",
    "samples_frame",
]


def samples_frame(
    columns: dict[str, Any],
    labels: Sequence[dict[str, str]],
    counts: Sequence[int],
    *,
    source: str,
    run: str,
) -> pd.DataFrame:
    """Assemble a METRIC_SAMPLES frame from flat arrays plus per-series label dicts repeated *counts* times."""
    n = int(sum(counts))
    data: dict[str, Any] = dict(columns)
    reps = np.asarray(counts, dtype=np.int64)
    names = [lab.get("__name__", "") for lab in labels]
    data["metric"] = _repeat_categorical(names, reps) if n else []
    keys: list[str] = []
    for lab in labels:
        for k in lab:
            if k != "__name__" and k not in keys:
                keys.append(k)
    for k in keys:
        data[label_column(k)] = _repeat_categorical([lab.get(k) for lab in labels], reps)
    data["source"] = source
    data["run"] = run
    df = pd.DataFrame(data)
    return METRIC_SAMPLES.conform(df)


def _repeat_categorical(per_series: list[Any], reps: np.ndarray) -> pd.Categorical:
    """``pd.Categorical(np.repeat(per_series, reps))``, built from codes.

    One Python object per series, not per sample (1M samples: ~1 ms instead of ~0.5 s); categories
    sorted and None missing, as pandas makes them.
    """
    present = sorted({v for v in per_series if v is not None})
    index = {v: i for i, v in enumerate(present)}
    codes = np.fromiter(
        (index[v] if v is not None else -1 for v in per_series),
        dtype=np.int32,
        count=len(per_series),
    )
    cats = pd.Index(present, dtype=object)
    return pd.Categorical.from_codes(np.repeat(codes, reps), categories=cats)


def _ts_ms(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype="float64")
    return np.round(arr * 1000.0).astype("int64")


def _to_timestamp(ms: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ms.astype("datetime64[ms]").astype("datetime64[ns]")).tz_localize("UTC")


def _floats(strings: Sequence[Any], path: Path | None, key: str) -> np.ndarray:
    try:
        return np.asarray(strings, dtype="float64")
    except (TypeError, ValueError):
        for i, s in enumerate(strings):
            try:
                float(s)
            except (TypeError, ValueError) as err:
                raise FormatError(
                    f"{key}[{i}] is {s!r}", path=path, key=key, expected="a number string"
                ) from err
        raise


def parse_api_response(
    doc: Any, *, path: Path | None = None, source: str = "prometheus", run: str = ""
) -> pd.DataFrame:
    """Turn a decoded Prometheus API body (or a bare ``result`` list) into a METRIC_SAMPLES frame.

    Raises
    ------
    FormatError
        On a ``status: error`` body (``errorType``/``error`` in the message) or an unexpected shape.

    Examples
    --------
    >>> body = {"status": "success", "data": {"resultType": "vector", "result": [
    ...     {"metric": {"__name__": "up", "job": "x"}, "value": [1700000000.5, "1"]}]}}
    >>> parse_api_response(body)[["metric", "value", "job"]].to_dict("records")
    [{'metric': 'up', 'value': 1.0, 'job': 'x'}]
    """
    warnings_: list[str] = []
    if isinstance(doc, dict):
        status = doc.get("status")
        if status == "error":
            raise FormatError(
                f"Prometheus returned an error: {doc.get('errorType', '?')}: {doc.get('error', '')}",
                path=path,
                key="$.status",
            )
        if status != "success" or not isinstance(doc.get("data"), dict):
            raise FormatError(
                "not a Prometheus API response",
                path=path,
                key="$.status",
                expected='"success" with data',
            )
        warnings_ = [str(w) for w in doc.get("warnings", []) or []]
        data = doc["data"]
        rtype = data.get("resultType")
        result = data.get("result")
    elif isinstance(doc, list):
        rtype, result = "matrix", doc
    else:
        raise FormatError("not a Prometheus API response", path=path, expected="a JSON object")
    try:
        if rtype in ("scalar", "string"):
            ts, val = result
            frame = samples_frame(
                {
                    "timestamp": _to_timestamp(_ts_ms([ts])),
                    "value": _floats([val], path, "$.data.result"),
                },
                [{}],
                [1],
                source=source,
                run=run,
            )
        elif rtype in ("matrix", "vector"):
            frame = _matrix(result, rtype, path, source, run)
        else:
            raise FormatError(
                f"unknown resultType {rtype!r}",
                path=path,
                key="$.data.resultType",
                expected="matrix, vector, scalar or string",
            )
    except (KeyError, TypeError, ValueError, IndexError) as err:
        if isinstance(err, FormatError):
            raise
        raise FormatError(
            f"unexpected {rtype} result shape: {err}", path=path, key="$.data.result"
        ) from err
    if warnings_:
        perfnb_attrs(frame)["warnings"] = warnings_
    perfnb_attrs(frame)["result_type"] = rtype
    return frame


def _matrix(result: Any, rtype: str, path: Path | None, source: str, run: str) -> pd.DataFrame:
    if not isinstance(result, list):
        raise FormatError("result is not a list", path=path, key="$.data.result")
    labels: list[dict[str, str]] = []
    counts: list[int] = []
    ts_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    extra: dict[str, list[np.ndarray]] = {"lower": [], "upper": [], "boundary_rule": []}
    has_hist = False
    for i, series in enumerate(result):
        metric = series.get("metric", {}) if isinstance(series, dict) else None
        if not isinstance(metric, dict):
            raise FormatError(
                "series without a metric object", path=path, key=f"$.data.result[{i}]"
            )
        values = (
            series.get("values")
            if rtype == "matrix"
            else ([series["value"]] if "value" in series else [])
        )
        if values:
            ts, vals = zip(*values, strict=True)
            labels.append(metric)
            counts.append(len(ts))
            ts_parts.append(_ts_ms(ts))
            val_parts.append(_floats(vals, path, f"$.data.result[{i}].values"))
            for k in extra:
                extra[k].append(np.full(len(ts), np.nan))
        hists = (
            series.get("histograms")
            if rtype == "matrix"
            else ([series["histogram"]] if "histogram" in series else [])
        )
        for ts, h in hists or []:
            has_hist = True
            base = metric.get("__name__", "")
            for suffix, v in (("_count", h["count"]), ("_sum", h.get("sum", "NaN"))):
                labels.append({**metric, "__name__": base + suffix})
                counts.append(1)
                ts_parts.append(_ts_ms([ts]))
                val_parts.append(_floats([v], path, f"$.data.result[{i}].histogram"))
                for k in extra:
                    extra[k].append(np.array([np.nan]))
            buckets = h.get("buckets") or []
            if buckets:
                rule, lo, up, cnt = zip(*buckets, strict=True)
                labels.append({**metric, "__name__": base + "_bucket"})
                counts.append(len(rule))
                ts_parts.append(np.full(len(rule), _ts_ms([ts])[0]))
                val_parts.append(_floats(cnt, path, f"$.data.result[{i}].histogram.buckets"))
                extra["lower"].append(_floats(lo, path, "buckets"))
                extra["upper"].append(_floats(up, path, "buckets"))
                extra["boundary_rule"].append(np.asarray(rule, dtype="float64"))
    if not counts:
        cols: dict[str, Any] = {
            "timestamp": _to_timestamp(np.array([], "int64")),
            "value": np.array([]),
        }
        return samples_frame(cols, [], [], source=source, run=run)
    cols = {
        "timestamp": _to_timestamp(np.concatenate(ts_parts)),
        "value": np.concatenate(val_parts),
    }
    if has_hist:
        cols["lower"] = np.concatenate(extra["lower"])
        cols["upper"] = np.concatenate(extra["upper"])
        cols["boundary_rule"] = pd.array(
            np.concatenate(extra["boundary_rule"]), dtype="Float64"
        ).astype("Int64")
    return samples_frame(cols, labels, counts, source=source, run=run)


def _loads(raw: bytes) -> Any:
    """Decode with orjson when installed (faster than json), else json; both raise JSONDecodeError."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; json is the fallback
        return json.loads(raw)
    return orjson.loads(raw)


_VALUES = re.compile(rb'"values"\s*:\s*\[')
_CLOSE = re.compile(rb"\s*\]")
_LAST = re.compile(rb"\]\s*\]")
_TO_SPACE = bytes.maketrans(b'[]",', b"    ")


def _fast_matrix(raw: bytes, *, source: str, run: str) -> pd.DataFrame | None:
    """A ``query_range`` matrix body without one Python object per sample, or None to take the general path.

    Each series' ``"values":[[t,"v"],…]`` array is cut out of the bytes (the sequence ``"values":[``
    cannot occur inside a JSON string, whose quotes are escaped) and parsed by numpy in C; the rest of the
    body, with the arrays emptied, is decoded as JSON for status, labels and warnings. Anything unusual
    (native histograms, vectors, a token numpy cannot read, counts that do not add up) returns None, so the
    general path reads it — and reports errors — exactly as before.
    """
    if b'"histograms"' in raw:
        return None
    starts: list[int] = []
    ends: list[int] = []
    m = _VALUES.search(raw)
    while m is not None:
        a = m.end()
        close = _CLOSE.match(raw, a)  # an empty array
        if close is not None:
            b = close.end() - 1
        else:
            last = _LAST.search(raw, a)
            if last is None:
                return None
            b = last.end() - 1  # the outer bracket
        starts.append(a)
        ends.append(b)
        m = _VALUES.search(raw, b)
    if not starts:
        return None
    skeleton = bytearray()
    prev = 0
    for a, b in zip(starts, ends, strict=True):
        skeleton += raw[prev:a]
        prev = b
    skeleton += raw[prev:]
    try:
        doc = _loads(bytes(skeleton))
        data = doc["data"]
        result = data["result"]
        if doc.get("status") != "success" or data.get("resultType") != "matrix":
            return None
        if len(result) != len(starts) or not all(
            isinstance(r, dict) and r.get("values") == [] and isinstance(r.get("metric"), dict)
            for r in result
        ):
            return None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    labels, counts, parts = [], [], []
    for r, a, b in zip(result, starts, ends, strict=True):
        chunk = raw[a:b]
        pairs = chunk.count(b"[")
        if not pairs:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                flat = np.fromstring(chunk.translate(_TO_SPACE), sep=" ")
            except (ValueError, DeprecationWarning):
                return None
        if len(flat) != 2 * pairs:
            return None
        labels.append(r["metric"])
        counts.append(pairs)
        parts.append(flat)
    if not parts:
        return None
    flat = np.concatenate(parts).reshape(-1, 2)
    cols = {"timestamp": _to_timestamp(_ts_ms(flat[:, 0])), "value": flat[:, 1].copy()}
    frame = samples_frame(cols, labels, counts, source=source, run=run)
    warns = [str(w) for w in doc.get("warnings", []) or []]
    if warns:
        perfnb_attrs(frame)["warnings"] = warns
    perfnb_attrs(frame)["result_type"] = "matrix"
    return frame


def _sniff_api(path: Path, head: bytes) -> bool:
    h = head.lstrip()[:4096]
    if h[:1] == b"{":
        return b'"status"' in h and (b'"resultType"' in h or b'"errorType"' in h)
    return h[:1] == b"[" and b'"metric"' in h and (b'"values"' in h or b'"value"' in h)


@register_format(
    "prometheus_api",
    description="Prometheus HTTP API JSON (query / query_range)",
    kind="metrics",
    sniff=_sniff_api,
    priority=20,
)
@guard_reader
def read_prometheus(path: str | os.PathLike[str], *, run: str | None = None) -> pd.DataFrame:
    """Read a saved Prometheus ``/api/v1/query`` or ``/api/v1/query_range`` JSON response.

    Parameters
    ----------
    path
        The JSON body (``{"status": ..., "data": ...}``) or a bare ``result`` list.
    run
        Run label (default: the file stem).

    Returns
    -------
    DataFrame
        :data:`METRIC_SAMPLES`.
    """
    p = ensure_path(path)
    raw = read_bytes(p)
    if not raw.strip():
        raise EmptyInputError("empty file", path=p, expected="a Prometheus API JSON body")
    fast = _fast_matrix(raw, source="prometheus", run=run_label(p, run))
    if fast is not None:
        return fast
    try:
        doc = _loads(raw)
    except JSON_ERRORS as err:  # UnicodeDecodeError is a ValueError
        what, line = json_problem(err)
        raise FormatError(
            f"not valid JSON: {what}",
            path=p,
            line=line,
            expected="a Prometheus API body",
        ) from err
    return parse_api_response(doc, path=p, source="prometheus", run=run_label(p, run))


# ------------------------------------------------------------------------------------------------ exposition

_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME_RE = re.compile(
    r'\s*([a-zA-Z_][a-zA-Z0-9_.]*|"(?:[^"\\]|\\.)*")\s*=\s*"((?:[^"\\]|\\.)*)"\s*'
)
_ESC = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_ESC_RE = re.compile(r'\\[\\"n]')


def _unescape(s: str) -> str:
    return _ESC_RE.sub(lambda m: _ESC[m.group(0)], s) if "\\" in s else s


def _parse_labels(text: str, pos: int) -> tuple[dict[str, str], int, str | None]:
    """Parse ``{...}`` starting after '{'; return labels, position after '}', and a quoted name if any."""
    labels: dict[str, str] = {}
    qname: str | None = None
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1, qname
        m = _LABEL_NAME_RE.match(text, pos)
        if not m:
            # a bare quoted metric name (text 1.0.0 / UTF-8): {"my.metric", ...}
            q = re.compile(r'\s*"((?:[^"\\]|\\.)*)"\s*').match(text, pos)
            if q and qname is None:
                qname = _unescape(q.group(1))
                pos = q.end()
            else:
                raise ValueError(f"bad label at column {pos + 1}")
        else:
            name = m.group(1)
            if name.startswith('"'):
                name = _unescape(name[1:-1])
            if name in labels:
                raise ValueError(f"duplicate label {name!r}")
            labels[name] = _unescape(m.group(2))
            pos = m.end()
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "}":
            continue
        else:
            raise ValueError(f"expected ',' or '}}' at column {pos + 1}")


def _float(tok: str) -> float:
    low = tok.lower()
    if low in ("nan", "+nan", "-nan"):
        return math.nan
    if low in ("inf", "+inf", "infinity", "+infinity"):
        return math.inf
    if low in ("-inf", "-infinity"):
        return -math.inf
    if "_" in tok:
        raise ValueError(tok)
    return float(tok)


@dataclass
class _Scrape:
    names: list[str] = field(default_factory=list)
    labels: list[dict[str, str]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    ts: list[float] = field(default_factory=list)  # seconds, NaN when absent
    types: dict[str, str] = field(default_factory=dict)
    exemplars: list[dict[str, Any]] = field(default_factory=list)


def parse_exposition(
    text: str,
    *,
    path: Path | None = None,
    openmetrics: bool | None = None,
    bad: BadLines | None = None,
) -> _Scrape:
    """Parse one text exposition (0.0.4 or OpenMetrics 1.0); timestamps returned in seconds."""
    if openmetrics is None:
        openmetrics = text.rstrip().endswith("# EOF")
    out = _Scrape()
    bad = bad or BadLines("error", path=path)
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                out.types[parts[2]] = parts[3].strip() if len(parts) > 3 else "untyped"
            continue
        try:
            sample, _, exemplar = line.partition(" # ") if openmetrics else (line, "", "")
            m = _NAME_RE.match(sample)
            labels: dict[str, str] = {}
            if m:
                name = m.group(0)
                pos = m.end()
            elif sample.startswith("{"):
                name, pos = "", 0
            else:
                raise ValueError("no metric name")
            if pos < len(sample) and sample[pos] == "{":
                labels, pos, qname = _parse_labels(sample, pos + 1)
                if qname is not None:
                    name = qname
            if not name:
                raise ValueError("no metric name")
            rest = sample[pos:].split()
            if not rest or len(rest) > 2:
                raise ValueError("expected a value and an optional timestamp")
            value = _float(rest[0])
            if len(rest) == 2:
                ts = float(rest[1]) if openmetrics else int(rest[1]) / 1000.0
            else:
                ts = math.nan
            if exemplar:
                ex_text = exemplar.strip()
                if not ex_text.startswith("{"):
                    raise ValueError("bad exemplar")
                ex_labels, epos, _q = _parse_labels(ex_text, 1)
                ex_rest = ex_text[epos:].split()
                out.exemplars.append(
                    {
                        "metric": name,
                        "labels": labels,
                        "exemplar": ex_labels,
                        "value": _float(ex_rest[0]),
                        "timestamp": float(ex_rest[1]) if len(ex_rest) > 1 else None,
                    }
                )
        except (ValueError, IndexError) as err:
            bad.add(
                lineno,
                f"malformed sample line: {err}",
                expected="name{labels} value [timestamp]",
                found=line,
            )
            continue
        out.names.append(name)
        out.labels.append(labels)
        out.values.append(value)
        out.ts.append(ts)
    return out


def _sniff_expo(path: Path, head: bytes) -> bool:
    h = head[:8192]
    return (b"# TYPE " in h or b"# HELP " in h) and not h.lstrip().startswith((b"{", b"["))


@register_format(
    "prometheus_exposition",
    description="Prometheus text exposition 0.0.4 / OpenMetrics 1.0 scrape(s)",
    kind="metrics",
    sniff=_sniff_expo,
    priority=30,
)
@guard_reader
def read_exposition(
    path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    run: str | None = None,
    scrape_time: pd.Timestamp | str | None = None,
    on_bad_lines: OnBadLines = "error",
) -> pd.DataFrame:
    """Read one or several scrapes (text 0.0.4 or OpenMetrics) into METRIC_SAMPLES.

    Parameters
    ----------
    path
        A scrape file, or a list of them (several scrapes over time become a time series).
    scrape_time
        Timestamp for samples without one (default: the file's modification time).
    on_bad_lines
        ``"error"`` raises on a malformed sample line, ``"warn"``/``"skip"`` skip it (recorded in attrs).

    Notes
    -----
    Histogram ``le`` and summary ``quantile`` label values are kept as written; use
    :func:`perfnb.analysis.promql.histogram_quantile`, which parses them as floats. Exemplars are kept in
    ``df.attrs["perfnb"]["exemplars"]`` (first 1000). Metric types are in ``attrs["perfnb"]["types"]``.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    frames: list[pd.DataFrame] = []
    types: dict[str, str] = {}
    exemplars: list[dict[str, Any]] = []
    skipped: BadLines | None = None
    for one in paths:
        p = ensure_path(one)
        text = read_text(p)
        if not text.strip():
            raise EmptyInputError("empty scrape", path=p, expected="Prometheus text exposition")
        bad = BadLines(on_bad_lines, path=p)
        scrape = parse_exposition(text, path=p, bad=bad)
        if not scrape.names:
            raise EmptyInputError("no samples in scrape", path=p)
        default = (
            pd.Timestamp(scrape_time, tz="UTC")
            if scrape_time is not None and pd.Timestamp(scrape_time).tz is None
            else pd.Timestamp(scrape_time)
            if scrape_time is not None
            else pd.Timestamp(p.stat().st_mtime, unit="s", tz="UTC")
        )
        ts = np.asarray(scrape.ts, dtype="float64")
        ts = np.where(np.isnan(ts), default.value / 1e9, ts)
        labels = [
            {"__name__": n, **lab} for n, lab in zip(scrape.names, scrape.labels, strict=True)
        ]
        df = samples_frame(
            {
                "timestamp": _to_timestamp(_ts_ms(ts)),
                "value": np.asarray(scrape.values, dtype="float64"),
            },
            labels,
            [1] * len(labels),
            source="openmetrics" if text.rstrip().endswith("# EOF") else "prometheus",
            run=run_label(p, run),
        )
        frames.append(df)
        types.update(scrape.types)
        exemplars.extend(scrape.exemplars)
        skipped = bad if skipped is None or bad.count else skipped
    out = frames[0] if len(frames) == 1 else METRIC_SAMPLES.conform(_concat(frames))
    attrs = perfnb_attrs(out)
    attrs["types"] = types
    attrs["exemplars"] = exemplars[:1000]
    if skipped is not None:
        skipped.finish(out)
    return out


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    from pandas.api.types import union_categoricals

    cols: list[str] = []
    for f in frames:
        cols += [c for c in f.columns if c not in cols]
    data: dict[str, Any] = {}
    for c in cols:
        parts = [
            f[c] if c in f.columns else pd.Series([None] * len(f), dtype="object") for f in frames
        ]
        if all(isinstance(s.dtype, pd.CategoricalDtype) for s in parts):
            # a label that is missing from every row of one part has categories of another dtype
            # (float, from NaN); give every part string categories so they can be unioned
            data[c] = union_categoricals(
                [pd.Categorical(s.astype("string")) for s in parts], ignore_order=True
            )
        else:
            data[c] = pd.concat(
                [s.astype(object) if s.dtype == object else s for s in parts], ignore_index=True
            )
            if c not in _RESERVED:
                data[c] = data[c].astype("category")
    return pd.DataFrame(data)


def concat_samples(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate METRIC_SAMPLES frames with different label columns (categories unioned)."""
    if not frames:
        return METRIC_SAMPLES.empty()
    if len(frames) == 1:  # nothing to union: no categorical → string → categorical round trip
        return METRIC_SAMPLES.conform(frames[0])
    return METRIC_SAMPLES.conform(_concat(list(frames)))
