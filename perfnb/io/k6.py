"""k6 readers: ``--out csv``, ``--out json`` NDJSON, and the ``--summary-export`` / ``handleSummary`` JSON.

CSV headers are read, never assumed: 18/19 columns or custom system tags.

Requests are the ``http_req_duration`` samples (label = the ``name`` tag, which defaults to the URL).
k6 stamps every sample with the time the request *ended*; ``timestamp`` is its start (time − duration).
``LoadTest.meta["run_duration_s"]`` is the test's duration as far as the output shows it (first request
start to the last sample of any metric, usually the last iteration's end): k6's ``http_reqs.rate``
divides by the test-run duration, and so does :meth:`LoadTest.summary` when this key is set. The CSV's
whole-second stamps make that duration (and every start) uncertain by up to 1 s.
``success`` is the ``expected_response`` tag (what ``http_req_failed`` counts), or status < 400 when the tag
is absent (k6 < 0.31). ``users`` comes from the ``vus`` gauge (as of the latest value before each request).
k6's own percentiles are numpy ``method="linear"``, the default of :meth:`LoadTest.summary`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import (
    ArrowRaggedRows,
    BadLines,
    OnBadLines,
    ensure_path,
    guard_reader,
    head_bytes,
    is_plain,
    open_bytes,
    read_bytes,
    register_format,
    run_label,
)
from perfnb.io._values import drop_bad_requests, epoch_to_utc
from perfnb.model.loadtest import REQUESTS, SUMMARY, LoadTest

__all__ = [
    "NdjsonPoints",
    "csv_frame",
    "csv_table",
    "parse_ndjson",
    "read_k6",
    "read_k6_csv",
    "read_k6_json",
    "read_k6_summary",
]

_CSV_HEAD = b"metric_name,timestamp,metric_value"


def _sniff_csv(path: Path, head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(_CSV_HEAD)


def _sniff_json(path: Path, head: bytes) -> bool:
    first = head.lstrip().split(b"\n", 1)[0]
    return (
        first.startswith(b"{")
        and b'"metric"' in first
        and (b'"Metric"' in first or b'"Point"' in first)
    )


def _sniff_summary(path: Path, head: bytes) -> bool:
    h = head.lstrip()
    return h.startswith(b"{") and b'"metrics"' in h and (b'"root_group"' in h or b'"http_req' in h)


def _epoch(values: pd.Series) -> pd.Series:
    """k6 CSV timestamps (Unix seconds in k6 ≥ 0.x, ms/µs/ns in forks, or RFC 3339) as UTC.

    The unit is told from the median, so one edge value (``1e999``, a 40-digit number) cannot change
    it for every row; values that cannot be a time become NaT and are reported as bad rows.
    """
    num = pd.to_numeric(values, errors="coerce")
    if num.notna().any() and len(num):
        m = float(np.nanmedian(np.abs(num.to_numpy(dtype="float64"))))
        unit: Literal["s", "ms", "us", "ns"] = (
            "s" if m < 1e11 else "ms" if m < 1e14 else "us" if m < 1e17 else "ns"
        )
        out = epoch_to_utc(num.to_numpy(dtype="float64"), unit)
        out.index = values.index
        return out
    parsed = pd.to_datetime(values.astype("string"), utc=True, format="ISO8601", errors="coerce")
    return pd.Series(parsed, index=values.index)


def _blank_na(s: pd.Series) -> pd.Series:
    t = s.astype("string").reset_index(drop=True)
    return t.mask(t == "")


def _frame(
    ts: pd.Series,
    value: pd.Series,
    tags: dict[str, pd.Series],
    vus: pd.DataFrame,
    run: str,
    bad: BadLines,
    lines: Any,
) -> pd.DataFrame:
    value = pd.to_numeric(value, errors="coerce").reset_index(drop=True)
    # k6 stamps a sample when the request ends: the start is that time minus the duration
    ts = ts.reset_index(drop=True).astype("datetime64[ns, UTC]") - pd.to_timedelta(
        value.fillna(0.0), unit="ms"
    )
    label = tags.get("name")
    if label is None or label.isna().all():
        label = tags.get("url", pd.Series([""] * len(ts)))
    status = tags.get("status", pd.Series([pd.NA] * len(ts), dtype="string")).astype("string")
    exp = tags.get("expected_response")
    if exp is not None and exp.notna().any() and (exp.astype("string") != "").any():
        success = exp.astype("string").str.lower().eq("true").fillna(False)
    else:
        code = pd.to_numeric(status, errors="coerce")
        success = (code > 0) & (code < 400)
    err = tags.get("error")
    df = pd.DataFrame(
        {
            "timestamp": ts,
            "label": label.astype("string").fillna("").reset_index(drop=True),
            "response_time_s": value / 1000.0,
            "success": success.fillna(False).to_numpy(dtype=bool),
            "status": status.reset_index(drop=True),
            "error": None if err is None else _blank_na(err),
        }
    )
    df = drop_bad_requests(df, bad, np.asarray(lines))
    vus = vus[vus["timestamp"].notna() & np.isfinite(vus["users"].astype("float64"))]
    # pandas infers a resolution per parse (seconds for whole-second times): merge in one unit
    df["timestamp"] = pd.DatetimeIndex(df["timestamp"]).as_unit("ns")
    vus = vus.assign(timestamp=pd.DatetimeIndex(vus["timestamp"]).as_unit("ns"))
    if len(vus):
        order = np.argsort(df["timestamp"].to_numpy(), kind="stable")
        left = df.iloc[order]
        merged = pd.merge_asof(
            left[["timestamp"]].reset_index(),
            vus.astype({"timestamp": "datetime64[ns, UTC]"}).sort_values("timestamp"),
            on="timestamp",
            direction="backward",
        ).set_index("index")
        df["users"] = merged["users"].reindex(df.index).round().astype("Int64")
    df["is_controller"] = False
    df["source"] = "k6"
    df["run"] = run
    return REQUESTS.conform(df)


@register_format(
    "k6_csv",
    description="k6 --out csv",
    kind="loadtest",
    sniff=_sniff_csv,
    priority=20,
)
@guard_reader
def read_k6_csv(
    path: str | os.PathLike[str], *, run: str | None = None, on_bad_lines: OnBadLines = "error"
) -> LoadTest:
    """Read k6 ``--out csv`` output (header-driven: 18/19 columns or custom system tags).

    Raises
    ------
    FormatError
        On a malformed row (``on_bad_lines="error"``) or a non-numeric ``metric_value``.
    """
    p = ensure_path(path)
    if not head_bytes(p).strip():
        raise EmptyInputError("file is empty", path=p, expected="k6 CSV output")
    label = run_label(p, run)
    bad = BadLines(on_bad_lines, path=p)
    header = head_bytes(p).lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    names = header.decode("utf-8", "replace").strip().split(",")
    if is_plain(p):  # pyarrow reads the file itself
        df = csv_table(str(p), p, bad, names, has_header=True)
    else:  # gzip, UTF-16 or a BOM: through the decoding stream
        with open_bytes(p) as fh:
            df = csv_table(fh, p, bad, names, has_header=True)
    out = csv_frame(df, p, label, bad)
    bad.finish(out)
    lt = LoadTest(out, "k6", label, str(p))
    bad.to_meta(lt.meta)
    if len(df) and len(out):
        # whole-second stamps: the last end and the first start are both truncated (± 1 s)
        lt.meta["run_duration_s"] = _duration(out, _epoch(df["timestamp"].iloc[-1:]).iloc[0])
    return lt


def _duration(req: pd.DataFrame, last: pd.Timestamp) -> float:
    """Seconds from the first request's start to *last* (the last sample of any metric)."""
    first = req["timestamp"].min()
    ends = req["timestamp"] + pd.to_timedelta(req["response_time_s"], unit="s")
    return float((max(last, ends.max()) - first).total_seconds())


