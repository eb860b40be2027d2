"""Models for evidence that is one table: line and memory profiles, CrUX records, RUM beacons.

Their readers (``read_line_profile``, ``read_memray``, ``read_mprof``, ``read_crux``, ``read_rum``) keep
returning the DataFrame notebooks use; :func:`perfnb.read` wraps it in one of these so every result of
``perfnb.read`` is a model with the shared protocol (``source``, ``run``, ``meta``, ``skipped_rows``,
``_repr_html_``) and :func:`perfnb.check` accepts it. ``.frame`` is the table; each class also names it
(``lines``, ``allocations``/``usage``, ``records``, ``beacons``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from perfnb.model._base import ModelMixin

if TYPE_CHECKING:
    from perfnb.analysis.vitals import VitalsAssessment

__all__ = ["CruxRecord", "FrameModel", "LineProfile", "MemoryProfile", "RumBeacons"]


@dataclass(repr=False)
class FrameModel(ModelMixin):
    """One table plus provenance; ``source`` and ``run`` default to the table's provenance columns."""

    frame: pd.DataFrame
    source: str = ""
    run: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    noun: ClassVar[str] = "rows"

    def __post_init__(self) -> None:
        for name in ("source", "run"):
            if not getattr(self, name) and name in self.frame and len(self.frame):
                setattr(self, name, str(self.frame[name].iloc[0]))

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.source} run={self.run!r}: {len(self.frame)} {self.noun}>"
        )

    def _frames(self) -> tuple[Any, ...]:
        return (self.frame,)

    def _summary(self) -> dict[str, Any]:
        return {self.noun: len(self.frame)}

    @classmethod
    def wrap(cls, frame: pd.DataFrame, *, source: str = "", path: str | None = None) -> FrameModel:
        """The model of a reader's frame (its ``attrs["perfnb"]`` provenance becomes ``meta``)."""
        meta = dict(frame.attrs.get("perfnb", {}))
        if path is not None:
            meta.setdefault("path", path)
        return cls(frame, source=source, meta=meta)


@dataclass(repr=False)
class LineProfile(FrameModel):
    """A line_profiler result: one row per profiled line (``PROFILE_LINES``)."""

    noun: ClassVar[str] = "lines"

    @property
    def lines(self) -> pd.DataFrame:
        """The per-line table."""
        return self.frame


@dataclass(repr=False)
class MemoryProfile(FrameModel):
    """A memory profile: memray allocations by stack (``MEMORY_ALLOCATIONS``) or an mprof time series."""

    noun: ClassVar[str] = "rows"

    @property
    def allocations(self) -> pd.DataFrame | None:
        """The memray allocations table, or ``None`` for an mprof series."""
        return self.frame if "size_bytes" in self.frame else None

    @property
    def usage(self) -> pd.DataFrame | None:
        """The mprof memory-over-time series, or ``None`` for memray allocations."""
        return self.frame if "memory_bytes" in self.frame else None

    def _summary(self) -> dict[str, Any]:
        out = super()._summary()
        if "memory_bytes" in self.frame and len(self.frame):
            out["peak memory"] = f"{self.frame['memory_bytes'].max() / 2**20:.1f} MiB"
        if "size_bytes" in self.frame and len(self.frame):
            out["allocated"] = f"{self.frame['size_bytes'].sum() / 2**20:.1f} MiB"
        return out


@dataclass(repr=False)
class CruxRecord(FrameModel):
    """A CrUX API / History API record: p75 and densities per metric and collection period."""

    noun: ClassVar[str] = "rows"

    @property
    def records(self) -> pd.DataFrame:
        """The record table."""
        return self.frame

    if TYPE_CHECKING:  # bound from above by perfnb._bind

        def assess(self) -> VitalsAssessment:
            """The p75 assessment (see :func:`perfnb.analysis.vitals.field_assessment`)."""


@dataclass(repr=False)
class RumBeacons(FrameModel):
    """Real-user web-vitals beacons: one row per metric value reported by a page view."""

    noun: ClassVar[str] = "beacons"

    @property
    def beacons(self) -> pd.DataFrame:
        """The beacon table."""
        return self.frame

    if TYPE_CHECKING:  # bound from above by perfnb._bind

        def assess(self) -> VitalsAssessment:
            """The p75 assessment (see :func:`perfnb.analysis.vitals.field_assessment`)."""
