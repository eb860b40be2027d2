"""Stack-based profile readers: folded (py-spy raw), speedscope, Chrome trace, pyinstrument."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import perfnb
from perfnb.errors import EmptyInputError, FormatError
from perfnb.io.profiles import PROFILE_CALLS, PROFILE_FUNCTIONS, PROFILE_STACKS, Profile
from perfnb.schema import assert_conforms
from tests.conftest import MALFORMED, SAMPLES

S = SAMPLES / "profiles"


def _conforms(prof: Profile) -> None:
    assert_conforms(prof.functions, PROFILE_FUNCTIONS)
    assert_conforms(prof.calls, PROFILE_CALLS)
    assert_conforms(prof.stacks, PROFILE_STACKS)


def test_folded_totals_match_the_counts() -> None:
    path = S / "pyspy_before.raw.txt"
    counts = [float(line.rsplit(" ", 1)[1]) for line in path.read_text().splitlines() if line]
    prof = perfnb.read_folded(path, sample_interval_s=0.004)
    _conforms(prof)
    assert prof.stacks["samples"].sum() == sum(counts)
    assert prof.total_time_s == pytest.approx(sum(counts) * 0.004)
    assert prof.functions["self_samples"].sum() == sum(counts)
    assert prof.functions["calls"].isna().all()
    f = prof.functions.set_index("function")
    assert f.loc["checksum", "file"] == "profile_workload.py"
    assert f.loc["main", "total_ratio"] > 0.5


def test_folded_bad_line_modes() -> None:
    path = MALFORMED / "profiles" / "folded_bad_count.txt"
    with pytest.raises(FormatError, match=r"folded_bad_count\.txt:2: not a folded stack line"):
        perfnb.read_folded(path)
    prof = perfnb.read_folded(path, on_bad_lines="skip")
    assert prof.functions.attrs["perfnb"]["skipped_lines"] == [2]
    assert prof.stacks["samples"].sum() == 3


def test_speedscope_totals_match_the_weights() -> None:
    path = S / "pyspy_before.speedscope.json"
    doc = json.loads(path.read_text())
    total = sum(sum(p["weights"]) for p in doc["profiles"])
    prof = perfnb.read_speedscope(path)
    _conforms(prof)
    assert prof.total_time_s == pytest.approx(total)
    assert prof.stacks["time_s"].sum() == pytest.approx(total)
    assert prof.stacks["thread"].nunique() == len(doc["profiles"])
    assert prof.meta["exporter"].startswith("py-spy")


def test_speedscope_nulls_are_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"key \$\.shared\.frames\[1\]\.name"):
        perfnb.read_speedscope(MALFORMED / "profiles" / "speedscope_nulls.json")


def test_chrome_trace_from_pyspy() -> None:
    prof = perfnb.read_chrome_trace(S / "pyspy_before.chrometrace.json")
    _conforms(prof)
    assert "checksum" in set(prof.functions["function"])
    assert prof.meta["unclosed_frames"] == 0


def test_chrome_trace_unclosed_array_is_repaired(tmp_path: Path) -> None:
    prof = perfnb.read_chrome_trace(MALFORMED / "profiles" / "chrome_unclosed_array.json")
    assert prof.meta["repaired_unclosed_array"] is True
    assert prof.meta["unclosed_frames"] == 1
    f = prof.functions.set_index("function")
    assert f.loc["work", "self_time_s"] == pytest.approx(20e-6)
    # a real py-spy trace cut before its closing bracket still loads
    text = (S / "pyspy_before.chrometrace.json").read_text().rstrip()
    assert text.endswith("]")
    cut = tmp_path / "cut.json"
    cut.write_text(text[:-1])
    assert perfnb.read_chrome_trace(cut).meta["repaired_unclosed_array"] is True


@pytest.mark.parametrize(
    "name", ["pyinstrument_before.json", "pyinstrument_before.pyisession"], ids=str
)
def test_pyinstrument(name: str) -> None:
    prof = perfnb.read_pyinstrument(S / name)
    _conforms(prof)
    assert prof.total_time_s == pytest.approx(prof.meta["duration"], rel=0.05)
    assert "checksum" in set(prof.functions["function"])


def test_pyinstrument_bad_time() -> None:
    with pytest.raises(FormatError, match=r"key \$\.root_frame\.time"):
        perfnb.read_pyinstrument(MALFORMED / "profiles" / "pyinstrument_bad_time.json")


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("cprofile_before.prof", "pstats"),
        ("pyspy_before.raw.txt", "folded"),
        ("pyspy_before.speedscope.json", "speedscope"),
        ("pyspy_before.chrometrace.json", "chrome_trace"),
        ("pyinstrument_before.json", "pyinstrument"),
        ("pyinstrument_before.pyisession", "pyinstrument"),
    ],
    ids=lambda v: str(v),
)
def test_read_profile_sniffs(name: str, source: str) -> None:
    prof = perfnb.read_profile(S / name)
    assert prof.source == source
    assert isinstance(perfnb.read(S / name), Profile)


def test_mixed_files_merge_per_function() -> None:
    a = perfnb.read_profile(S / "pyspy_before.raw.txt")
    both = perfnb.read_profile([S / "pyspy_before.raw.txt", S / "pyspy_after.raw.txt"])
    b = perfnb.read_profile(S / "pyspy_after.raw.txt")
    assert both.total_time_s == pytest.approx(a.total_time_s + b.total_time_s)
    _conforms(both)


def test_glob_without_match(tmp_path: Path) -> None:
    with pytest.raises(EmptyInputError, match="glob matches no file"):
        perfnb.read_profile(str(tmp_path / "*.prof"))


def test_two_classes_sharing_a_method_name_stay_apart() -> None:
    # issue 15: py-spy's CsvCodec.decode and JsonCodec.decode (one file) were merged into one key "decode"
    from perfnb.analysis.profiles import compare_profiles

    for name in ("pyspy_twoclasses.raw.txt", "pyspy_twoclasses.speedscope.json"):
        prof = perfnb.read_profile(SAMPLES / "profiles" / name)
        f = prof.functions
        dec = f[f["function"].astype(str).str.endswith(".decode")]
        assert set(dec["function"]) >= {"CsvCodec.decode", "JsonCodec.decode"}, name
        assert dec["key"].nunique() == len(dec)
        js = float(dec.loc[dec["function"] == "JsonCodec.decode", "total_time_s"].iloc[0])
        cs = float(dec.loc[dec["function"] == "CsvCodec.decode", "total_time_s"].iloc[0])
        assert js > cs
        t = compare_profiles(prof, prof).table
        assert {
            "profile_twoclasses.py:CsvCodec.decode",
            "profile_twoclasses.py:JsonCodec.decode",
        } <= set(t["key"].str.rsplit("/", n=1).str[-1])
