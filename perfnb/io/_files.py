"""Opening and reading input files safely: the one place every reader gets its bytes and text from.

* :func:`ensure_path` refuses up front what would hang or blow up: a FIFO, a device, a socket, a sparse
  file (its holes read back as NUL bytes), and turns OS errors into a one-line :class:`InputError`.
* :func:`open_bytes`, :func:`read_bytes`, :func:`read_text`, :func:`head_bytes` decompress gzip
  recognised by its magic bytes (not the name), honour UTF-8/16/32 BOMs and recognise UTF-16 without
  one, and refuse NUL bytes in text with the line they are on.
* :func:`guard_reader` decorates every public ``read_*``: the last line of defence that turns a library
  exception no reader foresaw into a :class:`FormatError` naming the file.

Re-exported by :mod:`perfnb.io._common`, where readers import them from.
"""

from __future__ import annotations

import codecs
import csv
import functools
import gzip
import io
import os
import stat
import struct
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from perfnb.errors import FormatError, InputError, PerfnbError, truncate

__all__ = [
    "JSON_ERRORS",
    "check_no_nul",
    "decode_text",
    "ensure_path",
    "guard_reader",
    "head_bytes",
    "is_gzip",
    "is_plain",
    "json_problem",
    "open_bytes",
    "read_bytes",
    "read_text",
    "wrap_reader_error",
]

HEAD_SIZE = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
#: Files smaller than this are never checked for holes, and smaller holes are read.
SPARSE_MIN_BYTES = 1024 * 1024

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _os_error(err: OSError, path: Path, doing: str = "cannot read file") -> InputError:
    """A one-line :class:`InputError` for an OS error (permission, is a directory, I/O …)."""
    return InputError(f"{doing}: {err.strerror or err}", path=path)


