"""Exceptions and warnings raised by perfnb (a public module, like ``pandas.errors``).

Every exception perfnb raises on purpose derives from :class:`PerfnbError`::

    PerfnbError(Exception)                      base; catch-all for users and the CLI
    ├── InputError(PerfnbError, ValueError)     the data you gave us is wrong          exit 3
    │   ├── FormatError                         not a valid <format>: bad JSON, wrong columns, bad value
    │   ├── UnknownFormatError                  sniffing could not tell what a file is
    │   ├── EmptyInputError                     the file parsed but holds no samples/rows/plans
    │   └── SchemaError                         a frame given to an analysis lacks columns/dtypes
    ├── SourceError(PerfnbError, ConnectionError)  a live source failed (PostgreSQL, Prometheus …)  exit 4
    ├── NotebookError(PerfnbError)              bad parameters cell, unknown parameter, failed run  exit 5
    └── ConfigError(PerfnbError, ValueError)    bad CLI/config values not caught by click           exit 2

    PerfnbWarning(UserWarning)
    ├── SkippedRowsWarning                      rows skipped with ``on_bad_lines="warn"``
    └── AssumedUnitWarning                      a unit had to be assumed (e.g. unlabelled Grafana CSV)

Messages are compiler-style, so terminals and editors make them clickable::

    data/run1_stats.csv:14: column 'Average Response Time' is 'N/A'; expected a number of milliseconds
    plan.json: key $[0].Plan.Plans[2]: missing 'Actual Total Time'; was EXPLAIN run with ANALYZE?

The shape is ``{where}: {what is wrong}; {what was expected}`` and, when known, ``({hint})``. The parts are
kept as attributes (``path``, ``line``, ``key``, ``expected``, ``found``, ``hint``) so callers can react
without parsing text. Constructor arguments equal the stored attributes, so every exception pickles.
Class names are API: inside a notebook an exception crosses the kernel boundary only as its name
(``PapermillExecutionError.ename``), and ``perfnb run`` maps names to exit codes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from perfnb._secrets import redact

__all__ = [
    "AssumedUnitWarning",
    "ConfigError",
    "EmptyInputError",
    "FormatError",
    "InputError",
    "NotebookError",
    "PerfnbError",
    "PerfnbWarning",
    "SchemaError",
    "SkippedRowsWarning",
    "SourceError",
    "UnknownFormatError",
    "concat",
    "truncate",
]

_MAX_FOUND = 80


def truncate(value: object, limit: int = _MAX_FOUND) -> str:
    """Return ``repr(value)`` cut to *limit* characters, so a huge line never lands in a message.

    Examples
    --------
    >>> truncate("x" * 200, limit=12)
    "'xxxxxxxxxx…"
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PerfnbError(Exception):
    """Base class of every exception perfnb raises on purpose."""


class InputError(PerfnbError, ValueError):
    """The data given to perfnb is wrong: a file, a frame, a value.

    Parameters
    ----------
    message
        What is wrong, without the location (``"column 'x' is 'N/A'"``).
    path
        The file, if any.
    line
        1-based line number in *path*, if known.
    key
        JSONPath-like key (``$[0].Plan.Plans[2]``) or column name, if known.
    expected
        What was expected instead (``"a number of milliseconds"``).
    found
        The offending value; it is shown with ``repr`` and truncated.
    hint
        What to try instead, if we know (``"for py-spy output use read_pyspy()"``).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        key: str | None = None,
        expected: str | None = None,
        found: Any = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.line = line
        self.key = key
        self.expected = expected
        self.found = found
        self.hint = hint
        super().__init__(self._format())

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {
            "path": self.path,
            "line": self.line,
            "key": self.key,
            "expected": self.expected,
            "found": self.found,
            "hint": self.hint,
        }
        return (_rebuild, (type(self), self.message, kwargs))

    @property
    def where(self) -> str:
        """The location prefix: ``path:line``, ``path: key $.a.b`` or ``""``."""
        parts: list[str] = []
        if self.path is not None:
            parts.append(self.path if self.line is None else f"{self.path}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.key is not None:
            parts.append(f"key {self.key}")
        return ": ".join(parts)

    def _format(self) -> str:
        text = self.message
        if self.found is not None and "{found}" in text:
            text = text.replace("{found}", truncate(self.found))
        elif self.found is not None:
            text = f"{text} (found {truncate(self.found)})"
        if self.expected:
            text = f"{text}; expected {self.expected}"
        if self.hint:
            text = f"{text} ({self.hint})"
        where = self.where
        return f"{where}: {text}" if where else text


def _rebuild(cls: type[InputError], message: str, kwargs: dict[str, Any]) -> InputError:
    return cls(message, **kwargs)


class FormatError(InputError):
    """A file is not a valid instance of the format it was read as."""


class UnknownFormatError(InputError):
    """Sniffing could not tell what a file is; the message lists the supported formats."""


class EmptyInputError(InputError):
    """The input parsed but holds no samples, rows or plans."""


class SchemaError(InputError):
    """A DataFrame lacks the columns or dtypes that a schema or an analysis needs."""


class SourceError(PerfnbError, ConnectionError):
    """A live source (PostgreSQL, Prometheus, Redis, memcached) failed or could not be reached.

    Parameters
    ----------
    message
        One line. Passwords, tokens and credential query keys are redacted
        (:func:`perfnb._secrets.redact`) whatever the caller passed.
    source
        What was contacted, password hidden: ``"postgresql+psycopg://app:***@db/app"``.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        # the last line of defence: whatever a driver echoed, no password or token is kept
        self.message = redact(message)
        self.source = redact(source.strip()) if source is not None else None
        super().__init__(f"{self.source}: {self.message}" if self.source else self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_source, (type(self), self.message, self.source))


def _rebuild_source(cls: type[SourceError], message: str, source: str | None) -> SourceError:
    return cls(message, source=source)


class NotebookError(PerfnbError):
    """A notebook is malformed (parameters cell), got a bad parameter, or failed to execute."""


class ConfigError(PerfnbError, ValueError):
    """A configuration value (threshold, rules file, CLI option) is invalid."""


class PerfnbWarning(UserWarning):
    """Base class of perfnb's warnings."""


class SkippedRowsWarning(PerfnbWarning):
    """Rows were skipped because ``on_bad_lines="warn"`` was asked for."""


class AssumedUnitWarning(PerfnbWarning):
    """A unit had to be assumed because the input did not say."""


def concat(errors: Sequence[InputError], *, limit: int = 5) -> InputError:
    r"""Collect several input errors into one (sqlglot's collect-then-raise).

    The first error's class and location are kept; the message lists the first *limit* problems and says
    how many more there were.

    Examples
    --------
    >>> e = concat([FormatError("bad", path="a.csv", line=i) for i in (2, 3, 4)], limit=2)
    >>> str(e)
    'a.csv:2: bad\n  a.csv:3: bad\n  ... and 1 more'
    """
    if not errors:
        raise ValueError("concat() needs at least one error")
    first = errors[0]
    lines = [str(e) for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more")
    combined = type(first)(
        "\n  ".join(
            [lines[0].removeprefix(first.where + ": ") if first.where else lines[0], *lines[1:]]
        ),
        path=first.path,
        line=first.line,
        key=first.key,
    )
    return combined
