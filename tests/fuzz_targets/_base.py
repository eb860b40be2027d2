"""The fuzz target declaration used by tests/test_fuzz.py and tests/test_fuzz_extended.py."""

from __future__ import annotations

import importlib
import pkgutil
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


def all_targets() -> list[FuzzTarget]:
    """Every ``TARGETS`` entry of the modules in ``tests/fuzz_targets/`` (in a stable order)."""
    from tests import fuzz_targets

    found: list[FuzzTarget] = []
    for mod in sorted(pkgutil.iter_modules(fuzz_targets.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"tests.fuzz_targets.{mod.name}")
        found.extend(getattr(module, "TARGETS", []))
    return found