def csv_table(
    source: Any,
    p: Path,
    bad: BadLines,
    names: list[str],
    *,
    has_header: bool,
    line_offset: int = 0,
) -> pd.DataFrame:
    """The rows of a k6 CSV (*source*: a path or a buffer of whole lines) as a pandas frame of text columns."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    ragged = ArrowRaggedRows(bad)
    # every column but metric_value is text (tags such as status/error_code must not become floats)
    types: dict[str, Any] = {c: pa.string() for c in names if c and c != "metric_value"}
    types["metric_value"] = pa.float64()
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(
                column_names=None if has_header else names,
                use_threads=ragged.handler is None,  # skipped rows get their line numbers
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=ragged.handler),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )
        df = table.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as err:
        raise FormatError(
            f"k6 CSV cannot be read: {str(err).splitlines()[0][:200]}",
            path=p,
            line=line_offset + 1 if line_offset else None,
            hint="the error is in the rows from this line on" if line_offset else None,
        ) from err
    ragged.report(line_offset=line_offset)  # pyarrow numbers the source's lines from 1
    if "metric_name" not in df or "metric_value" not in df:
        raise FormatError("k6 CSV lacks metric_name/metric_value", path=p, line=1)
    # the index holds each row's line (blank lines aside): after the header, minus the ragged rows
    first = line_offset + (2 if has_header else 1)
    skipped = {n + line_offset for n in ragged.rows if n >= 0}
    lines = [n for n in range(first, first + len(df) + len(skipped)) if n not in skipped]
    df.index = pd.Index(lines[: len(df)], dtype="int64")
    return cast("pd.DataFrame", df)


def csv_frame(df: pd.DataFrame, p: Path, run: str, bad: BadLines | None = None) -> pd.DataFrame:
    """The ``loadtest_requests`` frame of k6 CSV rows (``http_req_duration``; users from ``vus``).

    Rows with an unusable time or a NaN/negative duration go to *bad* with their line (the index).
    """
    bad = bad if bad is not None else BadLines("error", path=p)
    ts = _epoch(df["timestamp"])
    vmask = df["metric_name"] == "vus"
    vus = pd.DataFrame(
        {"timestamp": ts[vmask].to_numpy(), "users": df.loc[vmask, "metric_value"].to_numpy()}
    )
    m = df["metric_name"] == "http_req_duration"
    d = df[m]
    tags = {c: d[c] for c in d.columns if c not in ("metric_name", "timestamp", "metric_value")}
    return _frame(ts[m], d["metric_value"], tags, vus, run, bad, d.index.to_numpy())


@register_format(
    "k6_json",
    description="k6 --out json (NDJSON)",
    kind="loadtest",
    sniff=_sniff_json,
    priority=20,
)
@guard_reader
def read_k6_json(
    path: str | os.PathLike[str], *, run: str | None = None, on_bad_lines: OnBadLines = "error"
) -> LoadTest:
    """Read k6 ``--out json`` NDJSON (Metric and Point lines, any key order or k6 version).

    Raises
    ------
    FormatError
        On a line that is not JSON or a Point without ``data.time``/``data.value`` (``on_bad_lines``).
    """
    p = ensure_path(path)
    label = run_label(p, run)
    bad = BadLines(on_bad_lines, path=p)
    with open_bytes(p) as fh:
        points = parse_ndjson(enumerate(fh, 1), bad)
    if not points.times and bad.count == 0 and not points.vus_times:
        head = head_bytes(p)
        if not head.strip():
            raise EmptyInputError("file is empty", path=p, expected="k6 NDJSON")
    out = points.frame(p, label, bad)
    bad.finish(out)
    lt = LoadTest(out, "k6", label, str(p))
    bad.to_meta(lt.meta)
    points.merge_meta(lt.meta)
    end = points.last_time_ns()
    if end is not None and len(out):
        lt.meta["run_duration_s"] = _duration(out, pd.Timestamp(end, unit="ns", tz="UTC"))
    return lt


class NdjsonPoints:
    """The ``http_req_duration`` and ``vus`` points of (part of) a k6 NDJSON output."""

    def __init__(self) -> None:
        self.times: list[str] = []
        self.values: list[float] = []
        self.tags: list[dict[str, Any]] = []
        self.vus_times: list[str] = []
        self.vus: list[float] = []
        self.lines: list[int] = []
        self.last_time: str | None = None  # time of the last Point of any metric
        self.checks: dict[tuple[str, str], list[int]] = {}  # (group, name) -> [passes, fails]
        self.threshold_sources: dict[str, list[str]] = {}  # metric -> threshold expressions

    def merge_meta(self, meta: dict[str, Any]) -> None:
        """Checks and threshold definitions into a LoadTest's *meta* (JSON values)."""
        if self.checks:
            meta["checks"] = [
                {"name": name, "path": f"{group}::{name}", "passes": pf[0], "fails": pf[1]}
                for (group, name), pf in self.checks.items()
            ]
        if self.threshold_sources:
            meta["threshold_definitions"] = dict(self.threshold_sources)

    def last_time_ns(self) -> int | None:
        """The last Point's time (ns since the epoch), or ``None``."""
        if self.last_time is None:
            return None
        try:
            return int(pd.Timestamp(self.last_time).value)
        except (ValueError, TypeError):
            return None

    def frame(self, p: Path, run: str, bad: BadLines | None = None) -> pd.DataFrame:
        """The ``loadtest_requests`` frame of these points (bad times/durations go to *bad*)."""
        bad = bad if bad is not None else BadLines("error", path=p)
        tags = pd.DataFrame(self.tags)
        # a time that is not RFC 3339 (or past 2262) is NaT, reported with its line by _frame
        ts = pd.Series(pd.to_datetime(self.times, utc=True, format="ISO8601", errors="coerce"))
        vts = pd.to_datetime(self.vus_times, utc=True, format="ISO8601", errors="coerce")
        vus = pd.DataFrame({"timestamp": vts, "users": self.vus})
        return _frame(
            ts,
            pd.Series(self.values, dtype="float64"),
            {c: tags[c] for c in tags.columns},
            vus,
            run,
            bad,
            self.lines,
        )


