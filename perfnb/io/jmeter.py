"""Apache JMeter JTL reader: CSV and XML JTL.

CSV with or without header, any column set, epoch-ms or date-string timestamps, Transaction Controller rows.

The CSV fast path uses ``pyarrow.csv`` with typed columns; input it cannot type (a repeated header line from
concatenated files, ``N/A`` values, ragged rows) falls back to a row-checking path that honours
``on_bad_lines``. Transaction Controller parent samples (``responseMessage`` "Number of samples in
transaction : N, …") get ``is_controller=True`` and are excluded from the ``Total`` row, as JMeter does.
"""

from __future__ import annotations

import csv
import io
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError, FormatError, PerfnbError
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
    wrap_reader_error,
)
from perfnb.io._values import counts, drop_bad_requests, epoch_to_utc
from perfnb.model.loadtest import REQUESTS, LoadTest, const_category

if TYPE_CHECKING:
    from perfnb.model.arrays import RequestArrays

__all__ = ["CORE", "DEFAULT_COLUMNS", "LAZY_BYTES", "core_arrays", "read_jmeter"]

#: JMeter's default CSV column order (``jmeter.properties`` defaults since 5.x), used for header-less files.
DEFAULT_COLUMNS = [
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "threadName",
    "dataType",
    "success",
    "failureMessage",
    "bytes",
    "sentBytes",
    "grpThreads",
    "allThreads",
    "URL",
    "Latency",
    "IdleTime",
    "Connect",
]
_KNOWN = set(DEFAULT_COLUMNS) | {"Hostname", "SampleCount", "ErrorCount", "Filename", "Encoding"}
_NEEDED = ("timeStamp", "elapsed", "label", "success")
_TC = "Number of samples in transaction"
#: CSV files from this size on read their detail columns on first access of ``LoadTest.requests``
LAZY_BYTES = 64 << 20
_HEADLESS_RE = re.compile(rb"^(\d{10,14}|\d{4}[/-]\d\d[/-]\d\d[ T][\d:.,]+),\d+,")


def _sniff_csv(path: Path, head: bytes) -> bool:
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    if first.startswith(b"timeStamp,") or first.startswith(b"timeStamp\t"):
        return True
    fields = set(first.decode("utf-8", "replace").strip().split(","))
    if {"label", "elapsed"} <= fields or (
        {"label", "responseCode"} <= fields and "success" in fields
    ):
        return True
    return bool(_HEADLESS_RE.match(first)) and first.count(b",") >= 7


def _sniff_xml(path: Path, head: bytes) -> bool:
    return b"<testResults" in head[:2000]


@register_format(
    "jmeter_xml",
    description="JMeter XML JTL",
    kind="loadtest",
    sniff=_sniff_xml,
    priority=20,
)
@guard_reader
def _read_xml_fmt(path: str | os.PathLike[str], **kw: Any) -> LoadTest:
    return read_jmeter(path, **kw)


