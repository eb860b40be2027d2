"""Helpers shared by the readers: the format registry and sniffing, text decoding, bad-line handling.

Every reader module registers its formats with :func:`register_format`, giving a *sniff* function that
looks at the first bytes of a file (content first, the file name only as a tie-breaker). :func:`read`
(re-exported as ``perfnb.read``) sniffs and dispatches; an unknown file raises
:class:`~perfnb.errors.UnknownFormatError` listing what is supported.

:class:`BadLines` implements ``on_bad_lines="error" | "warn" | "skip"``: rows that cannot be read are never
dropped silently; with ``"skip"`` the count and the first line numbers are still recorded in
``df.attrs["perfnb"]["skipped_rows"]`` and shown in reports.
"""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from perfnb.errors import (
    EmptyInputError,
    FormatError,
    InputError,
    SkippedRowsWarning,
    UnknownFormatError,
)
from perfnb.io._files import (  # the file-opening helpers, re-exported: readers import them from here
    JSON_ERRORS,
    check_no_nul,
    decode_text,
    ensure_path,
    guard_reader,
    head_bytes,
    is_gzip,
    is_plain,
    json_problem,
    open_bytes,
    read_bytes,
    read_text,
    wrap_reader_error,
)

__all__ = [
    "FORMATS",
    "JSON_ERRORS",
    "ArrowRaggedRows",
    "BadLines",
    "Format",
    "OnBadLines",
    "check_no_nul",
    "decode_text",
    "ensure_path",
    "guard_reader",
    "head_bytes",
    "is_gzip",
    "is_plain",
    "json_problem",
    "open_bytes",
    "perfnb_attrs",
    "read",
    "read_bytes",
    "read_text",
    "register_format",
    "run_label",
    "sniff",
    "wrap_reader_error",
]

OnBadLines = Literal["error", "warn", "skip"]
Kind = Literal["profile", "plan", "loadtest", "metrics", "vitals", "cache", "other"]


@dataclass(frozen=True)
class Format:
    """A readable format: its name, what it is, how to recognise it and which function reads it."""

    name: str
    description: str
    kind: Kind
    reader: Callable[..., Any]
    sniff: Callable[[Path, bytes], bool]
    extensions: tuple[str, ...] = ()
    directory: bool = False
    priority: int = 50

    def __str__(self) -> str:
        return f"{self.name} ({self.description})"


#: Registered formats, by name.
FORMATS: dict[str, Format] = {}


