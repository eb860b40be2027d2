"""Old import paths of modules that moved (issue 13), kept working for code written against them.

``perfnb.io.loadtest``, ``perfnb.io.plan_model``, ``perfnb.io.profiles._model``, ``perfnb.io.scan``,
``perfnb.io.metrics_scan`` and ``perfnb.io.plan_scan`` moved to :mod:`perfnb.model` and
:mod:`perfnb.scan`. A finder on ``sys.meta_path`` (installed when ``perfnb/__init__.py`` imports this
module) answers an import of an old name with a module holding the same objects as the new one(s),
so ``isinstance`` and pickling are unaffected. Type checkers read the ``.pyi`` stubs left at the old
paths. New code imports the new paths.
"""

from __future__ import annotations

import importlib
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

__all__ = ["MOVED", "install"]

#: Old module name → the module(s) whose public names it re-exports (later ones win).
MOVED: dict[str, tuple[str, ...]] = {
    "perfnb.io.loadtest": ("perfnb.model.loadtest", "perfnb.io.loadtests"),
    "perfnb.io.plan_model": ("perfnb.model.plan",),
    "perfnb.io.profiles._model": ("perfnb.model.profile",),
    "perfnb.io.scan": ("perfnb.scan.loadtest",),
    "perfnb.io.metrics_scan": ("perfnb.scan.metrics",),
    "perfnb.io.plan_scan": ("perfnb.scan.plans",),
}


class _MovedFinder:
    """A meta path finder and loader (duck-typed: importing importlib.abc costs 25 ms at startup)."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return ModuleSpec(fullname, cast("Loader", self))

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None  # the default: a fresh module

    def exec_module(self, module: ModuleType) -> None:
        names: list[str] = []
        for new in MOVED[module.__name__]:
            target = importlib.import_module(new)
            public = {k: v for k, v in vars(target).items() if not k.startswith("__")}
            module.__dict__.update(public)
            names.extend(getattr(target, "__all__", ()))
        module.__all__ = list(dict.fromkeys(names))  # type: ignore[attr-defined]
        module.__doc__ = f"Moved: import from {' and '.join(MOVED[module.__name__])}."


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())


install()
