"""The profile tables (declared once here), the :class:`Profile` object, and the stacks → tables builder.

Every profile reader returns a :class:`Profile` holding three tidy frames:

* ``functions`` (:data:`PROFILE_FUNCTIONS`): one row per function;
* ``calls`` (:data:`PROFILE_CALLS`): caller → callee edges;
* ``stacks`` (:data:`PROFILE_STACKS`): for sampled/evented formats, one row per distinct stack and thread.

Deterministic formats (pstats) fill ``calls``/``primitive_calls``; sampled formats leave them missing and
fill ``self_samples``/``total_samples``. Stack-based readers hand their stacks to :func:`from_stacks`, which
counts a function's total time once per stack even under recursion (speedscope's rule).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError
from perfnb.model._base import ModelMixin, run_label
from perfnb.schema import PROVENANCE, Column, Schema, register

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from perfnb.findings import Findings

__all__ = [
    "PROFILE_CALLS",
    "PROFILE_FUNCTIONS",
    "PROFILE_STACKS",
    "Frame",
    "Profile",
    "from_stacks",
    "normalize_file",
    "normalize_key",
    "profile_run_label",
]

PROFILE_FUNCTIONS = register(
    Schema(
        "profile_functions",
        (
            Column("function", "string", doc="Function name as the profiler reports it."),
            Column(
                "file", "string", doc="Source file (``~`` for pstats builtins, ``''`` if unknown)."
            ),
            Column("line", "Int64", doc="Definition line (first line seen for sampled data)."),
            Column("calls", "Int64", doc="Total calls (pstats ncalls); missing for sampled data."),
            Column("primitive_calls", "Int64", doc="Non-recursive calls (pstats pcalls)."),
            Column(
                "self_time_s", "float64", unit="s", doc="Time in the function itself (tottime)."
            ),
            Column("total_time_s", "float64", unit="s", doc="Inclusive time (cumtime)."),
            Column("self_ratio", "float64", unit="ratio", doc="self_time_s / total profile time."),
            Column(
                "total_ratio", "float64", unit="ratio", doc="total_time_s / total profile time."
            ),
            Column(
                "self_samples", "float64", doc="Samples with the function on top (sampled data)."
            ),
            Column("total_samples", "float64", doc="Samples with the function on the stack."),
            Column("key", "string", doc="Normalized key used to merge and compare runs."),
            Column(
                "annotation",
                "string",
                required=False,
                doc="Folded-stack frame type suffix (``_[k]`` kernel, ``_[j]`` JIT, ``_[i]`` inlined …).",
            ),
            *PROVENANCE,
        ),
        doc="One row per function of a CPU profile (pstats, folded, speedscope, Chrome trace, "
        "pyinstrument). For pstats, ``self_time_s`` sums exactly to ``pstats.Stats.total_tt``.",
    )
)

PROFILE_CALLS = register(
    Schema(
        "profile_calls",
        (
            Column("caller", "string", doc="Calling function."),
            Column("caller_file", "string", doc="Calling function's file."),
            Column("caller_line", "Int64", doc="Calling function's line."),
            Column("callee", "string", doc="Called function."),
            Column("callee_file", "string", doc="Called function's file."),
            Column("callee_line", "Int64", doc="Called function's line."),
            Column("calls", "Int64", doc="Calls along this edge (missing for sampled data)."),
            Column("primitive_calls", "Int64", doc="Non-recursive calls along this edge."),
            Column(
                "self_time_s", "float64", unit="s", doc="Callee self time spent under this caller."
            ),
            Column(
                "total_time_s", "float64", unit="s", doc="Callee inclusive time under this caller."
            ),
            Column("caller_key", "string", doc="Normalized key of the caller."),
            Column("callee_key", "string", doc="Normalized key of the callee."),
            *PROVENANCE,
        ),
        doc="Caller → callee edges. pstats edges are exact aggregates over all call paths.",
    )
)

PROFILE_STACKS = register(
    Schema(
        "profile_stacks",
        (
            Column(
                "thread", "category", doc="Thread or profile name ('' when the format has none)."
            ),
            Column("stack", "string", doc="Frames root first, joined by ';'."),
            Column("leaf", "string", doc="The innermost frame's function."),
            Column("depth", "int64", doc="Number of frames."),
            Column("samples", "float64", doc="Samples (or raw weight) of this stack."),
            Column("time_s", "float64", unit="s", doc="Time with exactly this stack."),
            *PROVENANCE,
        ),
        doc="Distinct stacks of sampled/evented profiles with their weight.",
    )
)

_ADDR = re.compile(r" at 0x[0-9a-fA-F]+")
_LIBDIR = re.compile(
    r"/(?:site-packages|dist-packages)/|/lib/python\d+(?:\.\d+)?/|/Lib/|/[Pp]ython\d*/lib/"
)


_INNER = (
    ".lprof",
    ".dat",
    ".stats",
    ".raw",
    ".speedscope",
    ".chrometrace",
    ".collapsed",
    ".folded",
    ".pyisession",
    ".trace",
)


def profile_run_label(path: str | os.PathLike[str], run: str | None) -> str:
    """``run`` if given, else the file stem without profile suffixes (``x.raw.txt`` → ``x``).

    Examples
    --------
    >>> profile_run_label("pyspy_before.raw.txt", None)
    'pyspy_before'
    """
    label = run_label(path, run)
    if run:
        return label
    for suffix in _INNER:
        if label.endswith(suffix) and len(label) > len(suffix):
            return label[: -len(suffix)]
    return label


@lru_cache(maxsize=65536)
def normalize_file(file: str) -> str:
    r"""A path that is stable across machines: after site-packages or the stdlib dir, else 2 components.

    Examples
    --------
    >>> normalize_file("/usr/lib/python3.11/json/decoder.py")
    'json/decoder.py'
    >>> normalize_file(r"C:\\proj\\app\\views.py")
    'app/views.py'
    """
    if file in ("~", "") or file.startswith("<"):
        return file
    f = file.replace("\\", "/")
    matches = list(_LIBDIR.finditer(f))
    if matches:
        return f[matches[-1].end() :]
    parts = [p for p in f.split("/") if p and p != "."]
    return "/".join(parts[-2:])


@lru_cache(maxsize=65536)
def normalize_key(function: str, file: str) -> str:
    """``normfile:name`` with addresses removed; qualified names keep their class.

    Two classes' ``decode`` in one file stay two keys (py-spy, pyinstrument and speedscope give qualified
    names). pstats has only ``co_name``; :func:`perfnb.analysis.profiles.compare_profiles` pairs such a
    bare key with the one qualified key of the same file and name on the other side.

    Examples
    --------
    >>> normalize_key("JSONDecoder.raw_decode", "/usr/lib/python3.12/json/decoder.py")
    'json/decoder.py:JSONDecoder.raw_decode'
    >>> normalize_key("<built-in method __new__ of type object at 0x7f24>", "~")
    '~:<built-in method __new__ of type object>'
    """
    name = _ADDR.sub("", function)
    return f"{normalize_file(file)}:{name}"


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame: function name, file and line (0 when unknown)."""

    function: str
    file: str = ""
    line: int = 0
    annotation: str = ""