def ensure_path(path: str | os.PathLike[str], *, allow_dir: bool = False) -> Path:
    """Return *path* as a :class:`~pathlib.Path` of a regular file (or folder), refused up front otherwise.

    A FIFO, device or socket would block or never end, and a sparse file's holes read back as
    gigabytes of NUL bytes that no format perfnb reads contains; both raise :class:`InputError` before
    anything is read.

    Raises
    ------
    InputError
        Missing path, a folder (unless *allow_dir*), a non-regular or sparse file, an OS error.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError as err:
        raise InputError("no such file or directory", path=p) from err
    except OSError as err:
        raise _os_error(err, p, "cannot open") from err
    if stat.S_ISDIR(st.st_mode):
        if not allow_dir:
            raise InputError("is a directory", path=p, expected="a file")
        return p
    if not stat.S_ISREG(st.st_mode):
        what = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise InputError(
            f"is {what}", path=p, expected="a regular file (save the stream to a file)"
        )
    _refuse_sparse(p, st)
    return p


def _refuse_sparse(p: Path, st: os.stat_result) -> None:
    """Refuse a file with a hole: its bytes are NULs perfnb would read into memory for nothing."""
    if st.st_size < SPARSE_MIN_BYTES or st.st_blocks * 512 >= st.st_size:
        return  # small, or every byte is on disk (compressing file systems only lower st_blocks)
    seek_hole = getattr(os, "SEEK_HOLE", None)
    if seek_hole is None:
        return
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise _os_error(err, p) from err
    try:
        hole = os.lseek(fd, 0, seek_hole)
        try:
            data_after = os.lseek(fd, hole, os.SEEK_DATA) if hole < st.st_size else hole
        except OSError:  # ENXIO: the hole runs to the end of the file
            data_after = st.st_size
    except OSError:
        return  # the file system cannot tell
    finally:
        os.close(fd)
    if data_after - hole >= SPARSE_MIN_BYTES:  # a small hole (a tool's seek) is read as it is
        raise InputError(
            f"is a sparse file: {data_after - hole:,} bytes from offset {hole:,} are a hole "
            "(read back as NUL bytes)",
            path=p,
            expected="a file a tool wrote (was it preallocated or cut with truncate?)",
        )


class _GzipReader(gzip.GzipFile):
    """A :class:`gzip.GzipFile` whose errors are :class:`FormatError` naming the file."""

    perfnb_path: Path

    def _wrap(self, err: Exception) -> FormatError:
        return FormatError(
            f"gzip stream is damaged ({str(err) or type(err).__name__})",
            path=self.perfnb_path,
            expected="a complete gzip file",
        )

    def read(self, size: int | None = -1) -> bytes:
        try:
            return super().read(size)
        except (OSError, EOFError, zlib.error) as err:
            raise self._wrap(err) from err

    def read1(self, size: int = -1) -> bytes:
        try:
            return super().read1(size)
        except (OSError, EOFError, zlib.error) as err:
            raise self._wrap(err) from err

    def readinto(self, b: Any) -> int:
        try:
            return super().readinto(b)
        except (OSError, EOFError, zlib.error) as err:
            raise self._wrap(err) from err

    def peek(self, n: int) -> bytes:
        try:
            return super().peek(n)
        except (OSError, EOFError, zlib.error) as err:
            raise self._wrap(err) from err

    def readline(self, size: int | None = -1) -> bytes:
        try:
            return super().readline(size)
        except (OSError, EOFError, zlib.error) as err:
            raise self._wrap(err) from err


def is_gzip(head: bytes) -> bool:
    """Whether *head* starts with the gzip magic bytes (RFC 1952), whatever the file is named."""
    return head[:2] == GZIP_MAGIC


def _text_codec(head: bytes) -> str | None:
    """The codec to transcode from, when *head* is UTF-16/32 or starts with a UTF-8 BOM; else None.

    UTF-16 without a BOM is recognised the way :func:`json.detect_encoding` does, by the NUL bytes of
    ASCII characters (a NUL after or before each of the first two, which are printable ASCII).
    """
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if head.startswith(bom):
            return enc
    if len(head) >= 4:
        a, b, c, d = head[:4]
        if b == 0 == d and 0x09 <= a < 0x7F and 0x09 <= c < 0x7F:
            return "utf-16-le"
        if a == 0 == c and 0x09 <= b < 0x7F and 0x09 <= d < 0x7F:
            return "utf-16-be"
    return None


@contextmanager
def open_bytes(path: str | os.PathLike[str], *, text: bool = True) -> Iterator[BinaryIO]:
    """Open a regular file for reading: gzip decompressed, text transcoded to UTF-8 without a BOM.

    gzip is recognised by its magic bytes, not the name (``k6 run --out json=x.json.gz``, rotated logs).
    With *text*, a UTF-8 BOM is skipped and UTF-16/32 (BOM, or UTF-16 recognised by its NUL bytes) is
    transcoded to UTF-8, so byte-oriented parsers (pyarrow, ``json.loads``) see plain UTF-8. Read errors
    of a damaged gzip stream raise :class:`FormatError`; OS errors :class:`InputError`.
    """
    p = ensure_path(path)
    try:
        raw: BinaryIO = p.open("rb")
    except OSError as err:
        raise _os_error(err, p) from err
    with raw:
        try:
            magic = raw.read(2)
            raw.seek(0)
        except OSError as err:
            raise _os_error(err, p) from err
        fh: BinaryIO = raw
        if is_gzip(magic):
            gz = _GzipReader(fileobj=raw, mode="rb")
            gz.perfnb_path = p
            fh = cast("BinaryIO", gz)
        if text:
            head = fh.peek(4)[:4] if hasattr(fh, "peek") else b""
            codec = _text_codec(head)
            if codec == "utf-8-sig":
                fh.read(3)
            elif codec is not None:
                data = fh.read()
                fh = io.BytesIO(decode_text(data, p, encoding=codec).encode("utf-8"))
        try:
            yield fh
        except OSError as err:
            raise _os_error(err, p) from err


def read_bytes(path: str | os.PathLike[str], *, text: bool = True) -> bytes:
    """The whole content of *path*, through :func:`open_bytes` (gzip, and with *text* UTF-8 without BOM).

    With *text*, a NUL byte raises :class:`FormatError` (a text format never holds one; a binary file or
    a preallocated log does), so garbage is refused with its line number instead of being parsed, and
    CR-only line ends become newlines.
    """
    with open_bytes(path, text=text) as fh:
        try:
            data = fh.read()
        except OSError as err:
            raise _os_error(err, Path(path)) from err
    if text:
        check_no_nul(data, Path(path))
        if b"\r" in data and b"\n" not in data:  # classic Mac line ends: CR only
            data = data.replace(b"\r", b"\n")
    return data


#: What ``json.loads`` raises on bad input: JSONDecodeError, a ValueError for an integer of more than
#: 4300 digits (``sys.set_int_max_str_digits``), RecursionError for deep nesting.
JSON_ERRORS: tuple[type[Exception], ...] = (ValueError, RecursionError)


def json_problem(err: Exception) -> tuple[str, int | None]:
    """``(what is wrong, line)`` for an exception in :data:`JSON_ERRORS`."""
    if isinstance(err, RecursionError):
        return "nested too deeply", None
    msg = getattr(err, "msg", None)
    if isinstance(msg, str):
        return msg, getattr(err, "lineno", None)
    text = str(err)
    if "digits" in text:
        return "an integer with more than 4300 digits", None
    return truncate(text, 120)[1:-1], None


def is_plain(path: Path) -> bool:
    """Whether the file's bytes are its text as readers see it (not gzip, UTF-16 or BOM-prefixed).

    Byte offsets and library readers that open the path themselves (pyarrow) are only right then.
    """
    try:
        with path.open("rb") as fh:
            raw = fh.read(4)
    except OSError:
        return False
    return head_bytes(path, 4) == raw


def check_no_nul(data: bytes, path: Path | None) -> None:
    """Raise :class:`FormatError` naming the line if the text *data* holds a NUL byte."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FormatError(
            f"NUL byte at offset {nul}",
            path=path,
            line=data.count(b"\n", 0, nul) + 1,
            expected="a text file (is it binary, UTF-32 without a BOM, or a preallocated log?)",
        )


