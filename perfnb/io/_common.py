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
from typing import Any, Literal, TypeVar

from perfnb._typing import OnBadLines
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
from perfnb.model._base import perfnb_attrs, run_label
from perfnb.model.evidence import EvidenceSet
from perfnb.model.frames import CruxRecord, FrameModel, LineProfile, MemoryProfile, RumBeacons

__all__ = [
    "FORMATS",
    "JSON_ERRORS",
    "ArrowRaggedRows",
    "BadLines",
    "Format",
    "OnBadLines",
    "check_engine",
    "check_no_nul",
    "decode_text",
    "ensure_path",
    "expand_paths",
    "guard_reader",
    "head_bytes",
    "is_gzip",
    "is_plain",
    "json_problem",
    "model_of_frame",
    "open_bytes",
    "perfnb_attrs",
    "read",
    "read_bytes",
    "read_text",
    "register_format",
    "register_kind",
    "run_label",
    "sniff",
    "split_paths",
    "wrap_reader_error",
]

Kind = Literal["profile", "plan", "statements", "loadtest", "metrics", "vitals", "cache", "other"]

#: A reader function; the registry decorators return it unchanged, so its signature survives for mypy.
R = TypeVar("R", bound=Callable[..., Any])


@dataclass(frozen=True)
class Format:
    """A readable format: its name, what it is, how to recognise it and which function reads it."""

    name: str
    description: str
    kind: Kind
    reader: Callable[..., Any]
    sniff: Callable[[Path, bytes], bool]
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
    directory: bool = False,
    priority: int = 50,
) -> Callable[[R], R]:
    """Register the decorated reader for format *name*.

    Parameters
    ----------
    sniff
        ``sniff(path, head)`` → whether the file (or, with ``directory=True``, the folder) is this format.
        *head* holds the first 64 KiB (``b""`` for folders). It must not raise.
    priority
        Lower runs first; give specific formats a lower number than catch-alls.
    """

    def deco(func: R) -> R:
        FORMATS[name] = Format(name, description, kind, func, sniff, directory, priority)
        return func

    return deco


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


#: Kind-level readers (a list of files of one kind → one model), registered with :func:`register_kind`.
KIND_READERS: dict[str, Callable[..., Any]] = {}
#: Kinds whose kind-level reader also reads a single file (metrics: a frame becomes ``Metrics``).
_KIND_READS_SINGLE: set[str] = set()

#: Formats whose reader returns a bare DataFrame, and the model :func:`read` wraps it in.
FRAME_MODELS: dict[str, type[FrameModel]] = {
    "line_profiler": LineProfile,
    "line_profiler_text": LineProfile,
    "memray_stats": MemoryProfile,
    "memray_csv": MemoryProfile,
    "mprof": MemoryProfile,
    "crux": CruxRecord,
    "rum": RumBeacons,
}


#: Columns that tell which reader a bare frame came from, most specific first (RUM beacons have
#: ``metric`` and ``value`` too, so they come before metric samples).
_FRAME_SIGNATURES: tuple[tuple[frozenset[str], type[FrameModel] | None], ...] = (
    (frozenset({"page", "rating", "navigation_type"}), RumBeacons),
    (frozenset({"key", "key_type", "form_factor", "period_start"}), CruxRecord),
    (frozenset({"hits", "per_hit_s", "function_line"}), LineProfile),
    (frozenset({"size_bytes", "allocations", "stack"}), MemoryProfile),
    (frozenset({"memory_bytes", "elapsed_s"}), MemoryProfile),
    (frozenset({"timestamp", "metric", "value"}), None),  # metric samples → Metrics
)


def model_of_frame(df: Any) -> Any | None:
    """The model of a frame a per-format reader returned (``read_prometheus``, ``read_rum`` …), or ``None``.

    :func:`perfnb.check` uses it, so checking the frame works like checking what :func:`read` returns.
    """
    columns = set(getattr(df, "columns", ()))
    source = str(df["source"].iloc[0]) if "source" in columns and len(df) else ""
    for needed, model in _FRAME_SIGNATURES:
        if needed <= columns:
            if model is not None:
                return model.wrap(df, source=source)
            from perfnb.model.metrics import Metrics

            run = str(df["run"].iloc[0]) if "run" in columns and len(df) else ""
            return Metrics(df, source=source, run=run, meta=dict(df.attrs.get("perfnb", {})))
    return None


def register_kind(kind: Kind, *, single: bool = False) -> Callable[[R], R]:
    """Register the decorated function as the kind-level reader of *kind* (``read_plans`` …).

    It takes a file, folder, glob or list (see :func:`expand_paths`) and returns one model.
    ``single=True``: :func:`read` uses it for a single file of that kind too.
    """

    def deco(func: R) -> R:
        KIND_READERS[kind] = func
        if single:
            _KIND_READS_SINGLE.add(kind)
        return func

    return deco