@register_format(
    "jmeter_csv",
    description="JMeter CSV JTL",
    kind="loadtest",
    sniff=_sniff_csv,
    priority=30,
)
@guard_reader
def read_jmeter(
    path: str | os.PathLike[str],
    *,
    run: str | None = None,
    on_bad_lines: OnBadLines = "error",
    columns: list[str] | None = None,
    timestamp_format: str | None = None,
    timezone: str = "UTC",
    delimiter: str = ",",
) -> LoadTest:
    """Read a JMeter JTL (CSV or XML) into a :class:`LoadTest`.

    Parameters
    ----------
    path
        The ``.jtl``/``.csv``/``.xml`` file.
    run
        Run label (default: file stem).
    on_bad_lines
        ``"error"`` (default), ``"warn"`` or ``"skip"`` for rows that cannot be read.
    columns
        Column names of a header-less file (default: JMeter's 17 default columns).
    timestamp_format
        ``strftime`` format of date-string timestamps (default: inferred, e.g. ``%Y/%m/%d %H:%M:%S``).
    timezone
        Time zone of date-string timestamps (JMeter writes local time without an offset).
    delimiter
        Field delimiter (``jmeter.save.saveservice.default_delimiter``).

    Raises
    ------
    FormatError
        On a column set without ``elapsed``/``label``, unreadable values (with line) in ``"error"`` mode.
    """
    p = ensure_path(path)
    head = head_bytes(p)
    if not head.strip():
        raise EmptyInputError("file is empty", path=p, expected="a JMeter JTL")
    label = run_label(p, run)
    bad = BadLines(on_bad_lines, path=p)
    if _sniff_xml(p, head):
        df = _read_xml(p, bad)
    else:
        delimiter = csv_delimiter(head, delimiter)
        if p.stat().st_size >= LAZY_BYTES and _plain(p):
            lazy = _read_lazy(
                p, head, label, on_bad_lines, columns, delimiter, timestamp_format, timezone
            )
            if lazy is not None:
                return lazy
        df = _read_csv(p, head, bad, columns, delimiter)
    out = _to_requests(df, p, label, bad, timestamp_format, timezone)
    bad.finish(out)
    lt = LoadTest(out, "jmeter", label, str(p))
    bad.to_meta(lt.meta)
    return lt


def _plain(p: Path) -> bool:
    return is_plain(p)


def _read_lazy(
    p: Path,
    head: bytes,
    run: str,
    on_bad_lines: OnBadLines,
    columns: list[str] | None,
    delimiter: str,
    fmt: str | None,
    tz: str,
) -> LoadTest | None:
    """Read the summary's columns now and the rest on first access of ``requests`` (large files).

    Every row is parsed now (ragged rows and unreadable values are reported here, not later); only the
    columns that the summary does not need (response codes, messages, latency, connect time) wait.
    Returns ``None`` when the fast path cannot type the file (the row-checking path takes over).
    """
    import pyarrow as pa

    bad = BadLines(on_bad_lines, path=p)
    names, has_header = _header(head, delimiter, columns)
    try:
        # responseMessage as a dictionary costs less than searching the file for Transaction Controllers
        table = _arrow_read(
            str(p), p, head, bad, names, has_header, delimiter, core=True, controllers=True
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    import pyarrow.compute as pc

    el = table.column("elapsed") if "elapsed" in table.column_names else None
    if el is not None and (el.null_count or pc.any(pc.less(el, 0)).as_py()):
        return None  # negative or empty elapsed: the row-checking path reports each row
    arrays = core_arrays(table, p, fmt, tz, line_offset=1 if has_header else 0)
    stamp = p.stat()

    def materialize() -> pd.DataFrame:
        try:
            return _materialize()
        except PerfnbError:
            raise
        except Exception as err:  # runs outside read_jmeter's guard, on first access
            wrapped = wrap_reader_error(err, p, "read_jmeter")
            if wrapped is None:
                raise
            raise wrapped from err

    def _materialize() -> pd.DataFrame:
        now = p.stat()
        if (now.st_size, now.st_mtime_ns) != (stamp.st_size, stamp.st_mtime_ns):
            raise FormatError(
                "the file changed after it was read; read it again",
                path=p,
                hint="read_jmeter reads large files' detail columns on first access of .requests",
            )
        again = BadLines(on_bad_lines, path=p)
        out = _to_requests(_read_csv(p, head, again, columns, delimiter), p, run, again, fmt, tz)
        return cast("pd.DataFrame", again.finish(out))

    lt = LoadTest(None, "jmeter", run, str(p), arrays=arrays, materialize=materialize)
    lt.meta["skipped_rows"] = bad.count
    lt.meta["skipped_lines"] = bad.lines[:100]
    bad.finish(pd.DataFrame())  # warns in "warn" mode
    return lt


def csv_delimiter(head: bytes, delimiter: str = ",") -> str:
    """The JTL's field delimiter: a tab when the first line has tabs and no comma, else *delimiter*.

    JMeter writes tabs with ``jmeter.save.saveservice.default_delimiter`` set to a tab.
    """
    first = head.split(b"\n", 1)[0]
    if delimiter == "," and b"\t" in first and b"," not in first:
        return "\t"
    return delimiter


def _header(head: bytes, delimiter: str, columns: list[str] | None) -> tuple[list[str], bool]:
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0].rstrip("\r")
    fields = next(csv.reader([first], delimiter=delimiter), [])
    if fields and (fields[0] in _KNOWN or "label" in fields) and not fields[0][:1].isdigit():
        return fields, True
    if columns is not None:
        return list(columns), False
    if len(fields) == len(DEFAULT_COLUMNS):
        return list(DEFAULT_COLUMNS), False
    raise FormatError(
        f"no header line and {len(fields)} fields, not JMeter's {len(DEFAULT_COLUMNS)} default columns",
        line=1,
        expected="a header line, or columns=[...] naming the fields",
        found=first[:120],
    )