def register_format(
    name: str,
    *,
    description: str,
    kind: Kind,
    sniff: Callable[[Path, bytes], bool],
    extensions: tuple[str, ...] = (),
    directory: bool = False,
    priority: int = 50,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated reader for format *name*.

    Parameters
    ----------
    sniff
        ``sniff(path, head)`` → whether the file (or, with ``directory=True``, the folder) is this format.
        *head* holds the first 64 KiB (``b""`` for folders). It must not raise.
    priority
        Lower runs first; give specific formats a lower number than catch-alls.
    """

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        FORMATS[name] = Format(
            name, description, kind, func, sniff, extensions, directory, priority
        )
        return func

    return deco


def run_label(path: str | os.PathLike[str], run: str | None) -> str:
    """The ``run`` label: the one given, else the file stem (``run1_stats.csv`` → ``run1_stats``)."""
    if run:
        return run
    p = Path(path)
    name = p.name
    for suffix in (".gz", ".json", ".csv", ".jtl", ".txt", ".log", ".prof", ".pstats", ".xml"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name or p.stem


def perfnb_attrs(df: Any) -> dict[str, Any]:
    """The ``df.attrs["perfnb"]`` provenance dict (created if absent). Plain JSON values only."""
    attrs: dict[str, Any] = df.attrs.setdefault("perfnb", {})
    return attrs


@dataclass
class BadLines:
    """Collects unreadable rows according to ``on_bad_lines``.

    ``"error"`` raises the first problem as a :class:`FormatError`; ``"warn"`` skips and warns once at
    :meth:`finish`; ``"skip"`` skips quietly. In every mode the skipped line numbers are recorded.

    Examples
    --------
    >>> bad = BadLines("skip", path=Path("x.csv"))
    >>> bad.add(3, "ragged row")
    >>> bad.count, bad.lines
    (1, [3])
    """

    mode: OnBadLines
    path: Path | None = None
    lines: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in ("error", "warn", "skip"):
            raise InputError(
                f"on_bad_lines={self.mode!r} is not supported", expected="'error', 'warn' or 'skip'"
            )

    @property
    def count(self) -> int:
        """Number of rows skipped so far."""
        return len(self.lines)

    def add(
        self, line: int | None, message: str, *, expected: str | None = None, found: Any = None
    ) -> None:
        """Report one bad row: raise in ``"error"`` mode, otherwise record it."""
        if self.mode == "error":
            raise FormatError(message, path=self.path, line=line, expected=expected, found=found)
        self.lines.append(line if line is not None else -1)
        if len(self.reasons) < 20:
            where = f"line {line}: " if line is not None else ""
            self.reasons.append(where + message)

    def to_meta(self, meta: dict[str, Any]) -> None:
        """Record the skipped rows in a model object's ``meta`` (``skipped_rows``, ``skipped_lines``)."""
        meta["skipped_rows"] = self.count
        meta["skipped_lines"] = self.lines[:100]
        if self.reasons:
            meta["skipped_reasons"] = self.reasons

    def finish(self, df: Any) -> Any:
        """Record the skipped rows in ``df.attrs["perfnb"]`` (and warn in ``"warn"`` mode); return *df*."""
        attrs = perfnb_attrs(df)
        attrs["skipped_rows"] = self.count
        attrs["skipped_lines"] = self.lines[:100]
        if self.reasons:
            attrs["skipped_reasons"] = self.reasons
        if self.count and self.mode == "warn":
            first = ", ".join(str(n) for n in self.lines[:5])
            more = f" and {self.count - 5} more" if self.count > 5 else ""
            warnings.warn(
                f"{self.path}: skipped {self.count} unreadable row(s) at line(s) {first}{more}: "
                f"{self.reasons[0] if self.reasons else ''}",
                SkippedRowsWarning,
                stacklevel=3,
            )
        return df


class ArrowRaggedRows:
    """A pyarrow CSV ``invalid_row_handler`` that skips ragged rows and reports them to :class:`BadLines`.

    Pass :attr:`handler` to ``pyarrow.csv.ParseOptions(invalid_row_handler=...)`` (it is ``None`` in
    ``"error"`` mode, so pyarrow raises), then call :meth:`report` once the file is read.
    """

    def __init__(self, bad: BadLines) -> None:
        self.bad = bad
        self.rows: list[int] = []

    @property
    def handler(self) -> Callable[[Any], str] | None:
        """The handler for pyarrow, or ``None`` when bad rows must raise."""
        return None if self.bad.mode == "error" else self

    def __call__(self, row: Any) -> str:
        self.rows.append(int(row.number) if row.number is not None and row.number >= 0 else -1)
        return "skip"

    def report(self, *, line_offset: int = 0) -> None:
        """Record every skipped row with its line number, or ``None`` when pyarrow does not know it.

        pyarrow numbers the source's lines from 1, header included (known when it reads with one thread);
        *line_offset* is the number of lines before the source (a partition of a file).
        """
        for n in self.rows:
            self.bad.add(n + line_offset if n >= 0 else None, "ragged row (wrong number of fields)")


def sniff(path: str | os.PathLike[str]) -> Format:
    """Tell the format of a file or folder by its content.

    Raises
    ------
    UnknownFormatError
        Naming the file and listing the supported formats.
    EmptyInputError
        If the file is empty.
    """
    _load_readers()
    p = ensure_path(path, allow_dir=True)
    head = head_bytes(p)
    if not p.is_dir() and not head.strip(b" \t\r\n\x00"):
        raise EmptyInputError(
            "file is empty", path=p, expected="a profile, plan, load test or metrics file"
        )
    candidates = sorted(FORMATS.values(), key=lambda f: (f.priority, f.name))
    for fmt in candidates:
        if fmt.directory != p.is_dir():
            continue
        try:
            if fmt.sniff(p, head):
                return fmt
        except Exception:  # noqa: S112 - a sniffer that trips is a "no", never a crash
            continue
    raise UnknownFormatError(
        "not a format perfnb can read",
        path=p,
        expected="one of: " + supported_formats(directory=p.is_dir()),
    )


def supported_formats(*, directory: bool | None = None) -> str:
    """Comma-separated names of the registered formats."""
    _load_readers()
    names = sorted(
        f.name for f in FORMATS.values() if directory is None or f.directory == directory
    )
    return ", ".join(names) if names else "(none registered)"


def read(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """Read any supported file or folder: sniff its format, then call that format's reader.

    Parameters
    ----------
    path
        A file or a folder.
    **kwargs
        Passed to the reader (``run=``, ``on_bad_lines=`` …).

    Returns
    -------
    object
        What the format's ``read_*`` function returns (a ``Profile``, a ``Plan``, a ``LoadTest``, a frame …).

    Raises
    ------
    UnknownFormatError
        If the content is no supported format; the message lists the supported formats.
    InputError
        If the file does not exist, or the reader finds it malformed.
    """
    fmt = sniff(path)
    return fmt.reader(path, **kwargs)


def _load_readers() -> None:
    import perfnb.io  # noqa: F401 - importing the package registers every reader module


def input_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    kind: str,
    noun: str,
    expected: str,
) -> tuple[list[Path], list[str], set[str]]:
    """The files of *kind* (``"metrics"``, ``"loadtest"`` …) in files, folders and glob patterns.

    Returns the files in order without duplicates, the files of folders and patterns left out because
    they are not of *kind* (a README, a config), and the format names found. A file named explicitly must
    be of *kind*; a folder or pattern must yield at least one.

    Raises
    ------
    InputError
        An explicit file of another kind, a missing path, nothing given.
    EmptyInputError
        A folder or pattern without a file of *kind*.
    """
    given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not given:
        raise InputError("no paths given", key="paths", expected="a folder, a glob or files")
    files: list[Path] = []
    skipped: list[str] = []
    formats: set[str] = set()
    for g in given:
        p = Path(g)
        if p.is_file():
            fmt = sniff(p)  # names the file when it is empty or unknown
            if fmt.kind != kind:
                raise InputError(f"is a {fmt.name} file, not {noun}", path=p, expected=expected)
            files.append(p)
            formats.add(fmt.name)
            continue
        if p.is_dir():
            candidates = sorted(f for f in p.iterdir() if not f.name.startswith("."))
        elif glob.has_magic(str(g)):
            candidates = [Path(f) for f in sorted(glob.glob(str(g), recursive=True))]  # noqa: PTH207
            if not candidates:
                raise EmptyInputError(f"no file matches {str(g)!r}", key="paths")
        else:
            raise InputError("no such file or directory", path=p)
        found = 0
        for f in candidates:
            if not f.is_file():
                continue
            try:
                fmt_: Format | None = sniff(f)
            except InputError:
                fmt_ = None
            if fmt_ is None or fmt_.kind != kind:
                skipped.append(str(f))
            else:
                files.append(f)
                formats.add(fmt_.name)
                found += 1
        if not found:
            names = [Path(s).name for s in skipped[-5:]]
            raise EmptyInputError(
                f"no {noun} files" + ("" if p.is_dir() else f" match {str(g)!r}"),
                path=p if p.is_dir() else None,
                expected=f"{expected} files",
                hint=f"found only: {', '.join(names)}" if names else None,
            )
    return list(dict.fromkeys(files)), skipped, formats
