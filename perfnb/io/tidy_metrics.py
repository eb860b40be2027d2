"""Generic tidy metric tables (CSV or Parquet) and :func:`read_metrics`, the metrics sniffer.

Tidy tables have ``timestamp``, ``metric``, ``value`` and label columns.
:func:`read_metrics`, which sniffs any metrics file (Prometheus API JSON, exposition scrapes, Grafana CSV, tidy
CSV/Parquet) and returns a :class:`~perfnb.io.prometheus.Metrics` that the MT rules apply to.

Tidy times may be ISO strings (naive ones are UTC), or epoch numbers (seconds, or milliseconds when > 1e11).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError, FormatError
from perfnb.io._common import (
    FORMATS,
    BadLines,
    OnBadLines,
    ensure_path,
    expand_paths_detailed,
    guard_reader,
    head_bytes,
    read_text,
    register_format,
    register_kind,
    run_label,
    sniff,
)
from perfnb.io._values import csv_rows, epoch_to_utc
from perfnb.io.prometheus import METRIC_SAMPLES, Metrics, concat_samples, label_column

__all__ = ["read_metrics", "read_tidy_metrics"]

_NEEDED = ("timestamp", "metric", "value")


def _sniff_tidy(path: Path, head: bytes) -> bool:
    if head[:4] == b"PAR1":
        try:
            import pyarrow.parquet as pq

            names = set(pq.read_schema(path).names)
        except Exception:
            return False
        return set(_NEEDED) <= names
    first = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace").strip()
    cols = [c.strip().strip('"').lower() for c in first.split(",")]
    return set(_NEEDED) <= set(cols)


@register_format(
    "tidy_metrics",
    description="tidy metric samples, CSV or Parquet (timestamp, metric, value, labels…)",
    kind="metrics",
    sniff=_sniff_tidy,
    priority=40,
)
@guard_reader
def read_tidy_metrics(
    path: str | os.PathLike[str], *, run: str | None = None, on_bad_lines: OnBadLines = "error"
) -> pd.DataFrame:
    """Read a tidy CSV/Parquet table of metric samples into METRIC_SAMPLES (other columns become labels).

    A row whose timestamp, metric or value cannot be read (or with the wrong number of fields) is a
    bad row: ``on_bad_lines="error"`` raises with its line, ``"warn"``/``"skip"`` drop and count it
    in ``df.attrs["perfnb"]["skipped_rows"]``.
    """
    p = ensure_path(path)
    bad = BadLines(on_bad_lines, path=p)
    if head_bytes(p, 4) == b"PAR1":
        try:
            df = pd.read_parquet(p)
        except (ValueError, OSError) as err:
            raise FormatError(f"cannot read table: {err}", path=p, expected="Parquet") from err
        df.index = pd.RangeIndex(1, len(df) + 1)  # Parquet has rows, not lines: the row number
    else:
        df = csv_rows(read_text(p), p, bad, what="a tidy metrics CSV")
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in _NEEDED if c not in df.columns]
    if missing:
        raise FormatError(
            f"missing column(s) {missing}", path=p, line=1, expected="timestamp, metric, value"
        )
    # a row is bad when its time does not parse, its metric is empty or its value is garbage:
    # never a NaN sample that nobody asked for
    ts = _timestamps(df["timestamp"])
    metric = df["metric"].astype("string")
    value_text = df["value"].astype("string").str.strip()
    vals = pd.to_numeric(value_text.replace({"+Inf": "inf", "NaN": "nan"}), errors="coerce")
    vals_ok = vals.notna() | value_text.str.lower().isin(["nan"]).fillna(False)
    rows_bad = np.zeros(len(df), dtype=bool)
    checks = (
        (ts.isna().to_numpy(), "timestamp", "a time (epoch s/ms or ISO 8601)"),
        ((metric.isna() | (metric.str.strip() == "")).to_numpy(dtype=bool), "metric", "a name"),
        (~vals_ok.to_numpy(dtype=bool), "value", "a number (NaN and ±Inf allowed)"),
    )
    for mask, col, expected in checks:
        for i in np.flatnonzero(mask & ~rows_bad):
            bad.add(
                int(df.index[int(i)]),
                f"{col} is not readable",
                found=df[col].iloc[int(i)],
                expected=expected,
            )
        rows_bad |= mask
    good = ~rows_bad
    df, ts, vals = df[good], ts[good], vals[good]
    if df.empty:
        raise EmptyInputError("no readable rows", path=p)
    df = df.reset_index(drop=True)
    df["timestamp"] = ts.to_numpy()
    df["metric"] = df["metric"].astype("string")
    df["value"] = vals.to_numpy(dtype="float64")
    numeric = ("lower", "upper", "boundary_rule")
    for c in numeric:
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    keep = ("timestamp", "metric", "value", "source", "run", *numeric)
    rename = {c: label_column(c) for c in df.columns if c not in keep}
    df = df.rename(columns=rename)
    for c in rename.values():
        df[c] = df[c].astype("string").astype("category")
    if "source" not in df.columns:
        df["source"] = "tidy"
    if "run" not in df.columns:
        df["run"] = run_label(p, run)
    out = METRIC_SAMPLES.conform(df)
    bad.finish(out)
    return out


def _timestamps(ts: pd.Series) -> pd.Series:
    """Epoch seconds or milliseconds (told by the median), or date strings, as UTC; unreadable → NaT."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        return ts.reset_index(drop=True)
    num = pd.to_numeric(ts, errors="coerce")
    if len(ts) and num.notna().all():
        arr = num.to_numpy(dtype="float64")
        unit: Literal["s", "ms"] = "ms" if np.nanmedian(np.abs(arr)) > 1e11 else "s"
        return epoch_to_utc(arr, unit)
    if pd.api.types.is_datetime64_any_dtype(ts):
        return pd.Series(pd.to_datetime(ts, utc=True)).reset_index(drop=True)
    parsed = pd.to_datetime(ts.astype("string"), utc=True, format="mixed", errors="coerce")
    return pd.Series(parsed).reset_index(drop=True)


@register_kind("metrics", single=True)
@guard_reader
def read_metrics(
    path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    run: str | None = None,
    directions: dict[str, str] | None = None,
    **kwargs: Any,
) -> Metrics:
    """Read one or several metrics files of any supported format into a :class:`Metrics`.

    Parameters
    ----------
    path
        A file, a folder (its metrics files; other files are listed in ``attrs["perfnb"]["skipped_files"]``),
        a glob pattern, or several (e.g. a series of exposition scrapes, or API responses of different
        queries); see :func:`perfnb.io.expand_paths`.
    run
        Run label.
    directions
        ``{metric: "up"|"down"}``: which way is bad, for change-point findings.
    **kwargs
        Passed to the format's reader.

    Raises
    ------
    UnknownFormatError
        When a file is not a metrics format.
    """
    found, skipped_paths, _ = expand_paths_detailed(path, kind="metrics")
    paths: list[str | os.PathLike[str]] = list(found)
    skipped = [Path(s).name for s in skipped_paths]
    fmts = [sniff(p) for p in paths]
    if all(f.name == "prometheus_exposition" for f in fmts) and len(paths) > 1:
        frame = FORMATS["prometheus_exposition"].reader(paths, run=run, **kwargs)
    else:
        frame = concat_samples(
            [f.reader(p, run=run, **kwargs) for p, f in zip(paths, fmts, strict=True)]
        )
    if skipped:
        frame.attrs.setdefault("perfnb", {})["skipped_files"] = skipped
    return Metrics(
        frame,
        source=",".join(sorted({f.name for f in fmts})),
        run=run or "",
        directions=dict(directions or {}),
    )
