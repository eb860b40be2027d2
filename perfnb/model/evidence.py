"""A set of models of different kinds: what :func:`perfnb.read` returns for a folder of mixed evidence."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from perfnb.model._base import ModelMixin

__all__ = ["EvidenceSet"]


class EvidenceSet(list[Any], ModelMixin):
    """Models read from one folder, pattern or list: one per kind (per file for kinds that do not combine).

    A list, so :func:`perfnb.check` checks every one and reports each finding once.
    """

    def __init__(self, models: Iterable[Any] = (), *, path: str = "") -> None:
        super().__init__(models)
        self.source = "mixed"
        self.run = path
        self.meta: dict[str, Any] = {"path": path}

    def __repr__(self) -> str:
        kinds = ", ".join(type(m).__name__ for m in self)
        return f"<EvidenceSet {self.run!r}: {kinds}>"

    @property
    def skipped_rows(self) -> int:
        """Rows skipped over every model."""
        return sum(int(getattr(m, "skipped_rows", 0)) for m in self)

    def _summary(self) -> dict[str, Any]:
        return {type(m).__name__: repr(m) for m in self}