def head_bytes(path: Path, size: int = HEAD_SIZE) -> bytes:
    """The first *size* bytes of *path* as a sniffer should see them (``b""`` for a folder).

    gzip is decompressed, and UTF-16/32 or a UTF-8 BOM are turned into UTF-8 without a BOM, so every
    sniffer recognises ``x.json.gz`` or a BOM-prefixed CSV the way it recognises the plain file. A
    damaged gzip stream gives what could be decompressed.
    """
    if path.is_dir():
        return b""
    p = ensure_path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(size)
            if is_gzip(data):
                fh.seek(0)
                data = _gunzip_head(fh, size)
    except OSError as err:
        raise _os_error(err, p) from err
    codec = _text_codec(data)
    if codec is not None:
        text = data.decode(codec, "ignore")
        data = text.lstrip("\ufeff").encode("utf-8")
    return data


def _gunzip_head(fh: BinaryIO, size: int) -> bytes:
    out = b""
    try:
        with gzip.GzipFile(fileobj=fh, mode="rb") as gz:
            while len(out) < size:
                chunk = gz.read1(size - len(out))
                if not chunk:
                    break
                out += chunk
    except (OSError, EOFError, zlib.error):
        pass  # a damaged stream: sniff what came out
    return out


def decode_text(data: bytes, path: Path | None = None, *, encoding: str | None = None) -> str:
    """Decode bytes as text: BOMs honoured (UTF-8/16/32), UTF-16 recognised, UTF-8 by default.

    ``encoding`` overrides the detection. CRLF line ends are left alone (``str.splitlines`` handles
    them). Raises :class:`FormatError` on undecodable bytes, naming the line and offset, and
    :class:`InputError` for an unknown ``encoding``.
    """
    if encoding is None:
        encoding = _text_codec(data[:4]) or "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise FormatError(
            f"bytes at offset {err.start} are not {encoding}",
            path=path,
            line=line,
            expected="a text file (pass encoding= for other encodings)",
            found=data[err.start : err.start + 8],
        ) from err
    except LookupError as err:
        raise InputError(f"unknown encoding {encoding!r}", path=path) from err
    return text.removeprefix("\ufeff")


