"""The models' conveniences, bound from above (the way pandas binds ``DataFrame.plot``).

:mod:`perfnb.model` holds data only and imports nothing above the core, yet notebook authors like
``profile.hotspots()``, ``plan.plot()`` and ``lt.check()``. This module (top layer, imported by
``perfnb/__init__.py``) attaches those methods to the model classes; each imports its analysis, rule
or figure module when called, so ``import perfnb`` stays fast and matplotlib loads only for a plot.
The models declare the methods under ``TYPE_CHECKING`` so type checkers and editors know them.

``check()`` is bound on every model :func:`perfnb.check` accepts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfnb.model.cache import CacheStats
from perfnb.model.evidence import EvidenceSet
from perfnb.model.frames import CruxRecord, FrameModel, RumBeacons
from perfnb.model.lighthouse import LighthouseReport
from perfnb.model.loadtest import LoadTest
from perfnb.model.metrics import Metrics
from perfnb.model.plan import Plan, PlanSet
from perfnb.model.profile import Profile
from perfnb.model.statements import StatementStats, TableUsage

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from perfnb.analysis.vitals import VitalsAssessment
    from perfnb.findings import Findings

__all__ = ["bind"]


def _check(self: Any, **thresholds: Any) -> Findings:
    """Run the rules that apply to this object (:func:`perfnb.check`)."""
    from perfnb.findings import check

    return check(self, **thresholds)


# --- Profile -------------------------------------------------------------------------------------


def _profile_hotspots(self: Profile, *, by: str = "self_time_s", n: int = 20) -> pd.DataFrame:
    """The top *n* functions by ``self_time_s`` or ``total_time_s``, classified."""
    from perfnb.analysis.profiles import hotspots

    return hotspots(self, by=by, n=n)


def _profile_classify(self: Profile) -> pd.DataFrame:
    """The functions table with ``origin``, ``category`` and ``wait_kind`` columns added."""
    from perfnb.analysis.profiles import classify

    return classify(self.functions)


def _profile_time_by_category(self: Profile) -> pd.DataFrame:
    """Self time per category (own code, library, builtin/C, waiting)."""
    from perfnb.analysis.profiles import time_by_category

    return time_by_category(self)


def _profile_plot(self: Profile, *, ax: Axes | None = None, n: int = 15) -> Axes:
    """Top-*n* self-time bar chart (:func:`perfnb.plot.profiles.plot_top_functions`)."""
    from perfnb.plot.profiles import plot_top_functions

    return plot_top_functions(self, ax=ax, n=n)


def _profile_to_pstats(self: Profile, path: str | os.PathLike[str]) -> Path:
    """Write a cProfile-shaped marshal dump (sampled data: counts are sample counts; say so)."""
    from perfnb.io.profiles.pstats import write_pstats

    return write_pstats(self, path)


def _profile_to_speedscope(
    self: Profile, path: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Write speedscope JSON (see :func:`perfnb.io.profiles.writers.to_speedscope`)."""
    from perfnb.io.profiles.writers import to_speedscope

    return to_speedscope(self, path)


def _profile_to_folded(
    self: Profile, path: str | os.PathLike[str] | None = None, *, unit_s: float = 1e-6
) -> str:
    """Write folded stacks (see :func:`perfnb.io.profiles.writers.to_folded`)."""
    from perfnb.io.profiles.writers import to_folded

    return to_folded(self, path, unit_s=unit_s)


def _profile_snakeviz(self: Profile, *, port: int = 0, open_browser: bool = False) -> Any:
    """Serve this profile with snakeviz on 127.0.0.1 (see :func:`perfnb.plot.profiles.snakeviz`)."""
    from perfnb.plot.profiles import snakeviz

    return snakeviz(self, port=port, open_browser=open_browser)


# --- Plan ----------------------------------------------------------------------------------------


def _plan_top(self: Plan, n: int = 10) -> pd.DataFrame:
    """The *n* nodes with the most self time (see :func:`perfnb.analysis.plans.top_nodes`)."""
    from perfnb.analysis.plans import top_nodes

    return top_nodes(self, n)


def _plan_plot(self: Plan, *, ax: Axes | None = None) -> Axes:
    """Draw the plan tree (see :func:`perfnb.plot.plans.plot_plan_tree`)."""
    from perfnb.plot.plans import plot_plan_tree

    return plot_plan_tree(self, ax=ax)