def parse_ndjson(lines: Iterable[tuple[int, bytes]], bad: BadLines) -> NdjsonPoints:
    """Collect the points of numbered NDJSON *lines*; unreadable lines go to *bad* (with their number)."""
    out = NdjsonPoints()
    for lineno, raw in lines:
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                continue
            if obj.get("type") == "Metric":
                th = (obj.get("data") or {}).get("thresholds")
                if th:
                    out.threshold_sources[str(obj.get("metric"))] = [str(t) for t in th]
                continue
            if obj.get("type") != "Point":
                continue
            name = obj["metric"]
            data = obj["data"]
            if isinstance(data, dict) and "time" in data:
                out.last_time = str(data["time"])
            if name == "http_req_duration":
                value = float(data["value"])
                time = str(data["time"])
                out.times.append(time)
                out.values.append(value)
                out.tags.append(dict(data.get("tags") or {}))
                out.lines.append(lineno)
            elif name == "vus":
                out.vus_times.append(str(data["time"]))
                out.vus.append(float(data["value"]))
            elif name == "checks":
                tags = data.get("tags") or {}
                key = (str(tags.get("group", "")), str(tags.get("check", "")))
                pf = out.checks.setdefault(key, [0, 0])
                pf[0 if float(data["value"]) else 1] += 1
        except (ValueError, KeyError, TypeError) as err:
            bad.add(lineno, f"not a k6 JSON line: {type(err).__name__}: {err}")
    return out