def read_text(path: str | os.PathLike[str], *, encoding: str | None = None) -> str:
    """Read a whole text file: gzip by magic bytes, then :func:`decode_text` (BOMs, UTF-16).

    A NUL byte in UTF-8 text raises :class:`FormatError` with its line; CR-only line ends become newlines.
    """
    p = ensure_path(path)
    data = read_bytes(p, text=False)
    text = decode_text(data, p, encoding=encoding)
    if "\x00" in text:
        check_no_nul(text.encode("utf-8", "surrogatepass"), p)
    if "\r" in text and "\n" not in text:  # classic Mac line ends: CR only
        text = text.replace("\r", "\n")
    return text


_F = TypeVar("_F", bound=Callable[..., Any])


def guard_reader(func: _F) -> _F:
    """Decorate a ``read_*`` function so that nothing but a perfnb error leaves it for bad input.

    The last line of defence at the reader boundary (httpx's ``request_context()``): readers raise
    located :class:`FormatError` for the problems they know; anything a library raises on input no reader
    foresaw (``OverflowError``, ``ValueError``, ``RecursionError``, ``MemoryError``, a pyarrow or csv
    error …) becomes a :class:`FormatError` naming the file and the reader, ``from`` the original. OS
    errors become a one-line :class:`InputError`. Programming errors (``AttributeError``, ``NameError``)
    pass through: they are bugs to fix, not input to blame.
    """

    @functools.wraps(func)
    def wrapper(path: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(path, *args, **kwargs)
        except PerfnbError:
            raise
        except Exception as err:
            where = Path(path) if isinstance(path, (str, os.PathLike)) else None
            wrapped = wrap_reader_error(err, where, func.__name__)
            if wrapped is None:
                raise
            raise wrapped from err

    return cast("_F", wrapper)


def wrap_reader_error(err: Exception, path: Path | None, reader: str) -> InputError | None:
    """The perfnb error :func:`guard_reader` raises for *err*, or ``None`` for a programming error."""
    if isinstance(err, OSError) and path is not None:
        return _os_error(err, path)
    if isinstance(err, RecursionError):
        return FormatError(
            "nested too deeply to read", path=path, expected="a file a tool wrote", hint=reader
        )
    if isinstance(err, MemoryError):
        return FormatError(
            "too large to read in memory (a size or count in the file may be corrupt)",
            path=path,
            hint=reader,
        )
    if isinstance(err, OverflowError):  # 1e999 into an int, a 40-digit count into int64
        return FormatError(
            f"a number in it is out of range ({err})",
            path=path,
            expected="finite numbers that fit in 64 bits",
            hint=reader,
        )
    input_like = isinstance(err, _INPUT_FAILURES) or type(err).__module__.startswith("pyarrow")
    if not input_like:
        return None
    return FormatError(
        f"{reader}() could not read it: {type(err).__name__}: {truncate(str(err), 160)[1:-1]}",
        path=path,
        expected="a well-formed file",
    )


_INPUT_FAILURES: tuple[type[BaseException], ...] = (
    ArithmeticError,  # OverflowError, ZeroDivisionError
    ValueError,  # also JSONDecodeError, pandas ParserError/OutOfBoundsDatetime, UnicodeError
    TypeError,
    LookupError,  # KeyError, IndexError, unknown codec
    EOFError,
    SyntaxError,  # xml.etree.ElementTree.ParseError
    csv.Error,
    zlib.error,
    struct.error,
)