# --- LoadTest ------------------------------------------------------------------------------------


def _lt_summary(
    self: LoadTest,
    apdex_t_s: float = 0.5,
    *,
    apdex_f_s: float | None = None,
    method: str = "linear",
    window: int | None = None,
    include_controllers: bool = False,
    expected_interval_s: float | None = None,
) -> pd.DataFrame:
    """Per-label and ``Total`` statistics (see :func:`perfnb.analysis.latency.summarize`).

    *expected_interval_s* corrects the percentiles for coordinated omission.
    """
    from perfnb.analysis.latency import summarize

    return summarize(
        self,
        apdex_t_s=apdex_t_s,
        apdex_f_s=apdex_f_s,
        method=method,
        window=window,
        include_controllers=include_controllers,
        expected_interval_s=expected_interval_s,
    )


def _lt_intervals(self: LoadTest, freq: str = "5s", *, method: str = "linear") -> pd.DataFrame:
    """Time series per label and ``Total`` (computed from requests, else the tool's history)."""
    from perfnb.analysis.latency import intervals

    return intervals(self, freq=freq, method=method)


def _lt_histograms(self: LoadTest, sub_buckets: int = 64) -> dict[str, Any]:
    """Mergeable latency histograms per label and ``Total`` (see :mod:`perfnb.analysis.histogram`).

    Histograms of chunks, of distributed workers' files or of Dask partitions add up exactly:
    ``sum(parts) == whole``.
    """
    from perfnb.analysis.histogram import loadtest_histograms

    return dict(loadtest_histograms(self, sub_buckets))


def _lt_plot(self: LoadTest, *, ax: Axes | None = None, freq: str = "5s") -> Axes:
    """Percentiles over time (see :func:`perfnb.plot.latency.plot_percentiles_over_time`)."""
    from perfnb.plot.latency import plot_percentiles_over_time

    return plot_percentiles_over_time(self, ax=ax, freq=freq)


# --- field data ----------------------------------------------------------------------------------


def _field_assess(self: CruxRecord | RumBeacons) -> VitalsAssessment:
    """The p75 assessment (see :func:`perfnb.analysis.vitals.field_assessment`)."""
    from perfnb.analysis.vitals import field_assessment

    return field_assessment(self)


_METHODS: dict[type, dict[str, Any]] = {
    Profile: {
        "hotspots": _profile_hotspots,
        "classify": _profile_classify,
        "time_by_category": _profile_time_by_category,
        "plot": _profile_plot,
        "to_pstats": _profile_to_pstats,
        "to_speedscope": _profile_to_speedscope,
        "to_folded": _profile_to_folded,
        "snakeviz": _profile_snakeviz,
    },
    Plan: {"top": _plan_top, "plot": _plan_plot},
    CruxRecord: {"assess": _field_assess},
    RumBeacons: {"assess": _field_assess},
    LoadTest: {
        "summary": _lt_summary,
        "intervals": _lt_intervals,
        "histograms": _lt_histograms,
        "plot": _lt_plot,
    },
}

#: Models :func:`perfnb.check` accepts; each gets ``.check()``.
CHECKABLE: tuple[type, ...] = (
    Profile,
    Plan,
    LoadTest,
    Metrics,
    CacheStats,
    LighthouseReport,
    StatementStats,
    TableUsage,
    FrameModel,
    PlanSet,
    EvidenceSet,
)


def _findings_repr_html(self: Findings) -> str:
    """The findings as the reports' table (grouped, most severe first, every string escaped)."""
    from perfnb.report.html import findings_table

    return findings_table(self)


def bind() -> None:
    """Attach the conveniences to the model classes (idempotent)."""
    from perfnb.findings import Findings

    Findings._repr_html_ = _findings_repr_html  # type: ignore[attr-defined]
    for cls in CHECKABLE:
        if "check" not in vars(cls):
            setattr(cls, "check", _check)  # noqa: B010 - bound from above on purpose
    for cls, methods in _METHODS.items():
        for name, func in methods.items():
            func.__name__ = name
            func.__qualname__ = f"{cls.__name__}.{name}"
            setattr(cls, name, func)


bind()
