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

import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import FormatError, InputError, PerfnbWarning
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
from perfnb.io.locust_json import errors_from_stats, read_locust_json
from perfnb.model.loadtest import INTERVALS, REQUESTS, SUMMARY, LoadTest

__all__ = [
    "locust_files",
    "read_locust",
    "read_locust_json",
    "read_locust_requests",
    "stray_files",
]

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
    if prefix is not None and found and prefix.parent.is_dir():
        log = _own_request_log(prefix)
        if log is not None:
            found["requests"] = log
    return found


def _prefixes(folder: Path) -> list[str]:
    """The Locust ``--csv`` prefixes (file-name stems) in *folder*."""
    names = set()
    for suffix in ("_stats.csv", "_stats_history.csv"):
        names |= {f.name[: -len(suffix)] for f in folder.glob("*" + suffix)}
    return sorted(names)


def _own_request_log(prefix: Path) -> Path | None:
    """The request log of *prefix*: ``<prefix>_*.csv`` or ``<prefix>.*.csv`` with the logger's header.

    A file of a longer prefix in the same folder (``cand_2_…`` beside ``cand``) is not ``cand``'s.
    """
    own = prefix.name
    longer = [x for x in _prefixes(prefix.parent) if x != own and x.startswith(own)]
    known = {own + sfx for sfx in _SUFFIXES.values()}
    for f in sorted(prefix.parent.glob("*.csv")):
        name = f.name
        if name in known or not (name.startswith(own + "_") or name.startswith(own + ".")):
            continue
        if any(name.startswith(x + "_") or name.startswith(x + ".") for x in longer):
            continue
        if head_bytes(f, 200).startswith(_REQ_HEAD):
            return f
    return None


def stray_files(files: dict[str, Path]) -> list[Path]:
    """Files beside a Locust prefix that are no part of it (never merged; ``read_locust`` warns).

    Request logs of another prefix or of none, and other prefixes' stats files.
    """
    base = files.get("stats", files.get("history"))
    if base is None:
        return []
    folder = base.parent
    mine = set(files.values())
    out = []
    for f in sorted(folder.glob("*.csv")):
        if f in mine:
            continue
        head = head_bytes(f, 200).lstrip(b"\xef\xbb\xbf")
        if head.startswith(_REQ_HEAD) or (
            f.name.endswith(("_stats.csv", "_stats_history.csv"))
            and head.startswith(_STATS_HEAD + _HIST_HEAD)
        ):
            out.append(f)
    return out


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


def _stats(
    path: Path, run: str, encoding: str | None, bad: BadLines
) -> tuple[pd.DataFrame, dict[str, list[list[float]]]]:
    """The stats CSV as ``loadtest_summary``, and each label's ``[quantile, seconds]`` points.

    The points (min and max as the 0 and 1 quantiles) are what :meth:`LoadTest.summary` estimates
    Apdex from.
    """
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
    points: dict[str, list[list[float]]] = {}
    cols = {qq: _num(df, pcts[qq], path).to_numpy() for qq in sorted(pcts)}
    for i, lab in enumerate(rows["label"].astype(str)):
        pts = [[0.0, float(rows["min_s"].iloc[i])]]
        for qq, values in cols.items():
            if np.isfinite(values[i]):
                pts.append([float(qq), float(values[i]) / 1000.0])
        pts.append([1.0, float(rows["max_s"].iloc[i])])
        if all(np.isfinite(v) for _, v in pts):
            points[lab] = pts
    return SUMMARY.conform(rows), points


