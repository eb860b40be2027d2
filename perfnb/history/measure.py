"""What a run records: content hashes of its sources and tidy measurements from perfnb's own analyses.

:func:`read_source` reads one input the way ``perfnb report`` does; :func:`measure` turns the loaded object
into rows ``(source, subject, metric, value, unit)`` using the existing analyses
(:meth:`LoadTest.summary`, :func:`perfnb.analysis.profiles.hotspots`, :func:`perfnb.analysis.cache.summary`,
:func:`perfnb.analysis.vitals.assess` …); :func:`measure_findings` counts findings by rule and severity.
:func:`start_time` is the evidence's own start time where it has one (first request of a load test,
first plan's log time, first metric sample, Lighthouse fetch time).

Metric names keep the unit suffix of the tables they come from (``p95_s``, ``throughput_per_s``,
``error_ratio``), and :data:`DIRECTIONS` says which way each one is bad.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from perfnb.errors import InputError

__all__ = [
    "KINDS",
    "Measurement",
    "SourceHash",
    "hash_source",
    "measure",
    "measure_findings",
    "read_source",
    "start_time",
]

#: The source kinds a run records (the ``perfnb report`` options).
KINDS = ("profile", "plans", "statements", "loadtest", "metrics", "lighthouse", "cache", "rum")

_TOP_FUNCTIONS = 10
_TOP_QUERIES = 20


@dataclass(frozen=True)
class Measurement:
    """One tidy number of a run."""

    source: str
    subject: str
    metric: str
    value: float
    unit: str = ""


@dataclass(frozen=True)
class SourceHash:
    """An input and the SHA-256 of its content (every file of a folder, glob or Locust prefix)."""

    kind: str
    path: str
    sha256: str
    size_bytes: int


def _files(path: str) -> list[Path]:
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        return sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
    import glob

    pattern = path if glob.has_magic(path) else path + "*"  # a Locust prefix: run → run_stats.csv …
    return sorted(Path(f) for f in glob.glob(pattern, recursive=True) if Path(f).is_file())  # noqa: PTH207


def hash_source(kind: str, path: str | os.PathLike[str]) -> SourceHash:
    """Hash the content of *path* (names relative to it, so a copied folder hashes the same).

    Raises
    ------
    InputError
        When the path names no file.
    """
    text = os.fspath(path)
    if "://" in text:
        raise InputError("a live source has no content to hash", path=text)
    files = _files(text)
    if not files:
        raise InputError("no such file or directory", path=text)
    digest = hashlib.sha256()
    size = 0
    root = Path(text) if Path(text).is_dir() else None
    for f in files:
        name = str(f.relative_to(root)) if root is not None else f.name
        digest.update(name.encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        digest.update(b"\0")
    return SourceHash(kind, str(Path(text).resolve()), digest.hexdigest(), size)


def read_source(kind: str, path: str | os.PathLike[str]) -> Any:
    """Read one input of *kind* with its perfnb reader (what the report notebooks do)."""
    import perfnb

    text = os.fspath(path)
    if kind == "loadtest":
        return perfnb.read_loadtest(text)
    if kind == "metrics":
        return perfnb.read_metrics(text)
    if kind == "plans":
        return perfnb.read_plans(text)
    if kind == "rum":
        return perfnb.read_rum(text)
    if kind not in KINDS:
        raise InputError(f"unknown source kind {kind!r}", expected=", ".join(KINDS))
    return perfnb.read(text)


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _rows(
    source: str, subject: str, values: Mapping[str, tuple[Any, str]]
) -> Iterator[Measurement]:
    for metric, (value, unit) in values.items():
        v = _finite(value)
        if v is not None:
            yield Measurement(source, subject, metric, v, unit)


_LOADTEST = {
    "p50_s": "s",
    "p90_s": "s",
    "p95_s": "s",
    "p99_s": "s",
    "mean_s": "s",
    "throughput_per_s": "1/s",
    "error_ratio": "ratio",
    "apdex": "ratio",
    "requests": "count",
}


def _loadtest(obj: Any, kind: str) -> Iterator[Measurement]:
    summary = obj.summary()
    for row in summary.to_dict("records"):
        yield from _rows(
            kind, str(row["label"]), {m: (row.get(m), u) for m, u in _LOADTEST.items()}
        )


def _profile(obj: Any, kind: str) -> Iterator[Measurement]:
    from perfnb.analysis.profiles import hotspots

    yield from _rows(kind, "profile", {"total_s": (obj.total_time_s, "s")})
    for row in hotspots(obj, n=_TOP_FUNCTIONS).to_dict("records"):
        yield from _rows(
            kind, f"function:{row['label']}", {"self_time_s": (row["self_time_s"], "s")}
        )


def _query_key(text: Any) -> str:
    q = re.sub(r"\s+", " ", str(text or "")).strip()
    return q[:300] if q else "(no query text)"


def _plans(obj: Any, kind: str) -> Iterator[Measurement]:
    plans = obj if isinstance(obj, list) else [obj]
    groups: dict[str, list[float]] = {}
    for plan in plans:
        t = _finite(getattr(plan, "execution_time_s", None))
        if t is None:
            t = _finite(getattr(plan, "duration_s", None))
        if t is not None:
            groups.setdefault(_query_key(plan.query), []).append(t)
    ranked = sorted(groups.items(), key=lambda kv: -sum(kv[1]))[:_TOP_QUERIES]
    for query, times in ranked:
        yield from _rows(
            kind,
            f"query:{query}",
            {
                "plans": (len(times), "count"),
                "mean_s": (sum(times) / len(times), "s"),
                "max_s": (max(times), "s"),
            },
        )


def _statements(obj: Any, kind: str) -> Iterator[Measurement]:
    frame = obj.frame.sort_values("total_time_s", ascending=False).head(_TOP_QUERIES)
    for row in frame.to_dict("records"):
        yield from _rows(
            kind,
            f"query:{_query_key(row.get('query'))}",
            {
                "calls": (row.get("calls"), "count"),
                "mean_s": (row.get("mean_time_s"), "s"),
                "total_s": (row.get("total_time_s"), "s"),
            },
        )


def _metrics(obj: Any, kind: str) -> Iterator[Measurement]:
    frame = obj.frame
    label_cols = [
        c for c in frame.columns if c not in ("timestamp", "metric", "value", "source", "run")
    ]
    keys = ["run", "metric", *label_cols]
    grouped = frame.groupby(keys, dropna=False, observed=True, sort=True)["value"]
    stats = grouped.agg(["mean", "max", lambda s: s.quantile(0.95)])
    stats.columns = ["mean", "max", "p95"]
    for key, row in stats.iterrows():
        run, metric, *rest = key if isinstance(key, tuple) else (key, "")
        # a Prometheus query_range export names its series by the file (run) when it has no __name__
        name = str(run) if _blank(metric) else str(metric)
        labels = ",".join(
            f"{c}={v}" for c, v in zip(label_cols, rest, strict=True) if not _blank(v)
        )
        subject = f"metric:{name}{{{labels}}}" if labels else f"metric:{name}"
        yield from _rows(
            kind,
            subject,
            {"mean": (row["mean"], ""), "p95": (row["p95"], ""), "max": (row["max"], "")},
        )


def _blank(value: Any) -> bool:
    """Whether a label value is missing (NaN, None, NA or the empty string)."""
    if isinstance(value, str):
        return not value
    return bool(pd.isna(value))


def _lighthouse(obj: Any, kind: str) -> Iterator[Measurement]:
    for run in obj.runs.to_dict("records"):
        page = f"page:{run.get('url', '')} ({run.get('form_factor', '')})"
        yield from _rows(kind, page, {"performance_score": (run.get("performance_score"), "ratio")})
    metrics = obj.metrics
    if len(metrics):
        by = metrics.groupby(["url", "form_factor", "metric"], observed=True, sort=True)
        agg = by.agg(value=("value", "median"), unit=("unit", "first"), score=("score", "median"))
        for (url, ff, metric), row in agg.iterrows():
            page = f"page:{url} ({ff})"
            yield from _rows(
                kind,
                page,
                {
                    f"{metric}_{row['unit']}" if row["unit"] else str(metric): (
                        row["value"],
                        str(row["unit"]),
                    ),
                    f"{metric}_score": (row["score"], "ratio"),
                },
            )


def _rum(obj: Any, kind: str) -> Iterator[Measurement]:
    from perfnb.analysis.vitals import assess

    for row in assess(obj).to_dict("records"):
        unit = "" if row["unit"] == "unitless" else str(row["unit"])
        page = f"page:{row['page']} ({row['form_factor']})"
        yield from _rows(kind, page, {f"{row['metric']}_p75": (row["p75"], unit)})


def _cache(obj: Any, kind: str) -> Iterator[Measurement]:
    from perfnb.analysis.cache import summary

    s = summary(obj)
    yield from _rows(
        kind,
        f"cache:{s['kind']}",
        {
            "hit_ratio": (s.get("hit_ratio"), "ratio"),
            "evictions": (s.get("evictions"), "count"),
            "memory_ratio": (s.get("memory_ratio"), "ratio"),
        },
    )


def measure(kind: str, obj: Any) -> list[Measurement]:
    """The tidy measurements of one loaded source of *kind* (see the module docstring)."""
    table = {
        "loadtest": _loadtest,
        "profile": _profile,
        "plans": _plans,
        "statements": _statements,
        "metrics": _metrics,
        "lighthouse": _lighthouse,
        "rum": _rum,
        "cache": _cache,
    }
    if kind not in table:
        raise InputError(f"unknown source kind {kind!r}", expected=", ".join(KINDS))
    if kind == "plans" and not isinstance(obj, list):
        obj = [obj]
    return list(table[kind](obj, kind))


def measure_findings(findings: Iterable[Any]) -> list[Measurement]:
    """Counts of findings by rule (``subject = "rule:PG001 seq-scan-filter"``) and severity."""
    counts: dict[tuple[str, str], int] = {}
    totals: dict[str, int] = {"critical": 0, "warning": 0, "info": 0}
    for f in findings:
        sev = f.severity.name if hasattr(f.severity, "name") else str(f.severity)
        key = (f"rule:{f.rule} {f.name}", sev)
        counts[key] = counts.get(key, 0) + 1
        totals[sev] = totals.get(sev, 0) + 1
    out = [Measurement("findings", "findings", sev, float(n), "count") for sev, n in totals.items()]
    out += [Measurement("findings", s, sev, float(n), "count") for (s, sev), n in counts.items()]
    return out


def start_time(kind: str, obj: Any) -> pd.Timestamp | None:
    """The evidence's own start time (UTC), or ``None`` when the input does not carry one."""
    ts: Any = None
    try:
        if kind == "loadtest":
            if obj.has_requests and obj.requests is not None:
                ts = obj.requests["timestamp"].min()
        elif kind == "plans":
            raw: list[Any] = [
                getattr(p, "timestamp", None) for p in (obj if isinstance(obj, list) else [obj])
            ]
            stamps = [pd.Timestamp(s) for s in raw if not _blank(s)]
            ts = min(stamps) if stamps else None
        elif kind == "metrics":
            ts = obj.frame["timestamp"].min()
        elif kind == "lighthouse":
            ts = obj.runs["timestamp"].min()
    except (KeyError, AttributeError, TypeError):
        return None
    if ts is None or pd.isna(ts):
        return None
    out = pd.Timestamp(ts)
    return out.tz_localize("UTC") if out.tzinfo is None else out.tz_convert("UTC")
