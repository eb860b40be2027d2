"""The public surface of ``perfnb`` (httpx's test_exported_members)."""

from __future__ import annotations

import types

import perfnb


def test_all_is_sorted_and_complete() -> None:
    assert perfnb.__all__ == sorted(perfnb.__all__)
    # submodules become attributes when imported; only those in __all__ are public API
    public = {
        name
        for name, value in vars(perfnb).items()
        if not name.startswith("_")
        and name != "annotations"
        and not (isinstance(value, types.ModuleType) and name not in perfnb.__all__)
    }
    assert public == set(perfnb.__all__) - {"__version__"}
    for name in perfnb.__all__:
        assert hasattr(perfnb, name), name


def test_core_names_are_exported() -> None:
    for name in ["read", "check", "Finding", "Severity", "Findings", "errors", "PerfnbError"]:
        assert name in perfnb.__all__


def test_public_readers_are_documented() -> None:
    for name in perfnb.__all__:
        obj = getattr(perfnb, name)
        if callable(obj) and name.startswith("read"):
            assert obj.__doc__, f"perfnb.{name} has no docstring"