Key = tuple[str, str]


def tables_from_weights(
    fself: dict[Key, float],
    ftotal: dict[Key, float],
    fline: dict[Key, int],
    fann: dict[Key, str],
    eself: dict[tuple[Key, Key], float],
    etotal: dict[tuple[Key, Key], float],
    *,
    grand: float,
    scale: float,
    sampled: bool,
    source: str,
    run: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The functions and calls tables from per-(function, file) and per-edge weights.

    Shared by :func:`from_stacks` and the evented readers' call tree (``io/profiles/_tree.py``), so both
    build the same columns the same way. Weights are samples or time units; *scale* turns them into s.
    """
    keys = list(ftotal)
    self_w = np.array([fself.get(k, 0.0) for k in keys])
    total_w = np.array([ftotal[k] for k in keys])
    functions = pd.DataFrame(
        {
            "function": [k[0] for k in keys],
            "file": [k[1] for k in keys],
            "line": [fline[k] or None for k in keys],
            "calls": None,
            "primitive_calls": None,
            "self_time_s": self_w * scale,
            "total_time_s": total_w * scale,
            "self_ratio": self_w / grand,
            "total_ratio": total_w / grand,
            "self_samples": self_w if sampled else np.nan,
            "total_samples": total_w if sampled else np.nan,
            "key": [normalize_key(k[0], k[1]) for k in keys],
            "annotation": [fann.get(k) for k in keys],
            "source": source,
            "run": run,
        }
    )
    ekeys = list(etotal)
    calls = pd.DataFrame(
        {
            "caller": [e[0][0] for e in ekeys],
            "caller_file": [e[0][1] for e in ekeys],
            "caller_line": [fline[e[0]] or None for e in ekeys],
            "callee": [e[1][0] for e in ekeys],
            "callee_file": [e[1][1] for e in ekeys],
            "callee_line": [fline[e[1]] or None for e in ekeys],
            "calls": None,
            "primitive_calls": None,
            "self_time_s": [eself.get(e, 0.0) * scale for e in ekeys],
            "total_time_s": [etotal[e] * scale for e in ekeys],
            "caller_key": [normalize_key(*e[0]) for e in ekeys],
            "callee_key": [normalize_key(*e[1]) for e in ekeys],
            "source": source,
            "run": run,
        }
    )
    return functions, calls


def from_stacks(
    stacks: Iterable[tuple[str, Sequence[Frame], float]],
    *,
    source: str,
    run: str,
    time_per_unit_s: float = 1.0,
    sampled: bool = False,
    path: Path | None = None,
) -> Profile:
    """Build a :class:`Profile` from ``(thread, frames root-first, weight)`` triples.

    *time_per_unit_s* converts a weight to seconds; *sampled* says that weights are sample counts (they
    then also land in ``self_samples``/``total_samples``). Frames are
    aggregated into functions by ``(function, file)`` (sampling profilers report the current line, so one
    function appears with several lines). Total time counts a function once per stack even when it recurses.
    """
    agg: dict[tuple[str, tuple[Frame, ...]], float] = {}
    for thread, frames, weight in stacks:
        k = (thread, tuple(frames))
        agg[k] = agg.get(k, 0.0) + float(weight)
    if not agg or not any(w for w in agg.values()):
        raise EmptyInputError("profile holds no samples", path=path, expected="at least one stack")
    scale = time_per_unit_s
    fself: dict[tuple[str, str], float] = {}
    ftotal: dict[tuple[str, str], float] = {}
    fline: dict[tuple[str, str], int] = {}
    fann: dict[tuple[str, str], str] = {}
    eself: dict[tuple[tuple[str, str], tuple[str, str]], float] = {}
    etotal: dict[tuple[tuple[str, str], tuple[str, str]], float] = {}
    rows_thread: list[str] = []
    rows_stack: list[str] = []
    rows_leaf: list[str] = []
    rows_depth: list[int] = []
    rows_w: list[float] = []
    for (thread, frames), w in agg.items():
        rows_thread.append(thread)
        rows_stack.append(";".join(f.function for f in frames))
        rows_leaf.append(frames[-1].function if frames else "")
        rows_depth.append(len(frames))
        rows_w.append(w)
        if not frames:
            continue
        seen: set[tuple[str, str]] = set()
        seen_edges: set[tuple[tuple[str, str], tuple[str, str]]] = set()
        prev: tuple[str, str] | None = None
        for fr in frames:
            fk = (fr.function, fr.file)
            if fk not in fline or (fr.line and (fline[fk] == 0 or fr.line < fline[fk])):
                fline[fk] = fr.line
            if fk not in seen:
                if fr.annotation:
                    fann[fk] = fr.annotation
                seen.add(fk)
                ftotal[fk] = ftotal.get(fk, 0.0) + w
            if prev is not None:
                ek = (prev, fk)
                if ek not in seen_edges:
                    seen_edges.add(ek)
                    etotal[ek] = etotal.get(ek, 0.0) + w
            prev = fk
        leaf = (frames[-1].function, frames[-1].file)
        fself[leaf] = fself.get(leaf, 0.0) + w
        if len(frames) > 1:
            ek = ((frames[-2].function, frames[-2].file), leaf)
            eself[ek] = eself.get(ek, 0.0) + w
    grand = sum(agg.values())
    functions, calls = tables_from_weights(
        fself, ftotal, fline, fann, eself, etotal,
        grand=grand, scale=scale, sampled=sampled, source=source, run=run,
    )  # fmt: skip
    warr = np.array(rows_w)
    stacks_df = pd.DataFrame(
        {
            "thread": rows_thread,
            "stack": rows_stack,
            "leaf": rows_leaf,
            "depth": rows_depth,
            "samples": warr if sampled else np.nan,
            "time_s": warr * scale,
            "source": source,
            "run": run,
        }
    )
    prof = Profile(
        functions=PROFILE_FUNCTIONS.conform(functions),
        calls=PROFILE_CALLS.conform(calls),
        stacks=PROFILE_STACKS.conform(stacks_df),
        source=source,
        run=run,
        total_time_s=grand * scale,
        meta={"path": str(path) if path else None, "sampled": sampled},
    )
    return prof


@dataclass
class Profile(ModelMixin):
    """A loaded CPU profile: ``functions``, ``calls`` and ``stacks`` tables plus provenance.

    Parameters
    ----------
    functions, calls, stacks
        Frames conforming to :data:`PROFILE_FUNCTIONS`, :data:`PROFILE_CALLS`, :data:`PROFILE_STACKS`
        (``stacks`` is empty for pstats, which stores no call paths).
    source
        The producer (``pstats``, ``folded``, ``speedscope``, ``chrome_trace``, ``pyinstrument``).
    run
        Run label (default the file stem).
    total_time_s
        Total profiled time: Σ self time (pstats ``total_tt``) or Σ stack weights.
    meta
        JSON-able provenance: path(s), producer details, anomalies counted while reading.
    """

    functions: pd.DataFrame
    calls: pd.DataFrame
    stacks: pd.DataFrame
    source: str
    run: str
    total_time_s: float
    meta: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"<Profile {self.run!r} ({self.source}): {len(self.functions)} functions, "
            f"{self.total_time_s:.3f} s>"
        )

    @property
    def has_stacks(self) -> bool:
        """Whether real call paths are known (sampled/evented formats)."""
        return len(self.stacks) > 0

    def _frames(self) -> tuple[Any, ...]:
        return (self.functions,)

    def _summary(self) -> dict[str, Any]:
        return {
            "functions": len(self.functions),
            "total time": f"{self.total_time_s:.3f} s",
            "call paths": "yes" if self.has_stacks else "no (pstats keeps none)",
        }

    if TYPE_CHECKING:  # bound from above by perfnb._bind (they need analysis, findings, plot, io)

        def hotspots(self, *, by: str = "self_time_s", n: int = 20) -> pd.DataFrame:
            """The top *n* functions by ``self_time_s`` or ``total_time_s``, classified."""

        def classify(self) -> pd.DataFrame:
            """The functions table with ``origin``, ``category`` and ``wait_kind`` columns added."""

        def time_by_category(self) -> pd.DataFrame:
            """Self time per category (own code, library, builtin/C, waiting)."""

        def check(self, **thresholds: float) -> Findings:
            """Run the profile rules (``perfnb.check(self)``)."""

        def plot(self, *, ax: Axes | None = None, n: int = 15) -> Axes:
            """The top functions as a horizontal self/total time bar chart."""

        def to_pstats(self, path: str | os.PathLike[str]) -> Path:
            """Write a cProfile-shaped marshal dump (sampled data: counts are sample counts)."""

        def to_speedscope(self, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
            """Write speedscope JSON (see :func:`perfnb.io.profiles.writers.to_speedscope`)."""

        def to_folded(
            self, path: str | os.PathLike[str] | None = None, *, unit_s: float = 1e-6
        ) -> str:
            """Write folded stacks (see :func:`perfnb.io.profiles.writers.to_folded`)."""

        def snakeviz(self, *, port: int = 0, open_browser: bool = False) -> Any:
            """Serve this profile with snakeviz on 127.0.0.1."""