_TREND_KEYS = {
    "avg": "mean_s",
    "min": "min_s",
    "med": "p50_s",
    "max": "max_s",
    "p(90)": "p90_s",
    "p(95)": "p95_s",
    "p(99)": "p99_s",
}


def _count(value: Any, p: Path, key: str) -> int:
    """A request count of the summary: a whole number ≥ 0 (not NaN, ``1e999`` or 40 digits)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 2**63:
        raise FormatError("{found} is not a count", path=p, key=key, found=value, expected="≥ 0")
    return int(value)


@register_format(
    "k6_summary",
    description="k6 --summary-export / handleSummary JSON",
    kind="loadtest",
    sniff=_sniff_summary,
    priority=25,
)
@guard_reader
def read_k6_summary(path: str | os.PathLike[str], *, run: str | None = None) -> LoadTest:
    """Read a k6 summary export; ``summary()`` returns its numbers (``estimate="tool"``).

    The ``Total`` row is ``http_req_duration``; ``failures`` come from ``http_req_failed`` (whose ``passes`` are
    the *failed* requests); ``throughput_per_s`` is ``http_reqs.rate``. The raw trend values (all keys,
    e.g. ``p(99.9)``) are kept in ``LoadTest.meta["metrics"]``.

    Raises
    ------
    FormatError
        If the JSON is malformed or has no ``http_req_duration`` metric.
    """
    p = ensure_path(path)
    label = run_label(p, run)
    try:
        doc = json.loads(read_bytes(p))
    except (ValueError, UnicodeDecodeError) as err:
        line = getattr(err, "lineno", None)
        raise FormatError(f"k6 summary is not valid JSON: {err}", path=p, line=line) from err
    metrics = doc.get("metrics") if isinstance(doc, dict) else None
    if not isinstance(metrics, dict):
        raise FormatError("k6 summary lacks 'metrics'", path=p, key="metrics")

    def vals(name: str) -> dict[str, Any]:
        m = metrics.get(name)
        if not isinstance(m, dict):
            return {}
        v = m.get("values", m)
        return v if isinstance(v, dict) else {}

    dur = vals("http_req_duration")
    if not dur:
        raise FormatError(
            "k6 summary has no http_req_duration metric", path=p, key="metrics.http_req_duration"
        )
    reqs = vals("http_reqs")
    failed = vals("http_req_failed")
    n = _count(reqs.get("count", dur.get("count", 0)), p, "metrics.http_reqs.count")
    fails = _count(
        failed.get("passes", failed.get("matches", 0)), p, "metrics.http_req_failed.passes"
    )
    row: dict[str, Any] = {
        "label": "Total",
        "requests": n,
        "failures": fails,
        "error_ratio": fails / n if n else np.nan,
    }
    try:
        for k, col in _TREND_KEYS.items():
            row[col] = float(dur[k]) / 1000.0 if k in dur else np.nan
            if not row[col] >= 0 and k in dur:  # NaN, -inf or a negative duration
                raise ValueError(f"{k} is {dur[k]!r}")
        row["throughput_per_s"] = float(reqs.get("rate", np.nan))
    except (TypeError, ValueError) as err:
        raise FormatError(
            f"k6 summary value is not a number: {err}", path=p, key="metrics.http_req_duration"
        ) from err
    row.update(
        {
            "received_bytes_per_s": float(vals("data_received").get("rate", np.nan)),
            "sent_bytes_per_s": float(vals("data_sent").get("rate", np.nan)),
            "apdex": np.nan,
            "estimate": "tool",
            "source": "k6",
            "run": label,
        }
    )
    stats = SUMMARY.conform(pd.DataFrame([row]))
    meta: dict[str, Any] = {"metrics": metrics}
    meta["thresholds"] = _summary_thresholds(metrics)
    meta["checks"] = _summary_checks(doc.get("root_group"))
    return LoadTest(None, "k6", label, str(p), stats=stats, meta=meta)


def _summary_thresholds(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """k6's own threshold results: in the legacy export ``{"p(95)<500": false}`` means *not failed*."""
    out = []
    for name, m in metrics.items():
        th = m.get("thresholds") if isinstance(m, dict) else None
        if isinstance(m, dict) and isinstance(m.get("values"), dict):  # handleSummary JSON
            th = m.get("thresholds", th)
        if not isinstance(th, dict):
            continue
        for source, result in th.items():
            failed = result.get("ok") is False if isinstance(result, dict) else bool(result)
            out.append({"metric": str(name), "threshold": str(source), "failed": failed})
    return out


