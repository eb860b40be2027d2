"""line_profiler and memory profile readers (memray stats/CSV, mprof)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

import perfnb
from perfnb.errors import FormatError, UnknownFormatError
from perfnb.io.profiles import MEMORY_ALLOCATIONS, MEMORY_USAGE, PROFILE_LINES
from perfnb.schema import assert_conforms
from tests.conftest import SAMPLES

S = SAMPLES / "profiles"


def test_lprof_and_text_report_agree() -> None:
    a = perfnb.read_line_profile(S / "lineprof_before.lprof")
    b = perfnb.read_line_profile_text(S / "lineprof_before.txt")
    assert_conforms(a, PROFILE_LINES)
    assert_conforms(b, PROFILE_LINES)
    assert len(a) == len(b)
    assert a["time_s"].sum() == pytest.approx(b["time_s"].sum(), rel=1e-4)
    assert a["hits"].sum() == b["hits"].sum()
    checksum = b[b["function"] == "checksum"]
    hot = checksum.sort_values("time_s", ascending=False).iloc[0]
    assert "ord(ch)" in hot["contents"]
    assert a.groupby("function")["time_ratio"].sum().round(6).eq(1.0).all()


def test_lprof_refuses_other_pickles(tmp_path: Path) -> None:
    evil = tmp_path / "evil.lprof"
    evil.write_bytes(pickle.dumps(Path("/etc/passwd")))
    with pytest.raises(FormatError, match="refusing to load"):
        perfnb.read_line_profile(evil)


def test_read_profile_points_line_profiles_to_their_reader() -> None:
    with pytest.raises(UnknownFormatError, match="read_line_profile"):
        perfnb.read_profile(S / "lineprof_before.lprof")


def test_memray_stats_json() -> None:
    path = S / "memray_before.stats.json"
    df = perfnb.read_memray(path)
    assert_conforms(df, MEMORY_ALLOCATIONS)
    doc = json.loads(path.read_text())
    top = doc["top_allocations_by_size"][0]
    assert df["size_bytes"].iloc[0] == top["size"]
    assert df.attrs["perfnb"]["total_bytes_allocated"] == doc["total_bytes_allocated"]


def test_memray_csv_totals() -> None:
    path = S / "memray_before.csv"
    df = perfnb.read_memray(path)
    assert_conforms(df, MEMORY_ALLOCATIONS)
    import csv

    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert df["size_bytes"].sum() == sum(float(r["size"]) for r in rows)
    assert df["allocations"].sum() == sum(int(r["num_allocations"]) for r in rows)
    assert df["size_ratio"].sum() == pytest.approx(1.0)


def test_mprof() -> None:
    df = perfnb.read_mprof(S / "mprof_before.dat")
    assert_conforms(df, MEMORY_USAGE)
    assert df["elapsed_s"].iloc[0] == 0
    assert (df["memory_bytes"] > 0).all()
    assert df["memory_bytes"].max() > 1e6
    model = perfnb.read(S / "mprof_before.dat")  # perfnb.read wraps the frame in a model
    assert isinstance(model, perfnb.model.frames.MemoryProfile)
    assert model.usage is not None and model.usage.equals(df)


def test_mprof_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_text("CMDLINE x\nMEM 1.0 10.0\nMEM lots 11.0\n")
    with pytest.raises(FormatError, match=r"bad\.dat:3: bad MEM line"):
        perfnb.read_mprof(bad)