def read(path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], **kwargs: Any) -> Any:
    """Read any evidence: a file, a folder, a glob pattern, a list of files, or a Locust CSV prefix.

    A file is sniffed by content and read by its format's reader. Several files (a folder, a pattern,
    a list) are grouped by kind, and each kind's files are read by that kind's reader into one model: plans
    into a :class:`~perfnb.model.plan.PlanSet`, profiles merged into one ``Profile``, load-test files
    of several generators into one ``LoadTest``, metrics exports into one ``Metrics``, Lighthouse
    reports into one ``LighthouseReport`` (files of kinds that do not combine are read one by one).
    When the files hold several kinds, the result is an :class:`~perfnb.model.evidence.EvidenceSet`
    (a list of those models, which :func:`perfnb.check` checks together). A folder that is itself a format (a Locust CSV set) is read
    as one run; so is a Locust prefix (``out/run`` for ``out/run_stats.csv`` …) or a companion file of
    a set (``run_failures.csv``).

    Parameters
    ----------
    path
        A file, a folder, a glob pattern, a list of these, or a Locust CSV prefix.
    **kwargs
        Passed to the reader (``run=``, ``on_bad_lines=`` …).

    Returns
    -------
    object
        A model: ``Profile``, ``PlanSet``, ``StatementStats``, ``LoadTest``, ``Metrics``,
        ``LighthouseReport``, ``CacheStats``, ``LineProfile``, ``MemoryProfile``, ``CruxRecord``,
        ``RumBeacons``. :func:`perfnb.check` accepts every one.

    Raises
    ------
    UnknownFormatError
        If the content is no supported format; the message lists the supported formats.
    InputError
        If the path does not exist, or the reader finds the file malformed.
    """
    _load_readers()
    if isinstance(path, str | os.PathLike):
        p = Path(path)
        if p.is_file() or (p.is_dir() and _directory_format(p) is not None):
            return _read_file(p, **kwargs)
        if not p.exists() and not glob.has_magic(os.fspath(path)) and _locust_set(p):
            return KIND_READERS["loadtest"](p, **kwargs)
    files = expand_paths(path)
    if len(files) == 1:
        return _read_file(files[0], **kwargs)
    groups: dict[str, list[Path]] = {}  # by kind; single-table formats (memray, RUM …) by format
    for f in files:
        fmt = sniff(f)
        groups.setdefault(fmt.name if fmt.name in FRAME_MODELS else fmt.kind, []).append(f)
    models: list[Any] = []
    for key, group in groups.items():
        if len(group) > 1 and key in KIND_READERS:
            models.append(KIND_READERS[key](group, **kwargs))
        else:  # one file, or files that do not combine (cache snapshots, pg_stat_statements, memray)
            models.extend(_read_file(f, **kwargs) for f in group)
    if len(models) == 1:
        return models[0]
    return EvidenceSet(models, path=os.fspath(path) if isinstance(path, str | os.PathLike) else "")


def _directory_format(p: Path) -> Format | None:
    try:
        return sniff(p)
    except InputError:
        return None


def _locust_set(p: Path) -> bool:
    """Whether *p* is a Locust CSV prefix or a companion file of a set (``run_failures.csv``)."""
    from perfnb.io.locust import locust_files  # same layer; imported on use to keep startup cheap

    try:
        return "stats" in locust_files(p) or "history" in locust_files(p)
    except InputError:
        return False


def _read_file(p: Path, **kwargs: Any) -> Any:
    """One file (or a folder format) → its model."""
    try:
        fmt = sniff(p)
    except UnknownFormatError:
        if p.is_file() and _locust_set(p):  # run_failures.csv, run_exceptions.csv: read the set
            return FORMATS["locust_csv"].reader(p, **kwargs)
        raise
    if fmt.name in FRAME_MODELS:
        return FRAME_MODELS[fmt.name].wrap(fmt.reader(p, **kwargs), source=fmt.name, path=str(p))
    if fmt.kind in _KIND_READS_SINGLE:
        return KIND_READERS[fmt.kind]([p], **kwargs)
    return fmt.reader(p, **kwargs)


def _load_readers() -> None:
    import perfnb.io  # noqa: F401 - importing the package registers every reader module


#: For each kind: the noun used in messages and what a file of that kind is.
KIND_NOUNS: dict[str, tuple[str, str]] = {
    "profile": ("profile", "a profile (pstats, py-spy, speedscope, pyinstrument, memray …)"),
    "plan": ("plan", "EXPLAIN JSON/text, auto_explain logs or pg_stat_statements"),
    "statements": ("pg_stat_statements", "pg_stat_statements CSV exports"),
    "loadtest": ("load-test", "JMeter, k6, Gatling or Locust output"),
    "metrics": ("metrics", "Prometheus API JSON or exposition, Grafana CSV or tidy metrics"),
    "vitals": ("web-vitals", "Lighthouse, CrUX or RUM"),
    "cache": ("cache", "Redis INFO or memcached stats"),
}

