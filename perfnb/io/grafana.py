r"""Grafana panel CSV exports → the long metric samples frame (:data:`perfnb.io.prometheus.METRIC_SAMPLES`).

Handled layouts:

* legacy *series as rows*: header ``Series;Time;Value`` (any of ``; , \t``);
* *joined by time* / Grafana ≥ 7 "Download CSV": a time column then one column per series, header cells
  quoted (``"Time","{__name__=""up"", job=""x""}"``), an optional ``sep=;`` first line (Excel), a UTF-8 or
  UTF-16 BOM, repeated header lines and blank lines between frames (skipped).

Times: 13-digit epoch milliseconds, 10-digit epoch seconds, or ISO/“YYYY-MM-DD HH:mm:ss” strings; strings
without an offset are taken in ``tz`` (default UTC, with an :class:`~perfnb.errors.AssumedUnitWarning`).
Values: empty, ``null``, ``undefined`` and ``NaN`` are NaN. With "Formatted data" values carry units
(``45.2 ms``, ``12.3%``, ``1.05 K``, ``3 MiB``): they are converted to base units (seconds, ratio, bytes, plain
numbers) and an AssumedUnitWarning says so; an unknown unit is a :class:`~perfnb.errors.FormatError` naming
the line. Series headers ``name{k="v"}``, ``{__name__="x", k="v"}`` and graphite-style ``name(k=v,)`` become
label columns; any other header is the ``metric`` name (a legend).
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from perfnb.errors import AssumedUnitWarning, EmptyInputError, FormatError, truncate
from perfnb.io._common import (
    BadLines,
    OnBadLines,
    decode_text,
    ensure_path,
    guard_reader,
    perfnb_attrs,
    read_bytes,
    register_format,
    run_label,
)
from perfnb.io._values import epoch_to_utc
from perfnb.io.prometheus import samples_frame

__all__ = ["parse_series_name", "parse_value", "read_grafana"]

_NA = {"", "null", "undefined", "nan", "n/a"}
_UNITS: dict[str, tuple[float, str]] = {
    "ns": (1e-9, "s"),
    "µs": (1e-6, "s"),
    "μs": (1e-6, "s"),
    "us": (1e-6, "s"),
    "ms": (1e-3, "s"),
    "s": (1.0, "s"),
    "sec": (1.0, "s"),
    "min": (60.0, "s"),
    "m": (60.0, "s"),
    "h": (3600.0, "s"),
    "hour": (3600.0, "s"),
    "day": (86400.0, "s"),
    "d": (86400.0, "s"),
    "%": (0.01, "ratio"),
    "b": (1.0, "bytes"),
    "kb": (1e3, "bytes"),
    "mb": (1e6, "bytes"),
    "gb": (1e9, "bytes"),
    "tb": (1e12, "bytes"),
    "kib": (1024.0, "bytes"),
    "mib": (1024.0**2, "bytes"),
    "gib": (1024.0**3, "bytes"),
    "tib": (1024.0**4, "bytes"),
    "k": (1e3, ""),
    "mil": (1e6, ""),
    "bil": (1e9, ""),
    "tri": (1e12, ""),
    "ops/s": (1.0, "1/s"),
    "req/s": (1.0, "1/s"),
    "rps": (1.0, "1/s"),
    "/s": (1.0, "1/s"),
}
_VALUE_RE = re.compile(r"^\s*([-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)?\s*$")
_PROM_HDR = re.compile(r"^\s*([^{}\s]*)\s*\{(.*)\}\s*$")
_PROM_LABEL = re.compile(r'\s*([^=,\s]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_OFFSET_RE = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_GRAPHITE_HDR = re.compile(r"^([^()]+)\((.*=.*)\)$")


def parse_series_name(header: str) -> dict[str, str]:
    """Labels (with ``__name__``) from a Grafana series header.

    >>> parse_series_name('up{instance="a:9090", job="p"}')
    {'__name__': 'up', 'instance': 'a:9090', 'job': 'p'}
    >>> parse_series_name("net.out(device=eth0,host=h,)")
    {'__name__': 'net.out', 'device': 'eth0', 'host': 'h'}
    """
    h = header.strip()
    m = _PROM_HDR.match(h)
    if m:
        labels = {
            k: v.replace('\\"', '"').replace("\\\\", "\\")
            for k, v in _PROM_LABEL.findall(m.group(2))
        }
        name = m.group(1) or labels.pop("__name__", "")
        labels.pop("__name__", None)
        return {"__name__": name, **labels}
    g = _GRAPHITE_HDR.match(h)
    if g:
        out = {"__name__": g.group(1)}
        for part in g.group(2).split(","):
            if "=" in part:
                k, _, v = part.partition("=")
                out[k.strip()] = v.strip()
        return out
    return {"__name__": h}


def parse_value(text: str) -> tuple[float, str | None]:
    """A cell as a float in base units, and the unit it carried (``None`` if bare).

    >>> parse_value("250 ms"), parse_value("12.5%"), parse_value("null")[1]
    ((0.25, 'ms'), (0.125, '%'), None)
    """
    t = text.strip()
    if t.lower() in _NA:
        return float("nan"), None
    try:
        return float(t), None
    except ValueError:
        pass
    m = _VALUE_RE.match(t)
    if not m:
        raise ValueError(t)
    num = float(m.group(1).replace(",", ""))
    unit = (m.group(2) or "").strip()
    if not unit:
        return num, None
    factor = _UNITS.get(unit) or _UNITS.get(unit.lower())
    if factor is None:
        raise KeyError(unit)
    return num * factor[0], unit


def _parse_times(
    cells: list[str], path: Path, lines: list[int], tz: str | None, bad: BadLines
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Time cells as UTC, and a mask of the rows whose time is unreadable (reported to *bad*).

    One vectorised parse (a bad cell is NaT), never a parse per cell: a single malformed cell used to
    make the error path parse every cell again one by one (0.5 s → 17 s).
    """
    if cells and all(c.isdigit() for c in cells):
        arr = np.asarray([int(c) if len(c) <= 15 else -1 for c in cells], dtype="int64")
        valid = arr[arr >= 0]
        unit: Literal["s", "ms"] = "ms" if valid.size and np.median(valid) > 10**11 else "s"
        out = pd.DatetimeIndex(epoch_to_utc(arr, unit))
    else:
        offsets = np.array([bool(_OFFSET_RE.search(c)) for c in cells], dtype=bool)
        has_offset = bool(cells) and bool(offsets.all())
        parsed = pd.to_datetime(pd.Series(cells), format="mixed", utc=True, errors="coerce")
        if not has_offset:
            parsed = parsed.where(~offsets)  # an offset on some cells only: those rows are bad
            if tz is None and parsed.notna().any():
                warnings.warn(
                    f"{path}: times have no UTC offset; assuming UTC (pass tz= to say otherwise)",
                    AssumedUnitWarning,
                    stacklevel=4,
                )
            elif tz is not None:
                parsed = parsed.dt.tz_localize(None).dt.tz_localize(tz).dt.tz_convert("UTC")
        out = pd.DatetimeIndex(parsed)
    nat = np.asarray(out.isna())
    for i in np.flatnonzero(nat):
        bad.add(
            lines[int(i)],
            "time cell is not a time",
            found=cells[int(i)],
            expected="epoch ms/s or an ISO-8601 time (all with or all without a UTC offset)",
        )
    return out, nat