def _has_controllers(p: Path) -> bool:
    """Whether the file contains a Transaction Controller sample (a block-wise byte search).

    Plain reads into one reused buffer, not a memory map: mapping the file would count every page of
    it in the process's resident memory.
    """
    if not _plain(p):
        return True  # compressed or transcoded: read responseMessage and look there
    pat = _TC.encode()
    block = bytearray(16 << 20)
    view = memoryview(block)
    keep = len(pat) - 1
    try:
        with p.open("rb", buffering=0) as fh:
            filled = fh.readinto(view)
            while filled:
                if block.find(pat, 0, filled) >= 0:
                    return True
                block[:keep] = block[filled - keep : filled]  # a match across the block edge
                more = fh.readinto(view[keep:])
                if not more:
                    return False
                filled = keep + more
    except OSError:
        return True
    return False


def _epoch_ms_first(head: bytes, names: list[str], has_header: bool, delimiter: str) -> bool:
    lines = head.decode("utf-8", "replace").split("\n")
    row = lines[1 if has_header else 0] if len(lines) > (1 if has_header else 0) else ""
    fields = row.split(delimiter)
    i = names.index("timeStamp") if "timeStamp" in names else -1
    return 0 <= i < len(fields) and fields[i].strip().isdigit()


def _read_csv(
    p: Path, head: bytes, bad: BadLines, columns: list[str] | None, delimiter: str
) -> Any:
    import pyarrow as pa

    names, has_header = _header(head, delimiter, columns)
    try:
        source: Any = str(p) if _plain(p) else pa.BufferReader(read_bytes(p))  # gzip, UTF-16
        table = _arrow_read(source, p, head, bad, names, has_header, delimiter)
        return _arrow_frame(table)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return _read_csv_slow(p, names, has_header, bad, delimiter)


#: the columns that the summary needs (read first; the rest on first access of ``requests``)
CORE = ("timeStamp", "elapsed", "label", "success", "bytes", "sentBytes")


