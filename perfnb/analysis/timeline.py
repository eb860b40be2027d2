"""One timeline across sources: load steps, latency jumps, and what else happened in the same window.

A load test's per-interval table gives the user count and each label's latency over time; metrics and
log-stamped plans carry timestamps too. :func:`load_steps` cuts the run into windows of constant user
count, :func:`step_latency` summarises each label's latency and throughput per window, :func:`latency_jumps`
finds the steps where a label's latency rose by a factor (the knee, per label), and :func:`window_events`
picks the rows of any other timestamped frame (auto_explain plans, metric samples) that fall in a window.
:func:`correlate` strings these together into sentences such as "p95 of /search rose from 120 ms to 2.1 s
when users went from 10 to 20; in that window the slowest logged statement was a Seq Scan on orders".

Every function takes tidy frames and column names, so it works with any source whose table has a
``timestamp`` column (UTC). The correlation is computed from the data; nothing in it knows the demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import SchemaError

__all__ = [
    "Jump",
    "correlate",
    "format_duration",
    "latency_jumps",
    "load_steps",
    "step_latency",
    "window_events",
]


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{what} lacks column(s) {', '.join(map(repr, missing))}",
            expected=f"columns {', '.join(columns)}",
        )


def format_duration(seconds: float) -> str:
    """``0.12`` → ``"120 ms"``, ``2.1`` → ``"2.1 s"``.

    Examples
    --------
    >>> format_duration(0.1234), format_duration(2.1), format_duration(0.00042)
    ('123 ms', '2.1 s', '0.42 ms')
    """
    if not np.isfinite(seconds):
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.3g} s"
    ms = seconds * 1000
    return f"{ms:.3g} ms" if ms < 1 else f"{ms:.0f} ms"


def load_steps(
    intervals: pd.DataFrame,
    *,
    users: str = "users",
    timestamp: str = "timestamp",
    min_duration_s: float = 0.0,
) -> pd.DataFrame:
    """Windows of constant user count: ``step, users, start, end, duration_s``.

    Parameters
    ----------
    intervals
        A frame with a timestamp and a user count per row (any number of rows per timestamp).
    min_duration_s
        Windows shorter than this (ramp-up blips) are merged into the previous one.
    """
    _require(intervals, [users, timestamp], "load-test intervals")
    per_ts = (
        intervals[[timestamp, users]]
        .dropna()
        .groupby(timestamp, observed=True)[users]
        .max()
        .sort_index()
    )
    if per_ts.empty:
        return pd.DataFrame(columns=["step", "users", "start", "end", "duration_s"])
    # plain floats: with nullable Int64 the first row's comparison is <NA>, its group key too, and
    # groupby drops it (a run with one step then had no step at all: KeyError 'start')
    vals = per_ts.to_numpy(dtype="float64", na_value=np.nan)
    change = np.cumsum(np.r_[True, vals[1:] != vals[:-1]])
    rows = []
    for _, group in per_ts.groupby(change, sort=True):
        rows.append({"users": int(group.iloc[0]), "start": group.index[0], "end": group.index[-1]})
    steps = pd.DataFrame(rows)
    # a window ends where the next begins (the last one at its last sample)
    steps["end"] = steps["start"].shift(-1).fillna(steps["end"])
    steps["duration_s"] = (steps["end"] - steps["start"]).dt.total_seconds()
    if min_duration_s > 0 and len(steps) > 1:
        keep = steps["duration_s"] >= min_duration_s
        keep.iloc[0] = True
        steps = steps[keep].reset_index(drop=True)
        steps["end"] = steps["start"].shift(-1).fillna(steps["end"])
        steps["duration_s"] = (steps["end"] - steps["start"]).dt.total_seconds()
    steps.insert(0, "step", range(1, len(steps) + 1))
    return steps


def step_latency(
    intervals: pd.DataFrame,
    steps: pd.DataFrame,
    *,
    label: str = "label",
    latency: str = "p95_s",
    throughput: str = "throughput_per_s",
    timestamp: str = "timestamp",
) -> pd.DataFrame:
    """Per step and label: the median of the interval latency column and the mean throughput."""
    _require(intervals, [label, latency, timestamp], "load-test intervals")
    rows = []
    for step in steps.to_dict("records"):
        window = intervals[
            (intervals[timestamp] >= step["start"]) & (intervals[timestamp] < step["end"])
        ]
        if window.empty:
            window = intervals[intervals[timestamp] == step["start"]]
        for name, group in window.groupby(label, observed=True):
            rows.append(
                {
                    "step": step["step"],
                    "users": step["users"],
                    "start": step["start"],
                    "end": step["end"],
                    "label": str(name),
                    "latency_s": float(group[latency].median()),
                    "throughput_per_s": float(group[throughput].mean())
                    if throughput in group
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Jump:
    """A label's latency rising by ``ratio`` between two consecutive load steps."""

    label: str
    users_before: int
    users_after: int
    latency_before_s: float
    latency_after_s: float
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def ratio(self) -> float:
        """How many times slower after the step."""
        return self.latency_after_s / self.latency_before_s if self.latency_before_s > 0 else np.inf

    def sentence(self, statistic: str = "p95") -> str:
        """One plain-language sentence."""
        return (
            f"{statistic} of {self.label} rose from {format_duration(self.latency_before_s)} to "
            f"{format_duration(self.latency_after_s)} when users went from {self.users_before} to "
            f"{self.users_after}"
        )