def _summary_checks(group: Any, out: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Every check of the root group and its sub-groups: name, path, passes, fails."""
    out = [] if out is None else out
    if not isinstance(group, dict):
        return out
    checks = group.get("checks") or {}
    items = checks.values() if isinstance(checks, dict) else checks
    for c in items:
        if isinstance(c, dict) and "name" in c:
            out.append(
                {
                    "name": str(c["name"]),
                    "path": str(c.get("path", "")),
                    "passes": int(c.get("passes", 0) or 0),
                    "fails": int(c.get("fails", 0) or 0),
                }
            )
    groups = group.get("groups") or {}
    for g in groups.values() if isinstance(groups, dict) else groups:
        _summary_checks(g, out)
    return out


@guard_reader
def read_k6(path: str | os.PathLike[str], **kwargs: Any) -> LoadTest:
    """Read any k6 output (CSV, NDJSON or summary export), by content."""
    p = ensure_path(path)
    head = head_bytes(p)
    if _sniff_csv(p, head):
        return read_k6_csv(p, **kwargs)
    if _sniff_json(p, head):
        return read_k6_json(p, **kwargs)
    if _sniff_summary(p, head):
        kwargs.pop("on_bad_lines", None)
        return read_k6_summary(p, **kwargs)
    if not head.strip():
        raise EmptyInputError("file is empty", path=p, expected="k6 output")
    raise FormatError(
        "not a k6 CSV, NDJSON or summary export",
        path=p,
        line=1,
        found=head[:80].decode("utf-8", "replace"),
    )
