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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from perfnb.errors import InputError, UnknownFormatError
from perfnb.io._common import guard_reader
from perfnb.schema import PROVENANCE, Column, Schema, register

if TYPE_CHECKING:
    from perfnb.analysis.aggregate import LoadAggregate, RequestArrays

__all__ = ["INTERVALS", "REQUESTS", "SUMMARY", "LoadTest", "concat_loadtests", "read_loadtest"]

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
                doc="``exact`` (from requests in the interval), ``histogram`` (from mergeable interval histograms, "
                "``engine='stream'``/``'dask'``), ``windowed`` (tool's sliding window) or "
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
                doc="Requests per second over the label's span (k6: over the test-run duration).",
            ),
            Column("received_bytes_per_s", "float64", "bytes", doc="Received bytes per second."),
            Column("sent_bytes_per_s", "float64", "bytes", doc="Sent bytes per second."),
            Column("apdex", "float64", "ratio", doc="Apdex score (failures count as frustrated)."),
            Column(
                "estimate",
                "category",
                doc="Where the numbers come from: ``exact:<method>`` or ``tool`` (as the tool wrote them); "
                "``tool:apdex-from-percentiles±<bound>`` when Apdex is estimated from the tool's percentiles.",
            ),
            *PROVENANCE,
        ),
        doc="``LoadTest.summary()``: one row per label plus ``Total``.",
    )
)


