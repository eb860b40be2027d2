"""Fuzz targets for the profile readers (one per registered profile format)."""

from __future__ import annotations

from pathlib import Path

from perfnb.io.profiles import (
    read_chrome_trace,
    read_folded,
    read_pstats,
    read_pyinstrument,
    read_speedscope,
)
from perfnb.io.profiles.lineprof import read_line_profile, read_line_profile_text
from perfnb.io.profiles.memory import read_memray, read_mprof
from tests.fuzz_targets._base import FuzzTarget

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "profiles"

TARGETS = [
    FuzzTarget(
        format="pstats",
        reader=read_pstats,
        samples=(SAMPLES / "cprofile_before.prof",),
        text=False,
    ),
    FuzzTarget(format="folded", reader=read_folded, samples=(SAMPLES / "pyspy_before.raw.txt",)),
    FuzzTarget(
        format="speedscope",
        reader=read_speedscope,
        samples=(SAMPLES / "pyspy_before.speedscope.json",),
    ),
    FuzzTarget(
        format="chrome_trace",
        reader=read_chrome_trace,
        samples=(SAMPLES / "pyspy_before.chrometrace.json",),
    ),
    FuzzTarget(
        format="pyinstrument",
        reader=read_pyinstrument,
        samples=(SAMPLES / "pyinstrument_before.json",),
    ),
]

TARGETS += [
    FuzzTarget(
        format="line_profiler",
        reader=read_line_profile,
        samples=(SAMPLES / "lineprof_before.lprof",),
        text=False,
    ),
    FuzzTarget(
        format="line_profiler_text",
        reader=read_line_profile_text,
        samples=(SAMPLES / "lineprof_before.txt",),
    ),
    FuzzTarget(
        format="memray_stats", reader=read_memray, samples=(SAMPLES / "memray_before.stats.json",)
    ),
    FuzzTarget(format="memray_csv", reader=read_memray, samples=(SAMPLES / "memray_before.csv",)),
    FuzzTarget(format="mprof", reader=read_mprof, samples=(SAMPLES / "mprof_before.dat",)),
]
