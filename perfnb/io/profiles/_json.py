"""JSON helpers for the profile readers: load with located errors, and typed access by JSONPath-like key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perfnb.errors import EmptyInputError, FormatError, InputError
from perfnb.io._common import JSON_ERRORS, decode_text, json_problem, read_bytes

__all__ = ["get", "load_json"]


def load_json(path: Path, *, what: str, allow_unclosed_array: bool = False) -> tuple[Any, bool]:
    """Parse *path* as JSON; return ``(data, repaired)``.

    With *allow_unclosed_array*, a top-level array lacking its closing ``]`` (allowed by the Chrome Trace
    Event format) is closed, and ``repaired`` is true.
    """
    try:
        data = read_bytes(path, text=False)
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror}", path=path) from err
    text = decode_text(data, path)
    if not text.strip():
        raise EmptyInputError("file is empty", path=path, expected=what)
    try:
        return json.loads(text), False
    except JSON_ERRORS as err:
        stripped = text.rstrip().rstrip(",")
        if (
            allow_unclosed_array
            and stripped.lstrip().startswith("[")
            and not stripped.endswith("]")
        ):
            try:
                return json.loads(stripped + "]"), True
            except JSON_ERRORS:
                pass
        problem, line = json_problem(err)
        raise FormatError(
            f"not valid JSON ({problem})", path=path, line=line, expected=what
        ) from err


def get(obj: Any, name: str | int, typ: type | tuple[type, ...], *, path: Path, key: str) -> Any:
    """``obj[name]`` checked to be of *typ*, else a :class:`FormatError` naming ``key``."""
    try:
        value = obj[name]
    except (KeyError, IndexError, TypeError) as err:
        raise FormatError(f"missing {name!r}", path=path, key=key) from err
    if isinstance(value, bool) and bool not in (typ if isinstance(typ, tuple) else (typ,)):
        value = None
    if not isinstance(value, typ):
        names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
        raise FormatError(
            "{found} has the wrong type",
            path=path,
            key=f"{key}.{name}" if isinstance(name, str) else f"{key}[{name}]",
            found=value,
            expected=names,
        )
    return value
