"""Load-test tables and the :class:`LoadTest` object; :func:`read_loadtest` sniffs a file, prefix or folder.

Owns the three load-test schemas (``loadtest_requests``, ``loadtest_intervals``, ``loadtest_summary``) and
the object every load-test reader returns (Locust, JMeter, k6, Gatling). Per-format readers live in
:mod:`perfnb.io.locust`, :mod:`perfnb.io.jmeter`, :mod:`perfnb.io.k6`, :mod:`perfnb.io.gatling`.

Two tiers of data: *sample-level* inputs (JMeter JTL, k6 CSV/NDJSON, Gatling logs, Locust's per-request
``CsvRequestLogger`` CSV) fill ``requests`` and every statistic is exact; *aggregate-level* inputs (Locust
stats/history CSV and ``--json``, k6 ``--summary-export``) carry the tool's own numbers in ``stats`` and
``intervals`` (with ``percentile_kind`` saying whether a percentile is exact, windowed or cumulative).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from perfnb.errors import InputError, UnknownFormatError
from perfnb.schema import PROVENANCE, Column, Schema, register

__all__ = ["INTERVALS", "REQUESTS", "SUMMARY", "LoadTest", "read_loadtest"]

REQUESTS = register(
    Schema(
        "loadtest_requests",
        (
            Column("timestamp", "timestamp", doc="When the request started (UTC)."),
            Column("label", "category", doc="Request name / sampler label / k6 ``name`` tag."),
            Column("response_time_s", "float64", "s", doc="Elapsed time until the full response."),
            Column("success", "bool", doc="Whether the tool counted the request as successful."),
            Column(
                "status",
                "category",
                doc="Response code as text (``200``, ``KO`` …).",
                required=False,
            ),
            Column("error", "category", doc="Failure message, if any.", required=False),
            Column("bytes", "Int64", "bytes", doc="Received bytes.", required=False),
            Column("sent_bytes", "Int64", "bytes", doc="Sent bytes.", required=False),
            Column(
                "users",
                "Int64",
                doc="Active users / threads / VUs when the request ran.",
                required=False,
            ),
            Column(
                "latency_s",
                "float64",
                "s",
                doc="Time to first byte (JMeter Latency).",
                required=False,
            ),
            Column("connect_s", "float64", "s", doc="Connect time.", required=False),
            Column(
                "is_controller",
                "bool",
                doc="JMeter Transaction Controller parent sample (excluded from totals).",
                required=False,
            ),
            *PROVENANCE,
        ),
        doc="One row per request, for sample-level inputs (JMeter, k6, Gatling, Locust request log).",
    )
)

INTERVALS = register(
    Schema(
        "loadtest_intervals",
        (
            Column("timestamp", "timestamp", doc="Start of the interval (UTC)."),
            Column("label", "category", doc="Request label; ``Total`` for all requests."),
            Column("users", "Int64", doc="Active users at the interval.", required=False),
            Column("requests", "Int64", doc="Requests completed in the interval.", required=False),
            Column("failures", "Int64", doc="Failed requests in the interval.", required=False),
            Column("throughput_per_s", "float64", "1/s", doc="Requests per second."),
            Column("mean_s", "float64", "s", doc="Mean response time.", required=False),
            Column("p50_s", "float64", "s", doc="Median response time.", required=False),
            Column("p90_s", "float64", "s", doc="90th percentile.", required=False),
            Column("p95_s", "float64", "s", doc="95th percentile.", required=False),
            Column("p99_s", "float64", "s", doc="99th percentile.", required=False),
            Column("max_s", "float64", "s", doc="Maximum.", required=False),
            Column(
                "percentile_kind",
                "category",
                doc="``exact`` (from requests in the interval), ``windowed`` (tool's sliding window) or "
                "``cumulative`` (since the start, as Locust writes without ``--csv-full-history``).",
            ),
            *PROVENANCE,
        ),
        doc="Time series per label (and ``Total``): computed from requests, or read from history files.",
    )
)

SUMMARY = register(
    Schema(
        "loadtest_summary",
        (
            Column("label", "string", doc="Request label; the overall row is ``Total``."),
            Column("requests", "int64", doc="Number of requests."),
            Column("failures", "int64", doc="Failed requests."),
            Column("error_ratio", "float64", "ratio", doc="failures / requests."),
            Column("mean_s", "float64", "s", doc="Mean response time."),
            Column("min_s", "float64", "s", doc="Minimum."),
            Column("p50_s", "float64", "s", doc="Median."),
            Column("p90_s", "float64", "s", doc="90th percentile."),
            Column("p95_s", "float64", "s", doc="95th percentile."),
            Column("p99_s", "float64", "s", doc="99th percentile."),
            Column("max_s", "float64", "s", doc="Maximum."),
            Column(
                "throughput_per_s",
                "float64",
                "1/s",
                doc="Requests per second over the label's span.",
            ),
            Column("received_bytes_per_s", "float64", "bytes", doc="Received bytes per second."),
            Column("sent_bytes_per_s", "float64", "bytes", doc="Sent bytes per second."),
            Column("apdex", "float64", "ratio", doc="Apdex score (failures count as frustrated)."),
            Column(
                "estimate",
                "category",
                doc="Where the numbers come from: ``exact:<method>`` or ``tool`` (as the tool wrote them).",
            ),
            *PROVENANCE,
        ),
        doc="``LoadTest.summary()``: one row per label plus ``Total``.",
    )
)


@dataclass
class LoadTest:
    """A load-test run in perfnb's schema.

    Attributes
    ----------
    requests
        ``loadtest_requests`` frame, or ``None`` for aggregate-only inputs.
    stats
        The tool's own per-label summary (``loadtest_summary`` with ``estimate="tool"``), or ``None``.
    history
        Intervals read from a history file (Locust), or ``None``.
    errors
        Error breakdown: ``label``, ``error``, ``count`` (from failures files or failed requests).
    source, run, path
        Tool name, run label, input path.
    """

    requests: pd.DataFrame | None
    source: str
    run: str
    path: str = ""
    stats: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    errors_table: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        n = len(self.requests) if self.requests is not None else 0
        return f"<LoadTest {self.source} run={self.run!r} requests={n} labels={self.labels}>"

    @property
    def labels(self) -> list[str]:
        """The request labels."""
        if self.requests is not None:
            return [str(x) for x in self.requests["label"].cat.categories]
        if self.stats is not None:
            return [str(x) for x in self.stats["label"] if x != "Total"]
        return []

    @property
    def has_requests(self) -> bool:
        """Whether per-request data is available (exact statistics)."""
        return self.requests is not None and len(self.requests) > 0

    def summary(
        self,
        apdex_t_s: float = 0.5,
        *,
        apdex_f_s: float | None = None,
        method: str = "linear",
        window: int | None = None,
        include_controllers: bool = False,
    ) -> pd.DataFrame:
        """Per-label and ``Total`` statistics (see :func:`perfnb.analysis.latency.summarize`)."""
        from perfnb.analysis.latency import summarize

        return summarize(
            self,
            apdex_t_s=apdex_t_s,
            apdex_f_s=apdex_f_s,
            method=method,
            window=window,
            include_controllers=include_controllers,
        )

    def intervals(self, freq: str = "5s", *, method: str = "linear") -> pd.DataFrame:
        """Time series per label and ``Total`` (computed from requests, else the tool's history)."""
        from perfnb.analysis.latency import intervals

        return intervals(self, freq=freq, method=method)

    def histograms(self, sub_buckets: int = 64) -> dict[str, Any]:
        """Mergeable latency histograms per label and ``Total`` (see :mod:`perfnb.analysis.histogram`).

        Histograms of chunks, of distributed workers' files or of Dask partitions add up exactly:
        ``sum(parts) == whole``.
        """
        from perfnb.analysis.histogram import LatencyHistogram

        if self.requests is None:
            raise InputError("histograms() needs per-request data")
        req = self.requests[~self.requests["is_controller"]]
        out: dict[str, Any] = {
            "Total": LatencyHistogram.from_values(req["response_time_s"].to_numpy(), sub_buckets)
        }
        for label, g in req.groupby("label", observed=True):
            out[str(label)] = LatencyHistogram.from_values(
                g["response_time_s"].to_numpy(), sub_buckets
            )
        return out

    def errors(self) -> pd.DataFrame:
        """Error breakdown: ``label``, ``status``, ``error``, ``count`` (most frequent first)."""
        if self.has_requests:
            req = self.requests
            if req is None:  # pragma: no cover
                raise InputError("no per-request data")
            failed = req[~req["success"]]
            if len(failed) == 0:
                return pd.DataFrame({"label": [], "status": [], "error": [], "count": []})
            g = (
                failed.assign(
                    status=failed["status"].astype("string").fillna(""),
                    error=failed["error"].astype("string").fillna(""),
                    label=failed["label"].astype("string"),
                )
                .groupby(["label", "status", "error"], observed=True, dropna=False)
                .size()
                .rename("count")
                .reset_index()
            )
            return g.sort_values("count", ascending=False, ignore_index=True)
        if self.errors_table is not None:
            return self.errors_table
        return pd.DataFrame({"label": [], "status": [], "error": [], "count": []})

    def split(self, at: float = 0.5) -> tuple[LoadTest, LoadTest]:
        """Two LoadTests: requests before and after the fraction *at* of the run's time span."""
        if not self.has_requests:
            raise InputError("split() needs per-request data", hint="use a sample-level input")
        if self.requests is None:  # pragma: no cover
            raise InputError("no per-request data")
        ts = self.requests["timestamp"]
        cut = ts.min() + (ts.max() - ts.min()) * at
        mask = ts < cut
        a = self.requests[mask].reset_index(drop=True)
        b = self.requests[~mask].reset_index(drop=True)
        return (
            LoadTest(a, self.source, f"{self.run}[:{at:g}]", self.path),
            LoadTest(b, self.source, f"{self.run}[{at:g}:]", self.path),
        )


def const_category(value: str, n: int) -> Any:
    """A categorical of *n* copies of *value* (cheap: int8 codes, no per-row strings)."""
    import numpy as np

    dtype = pd.CategoricalDtype([value])
    return pd.Categorical.from_codes(np.zeros(n, dtype="int8"), dtype=dtype)


def read_loadtest(path: str | os.PathLike[str], **kwargs: Any) -> LoadTest:
    """Read any load-test output: a file, a Locust CSV prefix (``results`` for ``results_stats.csv``) or a folder.

    Parameters
    ----------
    path
        A JMeter JTL (CSV/XML), k6 CSV/NDJSON/summary export, Gatling ``simulation.log``, Locust CSV
        file/prefix/folder, Locust ``--json`` output or Locust request log.
    **kwargs
        Passed to the format's reader (``run=``, ``on_bad_lines=`` …).

    Raises
    ------
    UnknownFormatError
        When the input is no load-test format.
    """
    from perfnb.io._common import sniff
    from perfnb.io.locust import locust_files

    p = Path(path)
    if not p.exists():
        files = locust_files(p)
        if files:
            from perfnb.io.locust import read_locust

            return cast("LoadTest", read_locust(p, **kwargs))
    fmt = sniff(p)
    if fmt.kind != "loadtest":
        raise UnknownFormatError(
            f"this is {fmt.description}, not a load-test result",
            path=p,
            expected="a load-test output",
        )
    result = fmt.reader(p, **kwargs)
    if not isinstance(result, LoadTest):  # pragma: no cover - every loadtest reader returns one
        raise UnknownFormatError("not a load test", path=p)
    return result