def _history(path: Path, run: str, encoding: str | None, bad: BadLines) -> pd.DataFrame:
    """Locust's history as ``loadtest_intervals``: one row per tick and label.

    ``requests``/``failures`` are the counts *of the tick* (differences of Locust's cumulative
    ``Total Request Count``/``Total Failure Count``), ``throughput_per_s`` is that count over the
    tick's length: Locust's own ``Requests/s`` is a 10-s window that lags 2 s and freezes while
    nothing completes (a stalled server keeps its last rate). Percentiles of a tick in which no
    request completed are missing, and so are Locust's ``0`` placeholders of an empty window.
    ``mean_s`` is the tick's own mean (from the cumulative average × count).
    """
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
        total_req = _num(df, "Total Request Count", path)
        total_fail = _num(df, "Total Failure Count", path)
        rate = _num(df, "Requests/s", path)
        out = pd.DataFrame(
            {
                "timestamp": ts,
                "label": name,
                "users": _num(df, "User Count", path).round().astype("Int64"),
                "max_s": _num(df, "Total Max Response Time", path) / 1000,
            }
        )
        total_ms = _num(df, "Total Average Response Time", path) * total_req  # cumulative sum
    except KeyError as err:
        raise FormatError(
            f"Locust history lacks column {err.args[0]!r}", path=path, line=1
        ) from err
    # per tick and label: differences of the cumulative counts (the first tick counts from 0)
    by = name.astype("string")
    d_req = total_req.groupby(by).diff().fillna(total_req).clip(lower=0)
    d_fail = total_fail.groupby(by).diff().fillna(total_fail).clip(lower=0)
    dt = (ts.dt.as_unit("ns").astype("int64").groupby(by).diff() / 1e9).astype("float64")
    out["requests"] = d_req.round().astype("Int64")
    out["failures"] = d_fail.round().astype("Int64")
    out["throughput_per_s"] = (d_req / dt.where(dt > 0)).astype("float64")
    # the tick's own mean: difference of the cumulative sums (Locust's average is since the start)
    d_ms = total_ms.groupby(by).diff().fillna(total_ms)
    out["mean_s"] = (d_ms / d_req.where(d_req > 0) / 1000).clip(lower=0).astype("float64")
    empty = (d_req == 0).to_numpy()  # nothing completed in this tick
    for q, col in (("p50_s", 0.5), ("p90_s", 0.9), ("p95_s", 0.95), ("p99_s", 0.99)):
        c = _pick(pcts, col)
        out[q] = _pct_series(df, c, path, rate, empty) if c else np.nan
    if _pick(pcts, 1.0):
        out["max_s"] = _pct_series(df, str(_pick(pcts, 1.0)), path, rate, empty)
    out["percentile_kind"] = "windowed" if full else "cumulative"
    out["source"] = "locust"
    out["run"] = run
    res = INTERVALS.conform(out)
    res.attrs["perfnb"] = {
        "requests_and_failures": "per tick (differences of Total Request/Failure Count)",
        "throughput": "requests of the tick / its length (not Locust's lagging Requests/s)",
    }
    return res


def _pct_series(
    df: pd.DataFrame, col: str, path: Path, rate: pd.Series, empty: np.ndarray
) -> pd.Series:
    """A percentile column in seconds; Locust's ``N/A`` and its ``0`` for an empty window are missing."""
    v = _num(df, col, path)
    placeholder = (v == 0) & (rate.fillna(0) == 0)
    return (v.mask(placeholder | empty) / 1000).astype("float64")


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


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def _exceptions(path: Path, encoding: str | None, bad: BadLines) -> list[dict[str, Any]]:
    """Locust's ``_exceptions.csv``: errors the test script raised (Count, Message, Traceback, Nodes).

    ``location`` is the innermost traceback frame outside Locust and site-packages (the locustfile's
    ``file:line in function``), or the innermost frame.
    """
    df = _csv(path, encoding, bad)
    if len(df) == 0:
        return []
    if "Count" not in df or "Message" not in df:
        raise FormatError("Locust exceptions file lacks Count/Message", path=path, line=1)
    counts = _num(df, "Count", path).fillna(0).astype("int64")
    out = []
    for i in range(len(df)):
        tb = str(df["Traceback"].iloc[i]) if "Traceback" in df else ""
        frames = _FRAME.findall(tb)
        own = [f for f in frames if "site-packages" not in f[0] and "dist-packages" not in f[0]]
        where = (own or frames or [("", "", "")])[-1]
        out.append(
            {
                "count": int(counts.iloc[i]),
                "message": str(df["Message"].iloc[i]),
                "location": f"{Path(where[0]).name}:{where[1]} in {where[2]}" if where[0] else "",
                "file": where[0],
                "traceback": tb[-2000:],
            }
        )
    return sorted(out, key=lambda e: -int(e["count"]))


def _sniff_stats(path: Path, head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(_STATS_HEAD + _HIST_HEAD)


@register_format(
    "locust_csv",
    description="Locust --csv output (stats, history, failures)",
    kind="loadtest",
    sniff=_sniff_stats,
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
            return read_locust_requests(p, run=run, on_bad_lines=on_bad_lines)
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
    stats, points = _stats(files["stats"], label, encoding, bad) if "stats" in files else (None, {})
    history = _history(files["history"], label, encoding, bad) if "history" in files else None
    errs = _failures(files["failures"], encoding, bad) if "failures" in files else None
    if errs is None and stats is not None:
        errs = errors_from_stats(stats)
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
    if points:
        lt.meta["percentiles"] = points
    if "exceptions" in files:
        lt.meta["exceptions"] = _exceptions(files["exceptions"], encoding, bad)
    strays = stray_files(files)
    if strays:
        prefix = base.name.rsplit("_stats", 1)[0]
        names = ", ".join(f.name for f in strays[:5]) + (" …" if len(strays) > 5 else "")
        warnings.warn(
            f"{base.parent}: {names} {'is' if len(strays) == 1 else 'are'} not part of the Locust "
            f"run {prefix!r} and {'was' if len(strays) == 1 else 'were'} not read (a file of this "
            f"run is named {prefix}_<name>.csv)",
            PerfnbWarning,
            stacklevel=2,
        )
        lt.meta["ignored_files"] = [str(f) for f in strays]
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
    return read_locust(path, **kwargs)