def _arrow_read(
    source: Any,
    p: Path,
    head: bytes,
    bad: BadLines,
    names: list[str],
    has_header: bool,
    delimiter: str,
    *,
    core: bool | tuple[str, ...] = False,
    controllers: bool | None = None,
    line_offset: int | None = None,
) -> Any:
    """A typed pyarrow table of a JTL (*source*: a path or a buffer of whole lines; *core*: summary columns)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    missing = [c for c in ("elapsed", "label") if c not in names]
    if missing:
        raise FormatError(
            f"JTL lacks column(s) {', '.join(missing)}",
            path=p,
            line=1,
            expected="a JTL with elapsed and label (aggregated SampleCount files have no per-request data)",
            found=",".join(names)[:200],
        )
    want = [c for c in names if c in (*DEFAULT_COLUMNS, "Hostname")]
    want = [c for c in want if c not in ("threadName", "dataType", "URL", "IdleTime", "grpThreads")]
    if core:
        keep: tuple[str, ...] = CORE if core is True else tuple(core or ())
        want = [c for c in want if c in keep or c == "responseMessage"]
    if "responseMessage" in want and not (
        _has_controllers(p) if controllers is None else controllers
    ):
        want.remove(
            "responseMessage"
        )  # dictionary-encoding it costs more than reading 4 other columns
    types: dict[str, Any] = {
        "elapsed": pa.int64() if core else pa.float64(),  # core: fractional ms → eager path
        "bytes": pa.int64(),
        "sentBytes": pa.int64(),
        "allThreads": pa.int64(),
        "Latency": pa.float64(),
        "Connect": pa.float64(),
        "success": pa.bool_(),
        "label": pa.dictionary(pa.int32(), pa.string()),
        "responseCode": pa.dictionary(pa.int32(), pa.string()),
        "responseMessage": pa.dictionary(pa.int32(), pa.string()),
        "failureMessage": pa.dictionary(pa.int32(), pa.string()),
        "timeStamp": pa.int64()
        if _epoch_ms_first(head, names, has_header, delimiter)
        else pa.string(),
    }
    ragged = ArrowRaggedRows(bad)
    table = pacsv.read_csv(
        source,
        read_options=pacsv.ReadOptions(
            column_names=None if has_header else names,
            block_size=1 << 24,
            # pyarrow numbers skipped rows only when it reads with one thread: lines over speed
            use_threads=ragged.handler is None,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter,
            newlines_in_values=False,
            invalid_row_handler=ragged.handler,
        ),
        convert_options=pacsv.ConvertOptions(
            include_columns=want,
            column_types={k: v for k, v in types.items() if k in want},
            strings_can_be_null=False,
            null_values=[""],
            true_values=["true", "TRUE", "True"],
            false_values=["false", "FALSE", "False"],
            quoted_strings_can_be_null=False,
        ),
    )
    ragged.report(line_offset=line_offset or 0)  # pyarrow numbers the source's lines from 1
    return table


def core_arrays(
    table: Any, p: Path, fmt: str | None, tz: str, *, line_offset: int = 1
) -> RequestArrays:
    """:class:`~perfnb.analysis.aggregate.RequestArrays` straight from a JTL arrow table (no pandas frame)."""
    import pyarrow as pa

    from perfnb.model.arrays import EXACT_MAX_MS, RequestArrays, whole_ms

    table = table.unify_dictionaries()
    n = table.num_rows
    for needed in ("timeStamp", "elapsed", "label"):
        if needed not in table.column_names:
            raise FormatError(f"JTL lacks a {needed} column", path=p, line=1, expected=needed)
    el = table.column("elapsed")
    if el.null_count:
        i = int(np.flatnonzero(el.is_null().to_numpy(zero_copy_only=False))[0])
        raise FormatError(
            "column 'elapsed' is empty", path=p, line=i + 1 + line_offset, expected="milliseconds"
        )
    ms = el.to_numpy()
    neg = np.flatnonzero(~(ms >= 0))
    if neg.size:
        raise FormatError(
            "column 'elapsed' is negative or not a number",
            path=p,
            line=int(neg[0]) + 1 + line_offset,
            found=ms[neg[0]],
            expected="milliseconds ≥ 0",
        )
    rt: np.ndarray | None = None
    if ms.dtype.kind == "i":
        exact = ms if ms.size == 0 or (ms.min() >= 0 and ms.max() <= EXACT_MAX_MS) else None
    else:
        exact = whole_ms(ms / 1000.0)
    if exact is None:
        rt = ms / 1000.0
    lab = table.column("label")
    if lab.num_chunks and n:
        labels = [str(x) for x in lab.chunk(0).dictionary.to_pylist()]
        codes = np.concatenate(
            [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in lab.chunks]
        ).astype("int32", copy=False)
    else:
        labels, codes = [], np.zeros(n, dtype="int32")
    if (codes < 0).any():
        labels = [*labels, ""]
        codes = np.where(codes < 0, len(labels) - 1, codes).astype("int32")
    succ = table.column("success") if "success" in table.column_names else None
    if succ is None:
        ok = np.ones(n, dtype=bool)
    elif pa.types.is_boolean(succ.type):
        ok = succ.fill_null(False).to_numpy(zero_copy_only=False)
    else:
        ok = np.asarray(
            succ.to_pandas().astype("string").str.lower().eq("true").fillna(False), dtype=bool
        )
    ts = table.column("timeStamp")
    start_ms: np.ndarray | None = None
    start_ns: np.ndarray | None = None
    if pa.types.is_integer(ts.type) and ts.null_count == 0:
        start_ms = ts.to_numpy()
    else:
        start_ns = (
            _parse_ts(ts.to_pandas(), p, fmt, tz, lambda i: i + 1 + line_offset)
            .to_numpy(dtype="datetime64[ns]")
            .view("int64")
        )

    def opt(name: str) -> np.ndarray | None:
        if name not in table.column_names:
            return None
        col = table.column(name)
        if col.null_count == n:
            return None
        out: np.ndarray = (
            col.to_numpy()  # int64, zero-copy where arrow allows
            if col.null_count == 0
            else col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        )
        return out

    ctrl = None
    if "responseMessage" in table.column_names:
        rm = table.column("responseMessage")
        cats = rm.chunk(0).dictionary.to_pylist() if rm.num_chunks and n else []
        is_tc = np.array([str(c).startswith(_TC) for c in cats] + [False], dtype=bool)
        if is_tc.any():
            idx = np.concatenate(
                [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in rm.chunks]
            )
            ctrl = is_tc[idx]
            if not ctrl.any():
                ctrl = None
    return RequestArrays(
        labels=labels,
        codes=codes,
        start_ns=start_ns,
        start_ms=start_ms,
        rt_s=rt,
        ok=ok,
        elapsed_ms=exact,
        nbytes=opt("bytes"),
        sent=opt("sentBytes"),
        users=opt("allThreads"),
        ctrl=ctrl,
    )


def _arrow_frame(table: Any) -> dict[str, Any]:
    """Columns of an arrow table as pandas columns, without ``Table.to_pandas`` copies.

    Dictionary columns become categoricals from their codes; numeric columns are zero-copy where possible.
    """
    import pyarrow as pa

    table = table.unify_dictionaries()
    cols: dict[str, Any] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            chunks = col.chunks
            if chunks:
                cats = chunks[0].dictionary.to_numpy(zero_copy_only=False)
                codes = np.concatenate(
                    [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in chunks]
                ).astype("int32", copy=False)
            else:
                cats, codes = np.array([], dtype=object), np.array([], dtype="int32")
            cols[name] = pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object))
        elif pa.types.is_integer(col.type) and name != "timeStamp":
            arr = col.combine_chunks()
            values = arr.fill_null(0).to_numpy(zero_copy_only=False).astype("int64", copy=False)
            mask = arr.is_null().to_numpy(zero_copy_only=False)
            cols[name] = pd.arrays.IntegerArray(values, mask)
        elif (pa.types.is_boolean(col.type) and col.null_count == 0) or (
            pa.types.is_integer(col.type) and col.null_count == 0
        ):
            cols[name] = col.to_numpy()
        elif pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            cols[name] = col.cast(pa.float64()).to_numpy()
        else:
            cols[name] = col.to_pandas()
    return {k: pd.Series(v, copy=False) for k, v in cols.items()}  # no block consolidation copy


def _read_csv_slow(
    p: Path,
    names: list[str],
    has_header: bool,
    bad: BadLines,
    delimiter: str,
    *,
    text: str | None = None,
    line_offset: int = 0,
) -> pd.DataFrame:
    if text is None:
        try:
            text = read_bytes(p).decode("utf-8", "replace")
        except OSError as err:  # pragma: no cover
            raise FormatError(f"cannot read: {err}", path=p) from err
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        _check_rows(reader, names, has_header, bad, line_offset, rows, lines)
    except csv.Error as err:  # a field over 128 KiB, a stray quote
        raise FormatError(
            f"not a valid CSV row ({err})", path=p, line=reader.line_num + line_offset
        ) from err
    df = pd.DataFrame(rows, columns=names)
    df["elapsed"] = df["elapsed"].astype("float64")
    for c in ("bytes", "sentBytes", "allThreads", "Latency", "Connect"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    df.attrs["_lines"] = lines
    return df


def _check_rows(
    reader: Any,
    names: list[str],
    has_header: bool,
    bad: BadLines,
    line_offset: int,
    rows: list[list[str]],
    lines: list[int],
) -> None:
    """Keep the readable rows of *reader* (and their lines); report the others to *bad*."""
    for i, row in enumerate(reader):
        lineno = reader.line_num + line_offset
        if i == 0 and has_header:
            continue
        if not row:
            continue
        if row == names or (row and row[0] == names[0] and names[0] == "timeStamp"):
            bad.add(lineno, "repeated header line (concatenated JTL files)")
            continue
        if len(row) != len(names):
            bad.add(lineno, f"ragged row: {len(row)} fields, header has {len(names)}")
            continue
        el = row[names.index("elapsed")]
        try:
            float(el)
        except ValueError:
            bad.add(lineno, "column 'elapsed' is not a number", expected="milliseconds", found=el)
            continue
        rows.append(row)
        lines.append(lineno)


_XML_ATTR = {
    "t": "elapsed",
    "lt": "Latency",
    "ct": "Connect",
    "ts": "timeStamp",
    "s": "success",
    "lb": "label",
    "rc": "responseCode",
    "rs": "responseCode",
    "rm": "responseMessage",
    "by": "bytes",
    "sby": "sentBytes",
    "na": "allThreads",
}


def _xml_samples(fh: Any, cols: dict[str, list[Any]]) -> None:
    """Append the attributes of the top-level samples of the XML JTL *fh* to *cols*."""
    depth = 0
    # expat >= 2.4 (bundled with Python 3.11) refuses entity-expansion bombs
    for event, elem in ET.iterparse(fh, events=("start", "end")):  # noqa: S314
        if elem.tag not in ("httpSample", "sample"):
            continue
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth == 0:  # top-level samples only; nested sub-results are not double counted
            a = elem.attrib
            for k, col in _XML_ATTR.items():
                if k == "rs":
                    continue
                value = a.get(k)
                if k == "rc" and value is None:
                    value = a.get("rs")  # very old files
                cols[col].append(value)
            elem.clear()


def _read_xml(p: Path, bad: BadLines) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {v: [] for v in dict.fromkeys(_XML_ATTR.values())}
    try:
        with open_bytes(p, text=False) as fh:  # gzip; the XML declaration names the encoding
            if head_bytes(p, 4)[:1] == b"<" and not _plain(p):  # gzip, UTF-16/32 or a BOM
                # expat trusts the declaration over the bytes: transcode, and say UTF-8
                text = read_bytes(p)
                text = re.sub(
                    rb'(<\?xml[^>]*encoding=)["\'][^"\']*["\']', rb'\1"UTF-8"', text, count=1
                )
                _xml_samples(io.BytesIO(text), cols)
            else:
                _xml_samples(fh, cols)
    except ET.ParseError as err:
        line = err.position[0]
        raise FormatError(f"XML JTL is malformed: {err}", path=p, line=line) from err
    except (LookupError, ValueError) as err:  # an encoding= Python does not know
        raise FormatError(
            f"XML JTL cannot be decoded: {err}", path=p, line=1, expected="a known encoding"
        ) from err
    n = len(cols["elapsed"])
    df = pd.DataFrame({k: v for k, v in cols.items() if len(v) == n})
    for c in ("elapsed", "bytes", "sentBytes", "allThreads", "Latency", "Connect"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def _parse_ts(
    ts: pd.Series, p: Path, fmt: str | None, tz: str, lineno: Any = lambda i: i + 2
) -> pd.Series:
    s = ts.astype("string") if not pd.api.types.is_numeric_dtype(ts) else ts
    if pd.api.types.is_integer_dtype(s) and not s.isna().any():
        return epoch_to_utc(s.to_numpy(dtype="int64"), "ms")  # out of range → NaT, a bad row
    if pd.api.types.is_numeric_dtype(s):
        return epoch_to_utc(s.to_numpy(dtype="float64"), "ms")
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().all():
        return epoch_to_utc(num.to_numpy(dtype="float64"), "ms")
    if num.notna().any():
        i = (
            int(np.flatnonzero(num.isna().to_numpy())[0])
            if num.notna().iloc[0]
            else int(np.flatnonzero(num.notna().to_numpy())[0])
        )
        raise FormatError(
            "mixed timestamp formats (epoch milliseconds and date strings)",
            path=p,
            line=lineno(i),
            key="timeStamp",
            found=str(s.iloc[i]),
        )
    for f in (
        [fmt]
        if fmt
        else ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "ISO8601"]
    ):
        try:
            parsed = pd.to_datetime(s, format=f)
        except (ValueError, TypeError):
            continue
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(tz)
        return parsed.dt.tz_convert("UTC")
    raise FormatError(
        "timeStamp is neither epoch milliseconds nor a known date format",
        path=p,
        line=lineno(0),
        key="timeStamp",
        found=str(s.iloc[0]),
        hint="pass timestamp_format='%d/%m/%Y %H:%M:%S' (jmeter.save.saveservice.timestamp_format)",
    )


def _to_requests(
    df: Any, p: Path, run: str, bad: BadLines, fmt: str | None, tz: str, *, first_line: int = 2
) -> pd.DataFrame:
    kept = getattr(df, "attrs", {}).get("_lines")  # the row-checking path's real line numbers

    def lineno(i: int) -> int:
        return int(kept[i]) if kept is not None and i < len(kept) else i + first_line

    nrows = len(df["elapsed"]) if "elapsed" in df else 0
    if nrows == 0:
        return REQUESTS.empty()
    if "timeStamp" not in df:
        raise FormatError("JTL lacks a timeStamp column", path=p, expected="timeStamp")
    rt = df["elapsed"].astype("float64")  # empty, NaN or negative: bad rows (drop_bad_requests)
    if df["success"].dtype == bool:
        success = df["success"].to_numpy()
    else:
        succ = df["success"].astype("string").str.lower()
        success = (succ == "true").fillna(False).to_numpy(dtype=bool)
    out: dict[str, Any] = {
        "timestamp": _parse_ts(df["timeStamp"], p, fmt, tz, lineno),
        "label": df["label"].astype("category"),
        "response_time_s": rt / 1000.0,
        "success": success,
    }
    if "responseCode" in df:
        out["status"] = df["responseCode"].astype("category")
    if "failureMessage" in df:
        fm = df["failureMessage"]
        if isinstance(fm.dtype, pd.CategoricalDtype):
            if "" in fm.cat.categories:
                fm = fm.cat.remove_categories([""])
            out["error"] = fm
        else:
            fs = fm.astype("string")
            out["error"] = fs.mask(fs == "")
    for src, dst, scale in (
        ("bytes", "bytes", None),
        ("sentBytes", "sent_bytes", None),
        ("allThreads", "users", None),
        ("Latency", "latency_s", 1000.0),
        ("Connect", "connect_s", 1000.0),
    ):
        if src in df:
            if scale is None and str(df[src].dtype) == "Int64":
                out[dst] = df[src]
                continue
            col = pd.to_numeric(df[src], errors="coerce")
            out[dst] = col / scale if scale else counts(col).to_numpy()
    if "responseMessage" in df:
        rm = df["responseMessage"]
        if isinstance(rm.dtype, pd.CategoricalDtype):
            is_tc = rm.cat.categories.astype(str).str.startswith(_TC)
            ctrl = np.asarray(is_tc)[rm.cat.codes.to_numpy()] & (rm.cat.codes.to_numpy() >= 0)
        else:
            ctrl = rm.astype("string").str.startswith(_TC).fillna(False).to_numpy(dtype=bool)
        out["is_controller"] = ctrl
    else:
        out["is_controller"] = np.zeros(nrows, dtype=bool)
    frame = pd.DataFrame(out, copy=False)
    frame["source"] = const_category("jmeter", len(frame))
    frame["run"] = const_category(run, len(frame))
    frame = drop_bad_requests(frame, bad, lineno)  # elapsed=-351, NaN, a time past 2262
    return REQUESTS.conform(frame)
