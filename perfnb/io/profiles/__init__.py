"""Profile readers: pstats, folded stacks, speedscope, Chrome trace, pyinstrument; ``read_profile`` sniffs.

Every reader returns a :class:`~perfnb.model.profile.Profile` (``functions``, ``calls``, ``stacks``
tables, declared in :mod:`perfnb.model.profile`). :func:`read_profile` accepts a file, a folder or a
glob; several pstats dumps are summed like ``pstats.Stats.add``, other formats are merged per function.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from perfnb.errors import UnknownFormatError
from perfnb.io._common import expand_paths, guard_reader, register_kind, sniff
from perfnb.io.profiles.chrometrace import read_chrome_trace
from perfnb.io.profiles.folded import read_folded
from perfnb.io.profiles.lineprof import PROFILE_LINES, read_line_profile, read_line_profile_text
from perfnb.io.profiles.memory import MEMORY_ALLOCATIONS, MEMORY_USAGE, read_memray, read_mprof
from perfnb.io.profiles.pstats import read_pstats
from perfnb.io.profiles.pyinstrument import read_pyinstrument
from perfnb.io.profiles.speedscope import read_speedscope
from perfnb.model.profile import (
    PROFILE_CALLS,
    PROFILE_FUNCTIONS,
    PROFILE_STACKS,
    Frame,
    Profile,
    from_stacks,
    normalize_key,
)

__all__ = [
    "MEMORY_ALLOCATIONS",
    "MEMORY_USAGE",
    "PROFILE_CALLS",
    "PROFILE_FUNCTIONS",
    "PROFILE_LINES",
    "PROFILE_STACKS",
    "Frame",
    "Profile",
    "from_stacks",
    "merge_profiles",
    "normalize_key",
    "read_chrome_trace",
    "read_folded",
    "read_line_profile",
    "read_line_profile_text",
    "read_memray",
    "read_mprof",
    "read_profile",
    "read_pstats",
    "read_pyinstrument",
    "read_speedscope",
]


_CPU_FORMATS = frozenset({"pstats", "folded", "speedscope", "chrome_trace", "pyinstrument"})
_OTHER_READERS = {
    "line_profiler": "read_line_profile",
    "line_profiler_text": "read_line_profile_text",
    "memray_stats": "read_memray",
    "memray_csv": "read_memray",
    "mprof": "read_mprof",
}


@register_kind("profile")
@guard_reader
def read_profile(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    run: str | None = None,
    **kwargs: Any,
) -> Profile:
    """Read any supported CPU profile (sniffed by content); several files are merged into one.

    Parameters
    ----------
    path
        A file, a folder, a glob (``"runs/*.prof"``) or a list of them.
    run
        Run label; default the (first) file's stem.
    **kwargs
        Passed to the format's reader (``sample_interval_s=`` …).

    Raises
    ------
    UnknownFormatError
        If a file is not a profile format.
    EmptyInputError
        If the folder or glob holds no file.
    """
    paths = expand_paths(path, kind="profile")
    fmts = []
    for p in paths:
        fmt = sniff(p)
        if fmt.kind == "profile" and fmt.name not in _CPU_FORMATS:
            raise UnknownFormatError(
                f"this is a {fmt.name} file (a per-line or memory profile), not a CPU profile",
                path=p,
                hint=f"read it with perfnb.{_OTHER_READERS.get(fmt.name, 'read')}()",
            )
        if fmt.kind != "profile":
            raise UnknownFormatError(
                f"this is a {fmt.name} file, not a profile",
                path=p,
                expected="pstats, folded, speedscope, chrome_trace or pyinstrument",
            )
        fmts.append(fmt)
    if all(f.name == "pstats" for f in fmts):
        return read_pstats(paths, run=run)
    profiles: list[Profile] = []
    for fmt, p in zip(fmts, paths, strict=True):
        loaded = fmt.reader(p, run=run, **kwargs)
        assert isinstance(loaded, Profile)  # noqa: S101 - every profile reader returns one
        profiles.append(loaded)
    return profiles[0] if len(profiles) == 1 else merge_profiles(profiles, run=run)


def merge_profiles(profiles: Sequence[Profile], *, run: str | None = None) -> Profile:
    """Sum several profiles per function and per edge; stacks are concatenated."""
    label = run or profiles[0].run
    total = sum(p.total_time_s for p in profiles)
    f = pd.concat([p.functions for p in profiles], ignore_index=True)
    keys = ["function", "file"]
    agg = (
        f.groupby(keys, sort=False, dropna=False, observed=True)
        .agg(
            line=("line", "min"),
            calls=("calls", lambda s: s.sum(min_count=1)),
            primitive_calls=("primitive_calls", lambda s: s.sum(min_count=1)),
            self_time_s=("self_time_s", "sum"),
            total_time_s=("total_time_s", "sum"),
            self_samples=("self_samples", lambda s: s.sum(min_count=1)),
            total_samples=("total_samples", lambda s: s.sum(min_count=1)),
            key=("key", "first"),
            annotation=("annotation", "first"),
        )
        .reset_index()
    )
    denom = total if total > 0 else 1.0
    agg["self_ratio"] = agg["self_time_s"] / denom
    agg["total_ratio"] = agg["total_time_s"] / denom
    agg["source"] = "+".join(dict.fromkeys(p.source for p in profiles))
    agg["run"] = label
    c = pd.concat([p.calls for p in profiles], ignore_index=True)
    ck = ["caller", "caller_file", "callee", "callee_file"]
    cagg = (
        c.groupby(ck, sort=False, dropna=False, observed=True)
        .agg(
            caller_line=("caller_line", "min"),
            callee_line=("callee_line", "min"),
            calls=("calls", lambda s: s.sum(min_count=1)),
            primitive_calls=("primitive_calls", lambda s: s.sum(min_count=1)),
            self_time_s=("self_time_s", "sum"),
            total_time_s=("total_time_s", "sum"),
            caller_key=("caller_key", "first"),
            callee_key=("callee_key", "first"),
        )
        .reset_index()
    )
    cagg["source"] = agg["source"].iloc[0] if len(agg) else ""
    cagg["run"] = label
    s = pd.concat([p.stacks.astype({"thread": "object"}) for p in profiles], ignore_index=True)
    s["run"] = label
    return Profile(
        functions=PROFILE_FUNCTIONS.conform(agg),
        calls=PROFILE_CALLS.conform(cagg),
        stacks=PROFILE_STACKS.conform(s),
        source=str(agg["source"].iloc[0]) if len(agg) else profiles[0].source,
        run=label,
        total_time_s=total,
        meta={"merged": [p.meta.get("path") for p in profiles]},
    )