def latency_jumps(
    per_step: pd.DataFrame, *, min_ratio: float = 1.5, min_latency_s: float = 0.05
) -> list[Jump]:
    """The steps at which a label's latency rose at least *min_ratio*-fold, largest first.

    Only the first such step per label is kept (its knee); rises to below *min_latency_s* are noise.
    """
    jumps: list[Jump] = []
    if per_step.empty:
        return jumps
    for name, group in per_step.sort_values("step").groupby("label", observed=True):
        prev: dict[Any, Any] | None = None
        for row in group.to_dict("records"):
            if prev is not None and prev["latency_s"] > 0:
                ratio = row["latency_s"] / prev["latency_s"]
                if ratio >= min_ratio and row["latency_s"] >= min_latency_s:
                    jumps.append(
                        Jump(
                            str(name),
                            int(prev["users"]),
                            int(row["users"]),
                            float(prev["latency_s"]),
                            float(row["latency_s"]),
                            row["start"],
                            row["end"],
                        )
                    )
                    break
            prev = row
    return sorted(jumps, key=lambda j: j.ratio, reverse=True)


def window_events(
    frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, *, timestamp: str = "timestamp"
) -> pd.DataFrame:
    """The rows of *frame* whose timestamp falls in ``[start, end)``."""
    _require(frame, [timestamp], "timestamped frame")
    ts = frame[timestamp]
    return frame[(ts >= start) & (ts < end)]


def correlate(
    jumps: Sequence[Jump],
    *,
    statements: pd.DataFrame | None = None,
    statement_time: str = "duration_s",
    statement_text: str = "summary",
    profile_top: str = "",
    statistic: str = "p95",
    limit: int = 3,
) -> list[str]:
    """Sentences linking each latency jump to what other sources saw in the same window.

    Parameters
    ----------
    statements
        Timestamped statements (e.g. auto_explain plans: one row per logged plan) with a duration column
        and a text column describing the plan (``"Seq Scan on orders"``).
    profile_top
        What the profile says dominates (``"waiting on the database driver"``); the profile has no clock,
        so it is stated for the run, not for the window.
    """
    out = []
    for jump in list(jumps)[:limit]:
        text = jump.sentence(statistic)
        clauses = []
        if statements is not None and not statements.empty:
            inside = window_events(statements, jump.start, jump.end)
            if not inside.empty:
                slowest = inside.sort_values(statement_time).iloc[-1]
                clauses.append(
                    f"in that window {len(inside)} statement(s) were logged as slow and the slowest "
                    f"({format_duration(float(slowest[statement_time]))}) was {slowest[statement_text]}"
                )
        if profile_top:
            clauses.append(f"over the run the profile's top cost was {profile_top}")
        out.append(text + ("; " + "; ".join(clauses) if clauses else "") + ".")
    return out