class LoadTest:
    """A load-test run in perfnb's schema.

    Attributes
    ----------
    requests
        ``loadtest_requests`` frame, or ``None`` for aggregate-only inputs. Readers of large files may
        build it on first access (see :func:`perfnb.io.jmeter.read_jmeter`); :meth:`summary` does not need it.
    stats
        The tool's own per-label summary (``loadtest_summary`` with ``estimate="tool"``), or ``None``.
    history
        Intervals read from a history file (Locust), or ``None``.
    aggregate
        A :class:`~perfnb.analysis.aggregate.LoadAggregate` when the input was read with
        ``engine="stream"`` or ``"dask"`` (no per-request rows are kept then).
    errors_table
        Error breakdown: ``label``, ``error``, ``count`` (from failures files or failed requests).
    source, run, path
        Tool name, run label, input path.
    """

    def __init__(
        self,
        requests: pd.DataFrame | None,
        source: str,
        run: str,
        path: str = "",
        stats: pd.DataFrame | None = None,
        history: pd.DataFrame | None = None,
        errors_table: pd.DataFrame | None = None,
        meta: dict[str, Any] | None = None,
        *,
        aggregate: LoadAggregate | None = None,
        arrays: RequestArrays | None = None,
        materialize: Callable[[], pd.DataFrame] | None = None,
    ) -> None:
        self._requests = requests
        self._arrays = arrays
        self._materialize = materialize
        self.source = source
        self.run = run
        self.path = path
        self.stats = stats
        self.history = history
        self.errors_table = errors_table
        self.meta: dict[str, Any] = {} if meta is None else meta
        self.aggregate = aggregate

    @property
    def requests(self) -> pd.DataFrame | None:
        """The per-request frame (built on first access for lazily read inputs)."""
        if self._requests is None and self._materialize is not None:
            self._requests = self._materialize()
            self._materialize = None
        return self._requests

    @requests.setter
    def requests(self, value: pd.DataFrame | None) -> None:
        self._requests, self._arrays, self._materialize = value, None, None

    def arrays(self) -> RequestArrays | None:
        """The columnar core of the requests (label codes, start times …), or ``None`` without requests."""
        if self._arrays is None:
            req = self._requests if self._materialize is None else self.requests
            if req is None:
                return None
            from perfnb.analysis.aggregate import RequestArrays

            self._arrays = RequestArrays.from_frame(req)
        return self._arrays

    def __repr__(self) -> str:
        if self.aggregate is not None:
            n = int(self.aggregate.count.sum())
            return f"<LoadTest {self.source} run={self.run!r} aggregated requests={n} labels={self.labels}>"
        arr = self._arrays
        n = (
            len(arr)
            if arr is not None
            else len(self._requests)
            if self._requests is not None
            else 0
        )
        return f"<LoadTest {self.source} run={self.run!r} requests={n} labels={self.labels}>"

    @property
    def labels(self) -> list[str]:
        """The request labels."""
        if self._arrays is not None:
            return list(self._arrays.labels)
        if self.requests is not None:
            return [str(x) for x in self.requests["label"].cat.categories]
        if self.aggregate is not None:
            return list(self.aggregate.labels)
        if self.stats is not None:
            return [str(x) for x in self.stats["label"] if x != "Total"]
        return []

    @property
    def has_requests(self) -> bool:
        """Whether per-request data is available (exact statistics)."""
        if self._arrays is not None:
            return len(self._arrays) > 0
        return self.requests is not None and len(self.requests) > 0

    def summary(
        self,
        apdex_t_s: float = 0.5,
        *,
        apdex_f_s: float | None = None,
        method: str = "linear",
        window: int | None = None,
        include_controllers: bool = False,
        expected_interval_s: float | None = None,
    ) -> pd.DataFrame:
        """Per-label and ``Total`` statistics (see :func:`perfnb.analysis.latency.summarize`).

        *expected_interval_s* corrects the percentiles for coordinated omission.
        """
        from perfnb.analysis.latency import summarize

        return summarize(
            self,
            apdex_t_s=apdex_t_s,
            apdex_f_s=apdex_f_s,
            method=method,
            window=window,
            include_controllers=include_controllers,
            expected_interval_s=expected_interval_s,
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

        if self.aggregate is not None and not self.has_requests:
            if sub_buckets != self.aggregate.sub_buckets:
                raise InputError(
                    f"this load test was aggregated with sub_buckets={self.aggregate.sub_buckets}",
                    key="sub_buckets",
                )
            return dict(self.aggregate.histograms())
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
        if self.aggregate is not None:
            agg = self.aggregate
            per_label = [
                {"label": name, "status": "", "error": "", "count": int(n)}
                for name, n in zip(agg.labels, agg.failures, strict=True)
                if n
            ]
            if per_label:  # aggregated inputs keep failures per label only
                return pd.DataFrame(per_label).sort_values(
                    "count", ascending=False, ignore_index=True
                )
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


@guard_reader
def read_loadtest(
    path: str | os.PathLike[str] | list[str | os.PathLike[str]],
    *,
    engine: str = "pandas",
    client: Any = None,
    **kwargs: Any,
) -> LoadTest:
    """Read any load-test output: a file, a Locust CSV prefix, a folder (of one run, or of worker files).

    Parameters
    ----------
    path
        A JMeter JTL (CSV/XML), k6 CSV/NDJSON/summary export, Gatling ``simulation.log``, Locust CSV
        file/prefix/folder, Locust ``--json`` output or Locust request log; or a folder, glob pattern or
        list of sample-level files written by several load generators (combined into one run).
    engine
        ``"pandas"`` (default: every request in memory, every statistic exact), ``"stream"`` (bounded
        memory) or ``"dask"`` (a ``dask.distributed`` cluster): see :func:`perfnb.scan_loadtest`.
    client
        For ``engine="dask"``: a ``Client`` or a scheduler address (default: the current client).
    **kwargs
        Passed to the format's reader (``run=``, ``on_bad_lines=`` …) or to :func:`perfnb.scan_loadtest`.

    Raises
    ------
    UnknownFormatError
        When the input is no load-test format.
    """
    from perfnb.engine import check_engine

    check_engine(engine)
    if engine != "pandas":
        from perfnb.io.scan import scan_loadtest

        return scan_loadtest(path, engine=engine, client=client, **kwargs)
    if isinstance(path, (list, tuple)) or _is_fleet(path):
        from perfnb.io.scan import loadtest_files

        files = loadtest_files(path)
        if len(files) > 1:
            run = kwargs.pop("run", None)
            parts = [read_loadtest(f, **kwargs) for f in files]
            name = run if run is not None else Path(files[0]).parent.name
            return concat_loadtests(parts, run=name, path=str(path))
        path = files[0]
    return _read_one(Path(path), **kwargs)


def _is_fleet(path: str | os.PathLike[str]) -> bool:
    """A folder without a Locust CSV set, or a glob pattern: files of several load generators."""
    from perfnb.io.locust import locust_files

    p = Path(path)
    if p.is_dir():
        return not locust_files(p)
    return not p.exists() and any(ch in str(path) for ch in "*?[") and not locust_files(p)


def _read_one(p: Path, **kwargs: Any) -> LoadTest:
    from perfnb.io._common import sniff
    from perfnb.io.locust import locust_files

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


def concat_loadtests(parts: list[LoadTest], *, run: str, path: str = "") -> LoadTest:
    """One run from the outputs of several load generators (requests concatenated in time order).

    Raises
    ------
    InputError
        When a part has no per-request data (a Locust stats file, a k6 summary export).
    """
    frames = []
    for lt in parts:
        if lt.requests is None:
            raise InputError(
                "only per-request outputs can be combined", path=lt.path, hint="JMeter, k6, Gatling"
            )
        frames.append(lt.requests)
    sources = {lt.source for lt in parts}
    req = pd.concat(frames, ignore_index=True)
    for col in ("label", "status", "error"):
        if col in req:
            req[col] = req[col].astype("string").astype("category")
    req = req.sort_values("timestamp", kind="stable", ignore_index=True)
    req["source"] = const_category(sources.pop() if len(sources) == 1 else "mixed", len(req))
    req["run"] = const_category(run, len(req))
    out = LoadTest(REQUESTS.conform(req), str(req["source"].iloc[0]) if len(req) else "", run, path)
    out.meta["files"] = [lt.path for lt in parts]
    out.meta["skipped_rows"] = sum(int(lt.meta.get("skipped_rows", 0)) for lt in parts)
    return out
