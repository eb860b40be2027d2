"""The fuzz target declaration used by tests/test_fuzz.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FuzzTarget:
    """One reader under fuzzing: *format* is its registered format name, *samples* real tool outputs.

    *reader* is called as ``reader(path)`` on a mutated copy (keep the sample's file name, so sniffing by
    name still works); *text* says whether line-level mutations make sense.
    """

    format: str
    reader: Callable[..., Any]
    samples: tuple[Path, ...]
    text: bool = True
    suffix: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
