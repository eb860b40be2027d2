"""Load tests larger than memory, and fleets of load generators: ``engine="stream"`` and ``engine="dask"``.

:func:`scan_loadtest` reads raw samples (JMeter CSV JTL, k6 ``--out csv``, k6 ``--out json``) in
line-aligned partitions of ``chunk_bytes`` and folds each into a
:class:`~perfnb.analysis.aggregate.LoadAggregate`; the aggregates merge exactly, so the result does not depend
on the partitioning, the number of files or the order in which Dask workers finish.

* ``engine="stream"``: partitions in this process, two in flight (pyarrow's parsing of one overlaps the
  counting of the other). Peak memory ≈ two partitions' columns plus the aggregate (about 600 MB at the
  default 64 MB partitions), whatever the file size.
* ``engine="dask"``: the same partitions on a ``dask.distributed`` cluster (``client=`` a ``Client``, a
  scheduler address, or the current client). Workers read the files by path: they must see the same files
  (one machine, or a shared file system).

What is exact and what is estimated is documented in :mod:`perfnb.analysis.aggregate`: counts, failures,
mean, min, max, throughput, bytes and Apdex are exact; percentiles are exact for JMeter (whole
milliseconds) and within ±0.78 % for k6 (fractional milliseconds); interval percentiles come from
log-linear histograms (±0.78 %).

Other sample-level formats (JMeter XML, Gatling, Locust's request log) are read whole, one file per
partition; aggregate-only formats (Locust stats, k6 summary export) have nothing to stream and are refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfnb.analysis.aggregate import LoadAggregate, RequestArrays
from perfnb.engine import DEFAULT_CHUNK_BYTES, Partition, byte_ranges, check_engine, map_partitions
from perfnb.errors import FormatError, InputError
from perfnb.io._common import (
    SCANNERS,
    BadLines,
    OnBadLines,
    guard_reader,
    head_bytes,
    is_plain,
    run_label,
    sniff,
)
from perfnb.io.loadtests import loadtest_files
from perfnb.model.loadtest import LoadTest

__all__ = ["loadtest_files", "scan_loadtest"]  # loadtest_files: from perfnb.io.loadtests

_STREAMED = ("jmeter_csv", "k6_csv", "k6_json")
_TC_BYTES = b"Number of samples in transaction"
_WHOLE = ("jmeter_xml", "gatling_log", "locust_requests")


@dataclass(frozen=True)
class _Options:
    """Everything a partition needs besides its byte range (pickled to Dask workers)."""

    fmt: str
    names: tuple[str, ...] = ()
    delimiter: str = ","
    timestamp_format: str | None = None
    timezone: str = "UTC"
    on_bad_lines: OnBadLines = "error"
    interval_s: float = 5.0
    sub_buckets: int = 64
    apdex_t_s: float = 0.5
    apdex_f_s: float | None = None
    run: str = ""
    whole: bool = False  # gzip or UTF-16: no byte ranges, the format's reader reads the file
    intervals: bool = True


@guard_reader
def scan_loadtest(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    engine: str = "stream",
    client: Any = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    interval: str = "5s",
    apdex_t_s: float = 0.5,
    apdex_f_s: float | None = None,
    sub_buckets: int = 64,
    progress: bool | None = None,
    on_bad_lines: OnBadLines = "error",
    run: str | None = None,
    timestamp_format: str | None = None,
    timezone: str = "UTC",
    intervals: bool | None = None,
) -> LoadTest:
    """Aggregate one or many raw load-test files in bounded memory (``"stream"``) or on Dask (``"dask"``).

    Parameters
    ----------
    path
        A file, a folder of worker files, a glob pattern or a list of files (formats may be mixed).
    engine, client
        ``"stream"`` or ``"dask"`` (with a ``Client`` or scheduler address; default: the current client).
    chunk_bytes
        Partition size (line-aligned).
    interval
        Width of the intervals of :meth:`LoadTest.intervals` (fixed when aggregating).
    apdex_t_s, apdex_f_s
        Apdex thresholds at which Apdex is exact (others are estimated from histograms).
    sub_buckets
        Histogram resolution (relative error ``1/(2·sub_buckets)``).
    progress
        Show a progress bar (default: for inputs of 256 MB or more).
    on_bad_lines, timestamp_format, timezone
        As for :func:`perfnb.read_jmeter`; skipped rows are counted in ``LoadTest.meta["skipped_rows"]``.
    intervals
        ``True``: build the per-interval histograms in the same pass (for :meth:`~LoadTest.intervals`,
        capacity, percentiles over time). ``None`` (default) or ``False``: the pass builds what
        :meth:`~LoadTest.summary` needs only; with ``None`` the first call of ``intervals()`` makes a
        second pass that builds them, with ``False`` it is refused.

    Returns
    -------
    LoadTest
        With ``aggregate`` set and ``requests`` ``None``: :meth:`~LoadTest.summary`,
        :meth:`~LoadTest.intervals`, :meth:`~LoadTest.histograms`, :meth:`~LoadTest.errors` work.
    """
    import pandas as pd

    if engine not in ("stream", "dask"):
        check_engine(engine)
        raise InputError(
            "scan_loadtest streams; use read_loadtest for engine='pandas'",
            key="engine",
            expected="'stream' or 'dask'",
        )
    try:
        interval_s = pd.Timedelta(interval).total_seconds()
    except ValueError as err:
        raise InputError(
            f"interval {interval!r} is not a duration", key="interval", expected="e.g. '5s'"
        ) from err
    if interval_s <= 0:
        raise InputError("interval must be positive", key="interval", found=interval)
    BadLines(on_bad_lines)  # validates the mode before any work
    files = loadtest_files(path)
    parts: list[Partition] = []
    opts: list[_Options] = []
    sources: set[str] = set()
    for f in files:
        fmt = sniff(f)
        if fmt.name not in (*_STREAMED, *_WHOLE):
            raise InputError(
                f"{fmt.description} has no per-request samples to stream",
                path=f,
                hint="read it with perfnb.read_loadtest (engine='pandas')",
            )
        sources.add(fmt.name.split("_")[0])
        o = _Options(
            fmt.name,
            timestamp_format=timestamp_format,
            timezone=timezone,
            on_bad_lines=on_bad_lines,
            interval_s=interval_s,
            sub_buckets=sub_buckets,
            apdex_t_s=apdex_t_s,
            apdex_f_s=apdex_f_s,
            run=run_label(f, run),
            intervals=bool(intervals),
        )
        file_parts, o = _plan(f, o, chunk_bytes)
        parts.extend(file_parts)
        opts.extend([o] * len(file_parts))
    agg = map_partitions(
        aggregate_partition,
        parts,
        _merge,
        engine=engine,
        client=client,
        progress=progress,
        desc="perfnb: " + (files[0].name if len(files) == 1 else f"{len(files)} files"),
        args=opts,
    )
    label = (
        run
        if run is not None
        else (run_label(files[0], None) if len(files) == 1 else Path(files[0]).parent.name)
    )
    if intervals is None:
        from functools import partial

        agg.rescan = partial(
            scan_loadtest,
            path,
            engine=engine,
            client=client,
            chunk_bytes=chunk_bytes,
            interval=interval,
            apdex_t_s=apdex_t_s,
            apdex_f_s=apdex_f_s,
            sub_buckets=sub_buckets,
            progress=progress,
            on_bad_lines=on_bad_lines,
            run=run,
            timestamp_format=timestamp_format,
            timezone=timezone,
            intervals=True,
        )
    lt = LoadTest(
        None,
        sources.pop() if len(sources) == 1 else "mixed",
        label,
        str(path) if not isinstance(path, (list, tuple)) else str(files[0].parent),
        aggregate=agg,
    )
    for key in ("checks", "threshold_definitions"):  # k6 --out json: what the tool judges
        if key in agg.meta:
            lt.meta[key] = agg.meta[key]
    if "run_end_ns" in agg.meta and agg.count.sum():
        # k6: rates over the test-run duration (first request start to the last sample of any metric)
        first = int(agg.first_ns[agg.count > 0].min())
        end = max(int(agg.meta["run_end_ns"]), int(agg.last_end_ns[agg.count > 0].max()))
        lt.meta["run_duration_s"] = (end - first) / 1e9
    lt.meta.update(
        {
            "engine": engine,
            "files": [str(f) for f in files],
            "partitions": len(parts),
            "skipped_rows": int(agg.meta.get("skipped_rows", 0)),
            "skipped_lines": list(agg.meta.get("skipped_lines", [])),
        }
    )
    return lt


def _plan(f: Path, o: _Options, chunk_bytes: int) -> tuple[list[Partition], _Options]:
    """The partitions of one file, and its options completed from its header."""
    from dataclasses import replace

    size = f.stat().st_size
    if o.fmt in _WHOLE:
        return [Partition(str(f), 0, size)], o
    if not is_plain(f):  # gzip, a BOM or UTF-16: the bytes are not the text
        return [Partition(str(f), 0, size)], replace(o, whole=True)
    head = head_bytes(f)
    first = head.split(b"\n", 1)[0]
    if o.fmt == "jmeter_csv":
        from perfnb.io.jmeter import _header, csv_delimiter

        delimiter = csv_delimiter(head)
        names, has_header = _header(head, delimiter, None)
        o = replace(o, names=tuple(names), delimiter=delimiter)
        start = len(first) + 1 if has_header else 0
    elif o.fmt == "k6_csv":
        names = first.lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace").strip().split(",")
        o = replace(o, names=tuple(names))
        start = len(first) + 1
    else:
        start = 0
    if start >= size:
        return [Partition(str(f), start, start)], o
    return byte_ranges(f, chunk_bytes, start=start), o


def _merge(a: LoadAggregate, b: LoadAggregate) -> LoadAggregate:
    return a.merge(b)


def _lines_before(path: str, offset: int) -> int:
    """Number of lines before byte *offset* (counted only when an error needs a line number)."""
    count, left = 0, offset
    with Path(path).open("rb") as fh:
        while left > 0:
            block = fh.read(min(left, 16 << 20))
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
    return count


def aggregate_partition(part: Partition, o: _Options) -> LoadAggregate:
    """The aggregate of one partition (runs on a Dask worker with ``engine="dask"``)."""
    p = Path(part.path)
    bad = BadLines(o.on_bad_lines, path=p)
    arrays, extra = _arrays(part, o, p, bad)
    agg = LoadAggregate.from_arrays(
        arrays,
        interval_s=o.interval_s,
        sub_buckets=o.sub_buckets,
        apdex_t_s=o.apdex_t_s,
        apdex_f_s=o.apdex_f_s,
        intervals=o.intervals,
    )
    agg.meta["skipped_rows"] = bad.count
    agg.meta["skipped_lines"] = bad.lines[:100]
    agg.meta.update(extra)
    return agg


def _arrays(
    part: Partition, o: _Options, p: Path, bad: BadLines
) -> tuple[RequestArrays, dict[str, Any]]:
    """The partition's requests, and what else it says for ``LoadAggregate.meta``.

    k6: the time of its last sample of any metric (``run_end_ns``); checks and threshold expressions
    of ``--out json``.
    """
    import pyarrow as pa

    if o.fmt in _WHOLE or o.whole:
        from perfnb.io._common import FORMATS

        lt = FORMATS[o.fmt].reader(p, on_bad_lines=o.on_bad_lines, run=o.run)
        arr = lt.arrays()
        if arr is None:  # pragma: no cover - these formats always have requests
            raise FormatError("no requests", path=p)
        lines = list(lt.meta.get("skipped_lines", []))
        n = int(lt.meta.get("skipped_rows", 0))
        bad.lines.extend(lines[:n] + [-1] * max(0, n - len(lines)))
        return arr, {}
    with pa.OSFile(part.path) as fh:
        buf = fh.read_at(part.nbytes, part.start)
    if o.fmt == "jmeter_csv":
        return _jmeter_arrays(buf, part, o, p, bad), {}
    if o.fmt == "k6_csv":
        from perfnb.io.k6 import _epoch, csv_frame, csv_table
        from perfnb.model.arrays import RequestArrays as RA

        before = _lines_before(part.path, part.start)
        df = csv_table(
            pa.BufferReader(buf), p, bad, list(o.names), has_header=False, line_offset=before
        )
        extra = (
            {"run_end_ns": int(_epoch(df["timestamp"].iloc[-1:]).iloc[0].value)} if len(df) else {}
        )
        return RA.from_frame(csv_frame(df, p, o.run, bad)), extra
    from perfnb.io.k6 import parse_ndjson
    from perfnb.model.arrays import RequestArrays as RA

    before = _lines_before(part.path, part.start) if bad.mode != "error" else 0
    lines = memoryview(buf).tobytes().split(b"\n")
    try:
        points = parse_ndjson(((before + i + 1, raw) for i, raw in enumerate(lines)), bad)
        frame = points.frame(p, o.run, bad)  # bad times/durations raise here in "error" mode
    except FormatError as err:
        if before == 0 and part.start:
            before = _lines_before(part.path, part.start)
            raise FormatError(
                err.message,
                path=p,
                line=(err.line or 0) + before,
                expected=err.expected,
                found=err.found,
                hint=err.hint,
            ) from err
        raise
    meta: dict[str, Any] = {}
    end = points.last_time_ns()
    if end is not None:
        meta["run_end_ns"] = end
    points.merge_meta(meta)
    return RA.from_frame(frame), meta


def _shifted(err: FormatError, part: Partition) -> FormatError:
    """*err* with its line number made absolute (it was counted from the partition's first line)."""
    if err.line is None or part.start == 0:
        return err
    return type(err)(
        err.message,
        path=err.path,
        line=err.line + _lines_before(part.path, part.start),
        key=err.key,
        expected=err.expected,
        found=err.found,
        hint=err.hint,
    )


def _jmeter_arrays(buf: Any, part: Partition, o: _Options, p: Path, bad: BadLines) -> RequestArrays:
    import pyarrow as pa

    from perfnb.io.jmeter import CORE, _arrow_read, _read_csv_slow, _to_requests, core_arrays
    from perfnb.model.arrays import RequestArrays as RA

    names = list(o.names)
    head = memoryview(buf)[:65536].tobytes()  # the partition's first lines (no header)
    local = BadLines("skip", path=p)  # ragged rows, renumbered below
    try:
        table = _arrow_read(
            pa.BufferReader(buf),
            p,
            head,
            local if bad.mode != "error" else bad,
            names,
            False,
            o.delimiter,
            core=(*CORE, "allThreads"),
            controllers=buf.find(_TC_BYTES) >= 0,  # this partition's Transaction Controllers
        )
        if local.count:
            before = _lines_before(part.path, part.start)
            for line in local.lines:
                bad.add(line + before if line >= 0 else None, "ragged row (wrong number of fields)")
        return core_arrays(table, p, o.timestamp_format, o.timezone, line_offset=0)
    except FormatError as err:
        raise _shifted(err, part) from err
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError):
        # the row-checking path names every bad line (numbers offset by the lines before the partition)
        before = _lines_before(part.path, part.start)
        text = memoryview(buf).tobytes().decode("utf-8", "replace")
        df = _read_csv_slow(p, names, False, bad, o.delimiter, text=text, line_offset=before)
        req = _to_requests(df, p, o.run, bad, o.timestamp_format, o.timezone, first_line=before + 1)
        return RA.from_frame(req)


SCANNERS["loadtest"] = scan_loadtest  # read_loadtest(engine="stream" | "dask") dispatches here