def _sniff_grafana(path: Path, head: bytes) -> bool:
    try:
        text = decode_text(
            head[: 4096 - (4096 % 2)] if head[:2] in (b"\xff\xfe", b"\xfe\xff") else head[:4096]
        )
    except Exception:
        return False
    lines = [ln for ln in text.lstrip("\ufeff").splitlines() if ln.strip()][:2]
    if not lines:
        return False
    first = lines[0]
    if re.match(r"^sep=.$", first):
        return True
    h = first.replace('"', "").strip().lower()
    return bool(re.match(r"^series[;,\t]time[;,\t]value$", h)) or bool(
        re.match(r"^time[;,\t]", h) and (first.startswith('"') or ";" in first or "{" in first)
    )


@register_format(
    "grafana_csv",
    description="Grafana panel CSV export (series-as-rows or joined by time)",
    kind="metrics",
    sniff=_sniff_grafana,
    priority=30,
)
@guard_reader
def read_grafana(
    path: str | os.PathLike[str],
    *,
    run: str | None = None,
    tz: str | None = None,
    strip_units: bool = True,
    on_bad_lines: OnBadLines = "error",
) -> pd.DataFrame:
    """Read a Grafana CSV export into METRIC_SAMPLES.

    Parameters
    ----------
    path
        The CSV file.
    run
        Run label (default: the file stem).
    tz
        Time zone of times written without an offset (Grafana's "Formatted data" uses the dashboard zone).
    strip_units
        Convert values with units to base units (default); ``False`` makes any unit an error.
    on_bad_lines
        ``"error"`` (default), ``"warn"`` or ``"skip"`` for a row with the wrong number of cells, an
        unreadable time or value; skipped rows are counted in ``df.attrs["perfnb"]["skipped_rows"]``.
    """
    p = ensure_path(path)
    raw = read_bytes(p, text=False)
    text = decode_text(raw, p).lstrip("\ufeff")
    if not text.strip():
        raise EmptyInputError("empty file", path=p, expected="a Grafana CSV export")
    lines = text.splitlines()
    first = 0
    delim: str | None = None
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first < len(lines) and re.match(r"^sep=.$", lines[first]):
        delim = lines[first][4]
        first += 1
    if first >= len(lines):
        raise EmptyInputError("no header line", path=p)
    header_line = lines[first]
    if delim is None:
        counts = {d: header_line.count(d) for d in (";", "\t", ",")}
        delim = max(counts, key=lambda d: counts[d])
    bad = BadLines(on_bad_lines, path=p)
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delim)
    try:
        rows = list(reader)
    except csv.Error as err:  # a field over 128 KiB, a stray quote
        raise FormatError(
            f"not a valid CSV row ({err})", path=p, line=first + reader.line_num
        ) from err
    header = [h.strip() for h in rows[0]]
    norm = [h.lower() for h in header]
    body = []
    for k, r in enumerate(rows[1:], start=first + 2):
        if not r or all(not c.strip() for c in r):
            continue
        cells = [c.strip().lower() for c in r]
        if len(r) == 1:
            cells = [c.strip().strip('"').lower() for c in re.split(r"[;,\t]", r[0])]
        if cells == norm or (cells[0] == norm[0] and len(cells) == len(norm)):
            continue  # repeated header (possibly written with another delimiter)
        if len(r) != len(header):
            bad.add(
                k,
                f"row has {len(r)} cells",
                expected=f"{len(header)} like the header",
                found=delim.join(r),
            )
            continue
        body.append((k, r))
    if not body:
        raise EmptyInputError("no data rows", path=p, expected="a Grafana CSV export with samples")
    units: set[str] = set()

    def values(cells: list[str], lines_: list[int], rejected: np.ndarray) -> np.ndarray:
        """The cells as floats; an unreadable one marks its row in *rejected* (and goes to bad)."""
        out = np.full(len(cells), np.nan)
        for i, c in enumerate(cells):
            if rejected[i]:
                continue
            try:
                v, u = parse_value(c)
            except KeyError as err:
                rejected[i] = True
                bad.add(
                    lines_[i],
                    f"unknown unit {truncate(err.args[0], 40)} in value",
                    found=c,
                    expected="a number, optionally with a known unit (ms, s, %, KiB, K …)",
                )
                continue
            except (ValueError, OverflowError):
                rejected[i] = True
                bad.add(lines_[i], "value is not a number", found=c, expected="a number")
                continue
            if u is not None:
                if not strip_units:
                    rejected[i] = True
                    bad.add(
                        lines_[i],
                        "value carries a unit",
                        found=c,
                        expected="a bare number (strip_units=False)",
                    )
                    continue
                units.add(u)
            out[i] = v
        return out

    line_nos = [k for k, _ in body]
    if norm == ["series", "time", "value"]:
        ts, rejected = _parse_times([r[1].strip() for _, r in body], p, line_nos, tz, bad)
        vals = values([r[2] for _, r in body], line_nos, rejected)
        keep_rows = ~rejected
        body = [row for row, k in zip(body, keep_rows, strict=True) if k]
        ts, vals = ts[keep_rows], vals[keep_rows]
        if not body:
            raise EmptyInputError("no readable data rows", path=p)
        names = [r[0] for _, r in body]
        order = pd.Series(names).astype("category")
        cats = list(order.cat.categories)
        # samples_frame repeats labels per series: group rows by series (stable)
        idx = np.argsort(order.cat.codes.to_numpy(), kind="stable")
        codes = order.cat.codes.to_numpy()[idx]
        counts = np.bincount(codes, minlength=len(cats)).tolist()
        labels = [parse_series_name(c) for c in cats]
        cols: dict[str, Any] = {"timestamp": ts[idx], "value": vals[idx]}
        keep = [i for i, c in enumerate(counts) if c]
        df = samples_frame(
            cols,
            [labels[i] for i in keep],
            [counts[i] for i in keep],
            source="grafana",
            run=run_label(p, run),
        )
    else:
        ts, rejected = _parse_times([r[0].strip() for _, r in body], p, line_nos, tz, bad)
        columns_v = [
            values([r[j] for _, r in body], line_nos, rejected) for j in range(1, len(header))
        ]
        keep_rows = ~rejected
        body = [row for row, k in zip(body, keep_rows, strict=True) if k]
        ts = ts[keep_rows]
        if not body:
            raise EmptyInputError("no readable data rows", path=p)
        parts_ts: list[pd.DatetimeIndex] = []
        parts_v: list[np.ndarray] = []
        wide_labels: list[dict[str, str]] = []
        wide_counts: list[int] = []
        for j, h in enumerate(header[1:], start=1):
            v = columns_v[j - 1][keep_rows]
            ok = ~np.isnan(v) | np.array([r[j].strip().lower() == "nan" for _, r in body])
            parts_ts.append(ts[ok])
            parts_v.append(v[ok])
            wide_labels.append(parse_series_name(h))
            wide_counts.append(int(ok.sum()))
        cols = {
            "timestamp": parts_ts[0].append(parts_ts[1:])
            if parts_ts
            else pd.DatetimeIndex([], tz="UTC"),
            "value": np.concatenate(parts_v) if parts_v else np.array([]),
        }
        df = samples_frame(cols, wide_labels, wide_counts, source="grafana", run=run_label(p, run))
        perfnb_attrs(df)["empty_cells_dropped"] = int(
            len(body) * (len(header) - 1) - sum(wide_counts)
        )
    if units:
        warnings.warn(
            f"{p}: values carried display units {sorted(units)}; converted to base units "
            "(seconds, ratio 0-1, bytes; K/Mil as 10^3/10^6)",
            AssumedUnitWarning,
            stacklevel=2,
        )
        perfnb_attrs(df)["units_converted"] = sorted(units)
    bad.finish(df)
    return df