PathsLike = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


def split_paths(text: str) -> list[str]:
    """A notebook's paths parameter (``"a.json, exports/*.json"``) → the paths, for :func:`expand_paths`.

    Examples
    --------
    >>> split_paths("a.json, exports/*.json ,")
    ['a.json', 'exports/*.json']
    """
    return [part.strip() for part in text.split(",") if part.strip()]


def expand_paths(
    paths: PathsLike, *, kind: str | None = None, formats: Iterable[str] | None = None
) -> list[Path]:
    """Files, folders, glob patterns or a list of them → the input files, in order, without duplicates.

    The one rule every reader, :func:`perfnb.read`, ``perfnb read``/``check`` and the CLI use: a file
    named explicitly must be of *kind* (any readable format when *kind* is ``None``); a folder's files
    (not recursive, dotfiles skipped) and a pattern's matches are kept when they are of *kind*, and left
    out otherwise (a README, a config), but a folder or pattern must yield at least one file.
    *formats* narrows *kind* to some format names (``{"pstats"}``) the same way; a format's own reader
    passes it, and then files named explicitly are not sniffed (its parser reports what is wrong).

    Raises
    ------
    InputError
        An explicit file of another kind, a missing path, nothing given.
    EmptyInputError
        A folder or pattern without a file of *kind*.
    """
    return expand_paths_detailed(paths, kind=kind, formats=formats)[0]


def expand_paths_detailed(
    paths: PathsLike, *, kind: str | None = None, formats: Iterable[str] | None = None
) -> tuple[list[Path], list[str], set[str]]:
    """:func:`expand_paths`, plus the files left out of folders and patterns and the format names found."""
    noun, expected = KIND_NOUNS.get(kind or "", ("readable", "a format perfnb reads"))
    wanted = set(formats) if formats is not None else None
    if wanted is not None:
        noun = expected = " or ".join(sorted(wanted))

    def fits(fmt: Format) -> bool:
        return (kind is None or fmt.kind == kind) and (wanted is None or fmt.name in wanted)

    given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not given:
        raise InputError("no paths given", key="paths", expected="a folder, a glob or files")
    files: list[Path] = []
    skipped: list[str] = []
    found_formats: set[str] = set()
    for g in given:
        p = Path(g)
        if p.is_file() and wanted is not None:
            files.append(p)  # a format's own reader: its parser says precisely what is wrong
            continue
        if p.is_file():
            fmt = sniff(p)  # names the file when it is empty or unknown
            if not fits(fmt):
                raise InputError(f"is a {fmt.name} file, not {noun}", path=p, expected=expected)
            files.append(p)
            found_formats.add(fmt.name)
            continue
        if p.is_dir():
            candidates = sorted(f for f in p.iterdir() if not f.name.startswith("."))
        elif glob.has_magic(str(g)):
            candidates = [Path(f) for f in sorted(glob.glob(str(g), recursive=True))]  # noqa: PTH207
            if not candidates:
                raise EmptyInputError(f"no file matches {str(g)!r}", key="paths")
        else:
            ensure_path(p)  # a FIFO, device or socket is refused by name, a missing path as missing
            raise InputError("no such file or directory", path=p)
        found = 0
        for f in candidates:
            if not f.is_file():
                continue
            try:
                fmt_: Format | None = sniff(f)
            except InputError:
                fmt_ = None
            if fmt_ is None or not fits(fmt_):
                skipped.append(str(f))
            else:
                files.append(f)
                found_formats.add(fmt_.name)
                found += 1
        if not found:
            names = [Path(s).name for s in skipped[-5:]]
            raise EmptyInputError(
                f"no {noun} files" + ("" if p.is_dir() else f" match {str(g)!r}"),
                path=p if p.is_dir() else None,
                expected=f"{expected} files",
                hint=f"found only: {', '.join(names)}" if names else None,
            )
    return list(dict.fromkeys(files)), skipped, found_formats


#: Streaming/Dask scanners by kind (``engine="stream"``/``"dask"``), registered by :mod:`perfnb.scan`.
SCANNERS: dict[str, Callable[..., Any]] = {}

ENGINES: tuple[str, ...] = ("pandas", "stream", "dask")


def check_engine(engine: str) -> str:
    """Validate an engine name (raises :class:`InputError` naming the choices)."""
    if engine not in ENGINES:
        raise InputError(
            f"unknown engine {engine!r}", key="engine", expected="'pandas', 'stream' or 'dask'"
        )
    return engine


def scanner(kind: str, engine: str) -> Callable[..., Any]:
    """The scanner that reads *kind* with ``engine="stream"``/``"dask"`` (after checking *engine*)."""
    check_engine(engine)
    try:
        return SCANNERS[kind]
    except KeyError:
        raise InputError(
            f"{kind} inputs cannot be read with engine={engine!r}", key="engine"
        ) from None
