"""The protocol every model shares, and the provenance helpers readers and analyses both use.

Every model has ``source`` (the tool), ``run`` (the run label) and ``meta`` (JSON-able provenance, with
``skipped_rows`` always there when a reader skipped rows), shows a concise ``repr`` and a small summary
table in JupyterLab (``_repr_html_``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from perfnb._html import summary_table

__all__ = ["ModelMixin", "perfnb_attrs", "run_label", "skipped_rows_of"]


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


def skipped_rows_of(meta: dict[str, Any], *frames: Any) -> int:
    """Rows a reader skipped: ``meta["skipped_rows"]``, else the sum over the frames' ``attrs``."""
    if "skipped_rows" in meta:
        return int(meta["skipped_rows"] or 0)
    total = 0
    for df in frames:
        attrs = getattr(df, "attrs", None)
        if isinstance(attrs, dict):
            total += int(attrs.get("perfnb", {}).get("skipped_rows", 0) or 0)
    return total


class ModelMixin:
    """``skipped_rows`` and ``_repr_html_`` for a model that has ``source``, ``run`` and ``meta``.

    A model lists its frames in :meth:`_frames` and the facts worth showing in :meth:`_summary`.
    """

    def _frames(self) -> tuple[Any, ...]:
        return ()

    def _summary(self) -> dict[str, Any]:
        return {}

    @property
    def skipped_rows(self) -> int:
        """Rows the reader could not read and skipped (``on_bad_lines="warn"``/``"skip"``), 0 if none."""
        return skipped_rows_of(getattr(self, "meta", {}), *self._frames())

    def _repr_html_(self) -> str:
        rows: dict[str, Any] = {
            "source": getattr(self, "source", ""),
            "run": getattr(self, "run", ""),
        }
        rows.update(self._summary())
        if self.skipped_rows:
            rows["skipped rows"] = self.skipped_rows
        # a report shows this table: a readable title, not the text repr (<LoadTest … labels=[…]>)
        return summary_table(type(self).__name__, rows)
