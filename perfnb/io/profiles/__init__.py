"""Profile readers: pstats, folded stacks, speedscope, Chrome trace, pyinstrument; ``read_profile`` sniffs.

Every reader returns a :class:`~perfnb.io.profiles._model.Profile` (``functions``, ``calls``, ``stacks``
tables, declared in :mod:`perfnb.io.profiles._model`). :func:`read_profile` accepts a file, a folder or a
glob; several pstats dumps are summed like ``pstats.Stats.add``, other formats are merged per function.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from perfnb.errors import EmptyInputError, UnknownFormatError
from perfnb.io._common import ensure_path, guard_reader, sniff
from perfnb.io.profiles._model import (
    PROFILE_CALLS,
    PROFILE_FUNCTIONS,
    PROFILE_STACKS,
    Frame,
    Profile,
    from_stacks,
    normalize_key,
)
from perfnb.io.profiles.chrometrace import read_chrome_trace
from perfnb.io.profiles.folded import read_folded
from perfnb.io.profiles.lineprof import PROFILE_LINES, read_line_profile, read_line_profile_text
from perfnb.io.profiles.memory import MEMORY_ALLOCATIONS, MEMORY_USAGE, read_memray, read_mprof
from perfnb.io.profiles.pstats import read_pstats
from perfnb.io.profiles.pyinstrument import read_pyinstrument
from perfnb.io.profiles.speedscope import read_speedscope

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


def _expand(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    items = [path] if isinstance(path, str | os.PathLike) else list(path)
    out: list[Path] = []
    for item in items:
        text = os.fspath(item)
        if any(ch in text for ch in "*?["):
            matches = sorted(glob.glob(text))  # noqa: PTH207 - absolute or relative patterns
            if not matches:
                raise EmptyInputError("glob matches no file", path=text, expected="profile files")
            out.extend(Path(m) for m in matches if Path(m).is_file())
            continue
        p = ensure_path(item, allow_dir=True)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
            if not found:
                raise EmptyInputError("folder holds no files", path=p, expected="profile files")
            out.extend(found)
        else:
            out.append(p)
    if not out:
        raise EmptyInputError("no profile files given", expected="a file, folder or glob")
    return out


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
    paths = _expand(path)
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
        return cast(Profile, read_pstats(paths, run=run))
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
