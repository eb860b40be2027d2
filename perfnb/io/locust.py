r"""Locust readers: ``--csv PREFIX`` files, Locust's ``--json`` output, the per-request CSV of CsvRequestLogger.

The ``--csv`` files are ``_stats``, ``_stats_history``, ``_failures``, ``_exceptions`` (1.x and 2.x column
sets, custom percentile columns); the request log is ``locust.contrib.csv_request_logger.CsvRequestLogger``'s
(Locust ≥ 2.44).

Traps handled: rows end in ``\\r\\n`` (or ``\\r\\r\\n`` from Windows); encoding may be cp936/cp1252 (bytes that
are not UTF-8 are decoded as ``cp1252``… unless ``encoding=`` is given); percentile columns are found by
the regex ``^\\d+(\\.\\d+)?%$``; ``N/A`` marks no data; history percentiles are **cumulative** unless
``--csv-full-history`` was used (then they are a ~10-s sliding window) — ``percentile_kind`` says which.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from perfnb.errors import FormatError, InputError
from perfnb.io._common import (
    BadLines,
    OnBadLines,
    ensure_path,
    guard_reader,
    head_bytes,
    read_bytes,
    register_format,
    run_label,
)
from perfnb.io._values import counts, csv_rows, drop_bad_requests, epoch_to_utc
from perfnb.io.loadtest import INTERVALS, REQUESTS, SUMMARY, LoadTest

__all__ = ["locust_files", "read_locust", "read_locust_json", "read_locust_requests"]

_PCT = re.compile(r"^(\d+(?:\.\d+)?)%?$")
_STATS_HEAD = (
    b"Type,Name,Request Count",
    b'"Type","Name","# requests"',
    b'"Type","Name","Request Count"',
)
_HIST_HEAD = (b"Timestamp,User Count", b'"Timestamp","User Count"')
_REQ_HEAD = b"timestamp,request_type,name,response_time_ms"
_SUFFIXES = {
    "stats": "_stats.csv",
    "history": "_stats_history.csv",
    "failures": "_failures.csv",
    "exceptions": "_exceptions.csv",
}


def locust_files(path: str | os.PathLike[str]) -> dict[str, Path]:
    """The Locust CSV files of a prefix (``out/run``), one of its files, or a folder holding one set."""
    p = Path(path)
    prefix: Path | None = None
    if p.is_dir():
        stats = sorted([*p.glob("*_stats.csv"), *p.glob("*_stats.csv.gz")])
        if stats:
            prefix = stats[0].with_name(stats[0].name.removesuffix(".gz")[: -len("_stats.csv")])
        else:
            hist = sorted([*p.glob("*_stats_history.csv"), *p.glob("*_stats_history.csv.gz")])
            if hist:
                name = hist[0].name.removesuffix(".gz")
                prefix = hist[0].with_name(name[: -len("_stats_history.csv")])
    else:
        name = p.name.removesuffix(".gz")  # a rotated, compressed copy
        for suffix in sorted(_SUFFIXES.values(), key=len, reverse=True):
            if name.endswith(suffix):
                prefix = p.with_name(name[: -len(suffix)])
                break
        else:
            prefix = p
    found: dict[str, Path] = {}
    if prefix is not None:
        for kind, suffix in _SUFFIXES.items():
            for ext in ("", ".gz"):
                f = prefix.with_name(prefix.name + suffix + ext)
                if f.is_file():
                    found[kind] = f
                    break
    folder = p if p.is_dir() else (prefix.parent if prefix is not None else None)
    if folder is not None and found and folder.is_dir():
        for f in sorted([*folder.glob("*.csv"), *folder.glob("*.csv.gz")]):
            if head_bytes(f, 200).startswith(_REQ_HEAD):
                found["requests"] = f
                break
    return found


def _text(path: Path, encoding: str | None) -> str:
    data = read_bytes(path, text=encoding is None)  # gzip, BOM, UTF-16 → UTF-8
    for enc in [encoding] if encoding else ["utf-8", "gb18030", "cp1252"]:
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 fallback rarely fails
        raise FormatError("file is not text in a known encoding", path=path, hint="pass encoding=")
    return text.replace("\r\r\n", "\n").replace("\r\n", "\n")


def _csv(path: Path, encoding: str | None, bad: BadLines) -> pd.DataFrame:
    """The rows of a Locust CSV as text columns indexed by line (ragged rows are bad rows)."""
    return csv_rows(_text(path, encoding), path, bad, what="a Locust CSV")


def _num(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    """Column *col* as float64 (``N/A`` and empty are NaN); text, ±inf or a negative value raise.

    Locust's numbers are counts, times and rates: none can be infinite, negative or above 10¹⁵, so
    ``1e999`` or ``-351`` is a :class:`FormatError` on its line (the frame's index holds the line numbers).
    """
    s = df[col].replace({"N/A": np.nan, "": np.nan})
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    badmask = (out.isna() & s.notna()) | ~(out.abs() < 1e15) & out.notna() | (out < 0)
    if badmask.any():
        i = int(np.flatnonzero(badmask.to_numpy())[0])
        what = "not a number" if pd.isna(out.iloc[i]) else "out of range"
        raise FormatError(
            f"column {col!r} is {what}",
            expected="a finite number ≥ 0",
            path=path,
            line=int(df.index[i]),
            key=col,
            found=s.iloc[i],
        )
    return out


def _pct_cols(columns: list[str]) -> dict[float, str]:
    out: dict[float, str] = {}
    for c in columns:
        m = _PCT.match(c.strip())
        if m and (c.endswith("%") or c.startswith("99.9")):
            out[float(m.group(1)) / 100.0] = c
    return out


def _pick(pcts: dict[float, str], q: float) -> str | None:
    for k, v in pcts.items():
        if abs(k - q) < 1e-9:
            return v
    return None


def _col(df: pd.DataFrame, *names: str) -> str:
    for n in names:
        if n in df.columns:
            return n
    raise KeyError(names[0])


def _stats(path: Path, run: str, encoding: str | None, bad: BadLines) -> pd.DataFrame:
    df = _csv(path, encoding, bad)
    try:
        name = df["Name"]
        n = _num(df, _col(df, "Request Count", "# requests"), path)
        f = _num(df, _col(df, "Failure Count", "# failures"), path)
        pcts = _pct_cols(list(df.columns))
        rows = pd.DataFrame(
            {
                "label": name.where(~name.isin(["Aggregated", "Total", "None Total"]), "Total"),
                "requests": n.fillna(0).astype("int64"),
                "failures": f.fillna(0).astype("int64"),
                "mean_s": _num(df, _col(df, "Average Response Time", "Average response time"), path)
                / 1000,
                "min_s": _num(df, _col(df, "Min Response Time", "Min response time"), path) / 1000,
                "max_s": _num(df, _col(df, "Max Response Time", "Max response time"), path) / 1000,
                "throughput_per_s": _num(df, "Requests/s", path),
            }
        )
    except KeyError as err:
        raise FormatError(
            f"Locust stats file lacks column {err.args[0]!r}", path=path, line=1
        ) from err
    for q, col in (("p50_s", 0.5), ("p90_s", 0.9), ("p95_s", 0.95), ("p99_s", 0.99)):
        c = _pick(pcts, col)
        rows[q] = _num(df, c, path) / 1000 if c else np.nan
    if rows["p50_s"].isna().all() and "Median Response Time" in df:
        rows["p50_s"] = _num(df, "Median Response Time", path) / 1000
    rows["error_ratio"] = (rows["failures"] / rows["requests"].where(rows["requests"] > 0)).astype(
        "float64"
    )
    rows["received_bytes_per_s"] = np.nan
    if "Average Content Size" in df:
        rows["received_bytes_per_s"] = (
            _num(df, "Average Content Size", path) * rows["throughput_per_s"]
        )
    rows["sent_bytes_per_s"] = np.nan
    rows["apdex"] = np.nan
    rows["estimate"] = "tool"
    rows["source"] = "locust"
    rows["run"] = run
    return SUMMARY.conform(rows)


def _history(path: Path, run: str, encoding: str | None, bad: BadLines) -> pd.DataFrame:
    df = _csv(path, encoding, bad)
    try:
        ts = epoch_to_utc(_num(df, "Timestamp", path), "s")
        if ts.isna().any():
            i = int(np.flatnonzero(ts.isna().to_numpy())[0])
            raise FormatError(
                "column 'Timestamp' is out of range",
                path=path,
                line=int(df.index[i]),
                found=df["Timestamp"].iloc[i],
                expected="Unix seconds between 1970 and 2262",
            )
        ts.index = df.index
        name = df["Name"].where(df["Name"] != "Aggregated", "Total")
        full = bool((name != "Total").any())
        pcts = _pct_cols([c for c in df.columns if not c.startswith("Total")])
        out = pd.DataFrame(
            {
                "timestamp": ts,
                "label": name,
                "users": _num(df, "User Count", path).round().astype("Int64"),
                "requests": _num(df, "Total Request Count", path).round().astype("Int64"),
                "failures": _num(df, "Total Failure Count", path).round().astype("Int64"),
                "throughput_per_s": _num(df, "Requests/s", path),
                "mean_s": _num(df, "Total Average Response Time", path) / 1000,
                "max_s": _num(df, "Total Max Response Time", path) / 1000,
            }
        )
    except KeyError as err:
        raise FormatError(
            f"Locust history lacks column {err.args[0]!r}", path=path, line=1
        ) from err
    for q, col in (("p50_s", 0.5), ("p90_s", 0.9), ("p95_s", 0.95), ("p99_s", 0.99)):
        c = _pick(pcts, col)
        out[q] = _num(df, c, path) / 1000 if c else np.nan
    if _pick(pcts, 1.0):
        out["max_s"] = _num(df, str(_pick(pcts, 1.0)), path) / 1000
    out["percentile_kind"] = "windowed" if full else "cumulative"
    out["source"] = "locust"
    out["run"] = run
    res = INTERVALS.conform(out)
    res.attrs["perfnb"] = {"requests_and_failures": "cumulative (Total Request Count)"}
    return res


def _failures(path: Path, encoding: str | None, bad: BadLines) -> pd.DataFrame:
    df = _csv(path, encoding, bad)
    if "Error" not in df or "Occurrences" not in df:
        raise FormatError("Locust failures file lacks Error/Occurrences", path=path, line=1)
    return pd.DataFrame(
        {
            "label": df.get("Name", pd.Series([""] * len(df))).astype("string"),
            "status": df["Error"]
            .str.extract(r"(\d{3}) (?:Client|Server) Error", expand=False)
            .astype("string"),
            "error": df["Error"].astype("string"),
            "count": _num(df, "Occurrences", path).fillna(0).astype("int64"),
        }
    ).sort_values("count", ascending=False, ignore_index=True)


def _sniff_stats(path: Path, head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(_STATS_HEAD + _HIST_HEAD)


@register_format(
    "locust_csv",
    description="Locust --csv output (stats, history, failures)",
    kind="loadtest",
    sniff=_sniff_stats,
    extensions=(".csv",),
    priority=20,
)
@guard_reader
def read_locust(
    path: str | os.PathLike[str],
    *,
    run: str | None = None,
    on_bad_lines: OnBadLines = "error",
    encoding: str | None = None,
) -> LoadTest:
    """Read Locust ``--csv`` output given the prefix, any of its files, or the folder.

    A per-request CSV (``CsvRequestLogger``) in the same folder is read too, making statistics exact.

    Raises
    ------
    InputError
        If no ``_stats.csv``/``_stats_history.csv`` is found (a failures file alone is not enough).
    FormatError
        On malformed files, naming file and line.
    """
    p = Path(path)
    files = locust_files(p)
    if "stats" not in files and "history" not in files:
        if p.is_file() and head_bytes(p, 200).startswith(_REQ_HEAD):
            return cast("LoadTest", read_locust_requests(p, run=run, on_bad_lines=on_bad_lines))
        raise InputError(
            "no Locust _stats.csv or _stats_history.csv here",
            path=p,
            expected="a --csv prefix, one of its files, or its folder",
            hint="a _failures.csv alone has no request counts",
        )
    base = files.get("stats", files.get("history"))
    if base is None:  # pragma: no cover - checked above
        raise InputError("no Locust stats", path=p)
    label = run or (p.name if p.is_dir() else base.name.rsplit("_stats", 1)[0] or base.stem)
    bad = BadLines(on_bad_lines, path=base)
    stats = _stats(files["stats"], label, encoding, bad) if "stats" in files else None
    history = _history(files["history"], label, encoding, bad) if "history" in files else None
    errs = _failures(files["failures"], encoding, bad) if "failures" in files else None
    requests = None
    if "requests" in files:
        requests = read_locust_requests(
            files["requests"], run=label, on_bad_lines=on_bad_lines
        ).requests
        if requests is not None and history is not None and len(history):
            tot = history[history["label"] == "Total"][["timestamp", "users"]].dropna()
            if len(tot):
                m = pd.merge_asof(
                    requests[["timestamp"]].reset_index().sort_values("timestamp"),
                    tot.sort_values("timestamp"),
                    on="timestamp",
                    direction="nearest",
                ).set_index("index")
                requests["users"] = m["users"].reindex(requests.index).astype("Int64")
    lt = LoadTest(
        requests, "locust", label, str(base), stats=stats, history=history, errors_table=errs
    )
    lt.meta["files"] = {k: str(v) for k, v in files.items()}
    bad.finish(stats if stats is not None else history)
    bad.to_meta(lt.meta)
    return lt


def _sniff_requests(path: Path, head: bytes) -> bool:
    return head.startswith(_REQ_HEAD)


@register_format(
    "locust_requests",
    description="Locust CsvRequestLogger per-request CSV",
    kind="loadtest",
    sniff=_sniff_requests,
    extensions=(".csv",),
    priority=20,
)
@guard_reader
def read_locust_requests(
    path: str | os.PathLike[str], *, run: str | None = None, on_bad_lines: OnBadLines = "error"
) -> LoadTest:
    """Read the per-request CSV of ``locust.contrib.csv_request_logger.CsvRequestLogger``.

    Raises
    ------
    FormatError
        On rows with a non-numeric timestamp or response time (``on_bad_lines``).
    """
    p = ensure_path(path)
    label = run_label(p, run)
    bad = BadLines(on_bad_lines, path=p)
    df = _csv(p, None, bad)
    need = ["timestamp", "name", "response_time_ms", "status_code", "exception"]
    if any(c not in df for c in need):
        raise FormatError("not a Locust request log", path=p, line=1, expected=",".join(need))
    t = pd.to_numeric(df["timestamp"], errors="coerce")
    rt = pd.to_numeric(df["response_time_ms"], errors="coerce")
    short = df["exception"].isna().to_numpy()  # a row cut short (the logger writes "" for success)
    badm = t.isna() | rt.isna() | short
    for i in np.flatnonzero(badm.to_numpy()):
        bad.add(
            int(df.index[int(i)]),
            "row has fewer fields than the header (cut short?)"
            if short[i]
            else "timestamp/response_time_ms is not a number",
            found=df["response_time_ms"].iloc[i],
        )
    df = df[~badm.to_numpy()]
    t, rt = t[~badm], rt[~badm]
    exc = df["exception"].astype("string")
    lines = df.index.to_numpy()
    out = pd.DataFrame(
        {
            "timestamp": epoch_to_utc(t, "s").to_numpy(),
            "label": df["name"],
            "response_time_s": rt / 1000.0,
            "success": (exc == "").to_numpy(dtype=bool),
            "status": df["status_code"],
            "error": exc.mask(exc == ""),
            "bytes": pd.to_numeric(df["response_length"], errors="coerce")
            if "response_length" in df
            else np.nan,
            "is_controller": False,
            "source": "locust",
            "run": label,
        }
    )
    out = drop_bad_requests(out.reset_index(drop=True), bad, lines)
    out["bytes"] = counts(out["bytes"]).to_numpy()
    res = REQUESTS.conform(out)
    bad.finish(res)
    lt = LoadTest(res, "locust", label, str(p))
    bad.to_meta(lt.meta)
    return lt


def _sniff_json(path: Path, head: bytes) -> bool:
    h = head.lstrip()
    return h.startswith(b"[") and b'"response_times"' in h and b'"num_requests"' in h


@register_format(
    "locust_json",
    description="Locust --json output",
    kind="loadtest",
    sniff=_sniff_json,
    extensions=(".json",),
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
    return LoadTest(None, "locust", label, str(p), stats=SUMMARY.conform(df))


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


@register_format(
    "locust_dir",
    description="folder of Locust --csv output",
    kind="loadtest",
    sniff=lambda path, head: bool({"stats", "history"} & set(locust_files(path))),
    directory=True,
    priority=20,
)
@guard_reader
def _read_locust_dir(path: str | os.PathLike[str], **kwargs: Any) -> LoadTest:
    return cast("LoadTest", read_locust(path, **kwargs))
