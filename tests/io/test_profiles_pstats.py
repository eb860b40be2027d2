"""pstats reader: exact totals against the standard library, merging, writing back, and bad input."""

from __future__ import annotations

import pstats
import shutil
from pathlib import Path

import pytest

import perfnb
from perfnb.errors import EmptyInputError, FormatError, UnknownFormatError
from perfnb.io.profiles import PROFILE_CALLS, PROFILE_FUNCTIONS, read_pstats
from perfnb.schema import assert_conforms
from tests.conftest import MALFORMED, SAMPLES

BEFORE = SAMPLES / "profiles" / "cprofile_before.prof"
AFTER = SAMPLES / "profiles" / "cprofile_after.prof"


@pytest.mark.parametrize("path", [BEFORE, AFTER], ids=lambda p: p.name)
def test_self_time_sums_exactly_to_total_tt(path: Path) -> None:
    prof = read_pstats(path)
    stats = pstats.Stats(str(path))
    assert prof.total_time_s == stats.total_tt
    assert sum(prof.functions["self_time_s"].tolist()) == stats.total_tt
    assert int(prof.functions["calls"].sum()) == stats.total_calls
    assert int(prof.functions["primitive_calls"].sum()) == stats.prim_calls
    assert len(prof.functions) == len(stats.stats)  # type: ignore[attr-defined]
    assert_conforms(prof.functions, PROFILE_FUNCTIONS)
    assert_conforms(prof.calls, PROFILE_CALLS)
    assert prof.stacks.empty


def test_functions_and_edges_match_the_dump() -> None:
    prof = read_pstats(BEFORE)
    f = prof.functions.set_index("function")
    assert int(f.loc["checksum", "calls"]) == 120
    assert int(f.loc["render_row", "calls"]) == 120 * 40
    assert f.loc["<built-in method time.sleep>", "file"] == "~"
    edge = prof.calls[
        (prof.calls["caller"] == "handle_request") & (prof.calls["callee"] == "checksum")
    ]
    assert int(edge["calls"].iloc[0]) == 120
    assert prof.functions["self_ratio"].sum() == pytest.approx(1.0)


def test_several_dumps_merge_like_stats_add(tmp_path: Path) -> None:
    merged = read_pstats([BEFORE, AFTER])
    ref = pstats.Stats(str(BEFORE))
    ref.add(str(AFTER))
    assert merged.total_time_s == pytest.approx(ref.total_tt, rel=1e-12)
    assert int(merged.functions["calls"].sum()) == ref.total_calls
    # a folder and a glob give the same
    shutil.copy(BEFORE, tmp_path / "a.prof")
    shutil.copy(AFTER, tmp_path / "b.prof")
    assert perfnb.read_profile(tmp_path).total_time_s == pytest.approx(ref.total_tt, rel=1e-12)
    assert perfnb.read_profile(str(tmp_path / "*.prof")).total_time_s == pytest.approx(
        ref.total_tt, rel=1e-12
    )


def test_write_pstats_round_trips_through_the_standard_library(tmp_path: Path) -> None:
    prof = read_pstats(BEFORE)
    out = prof.to_pstats(tmp_path / "copy.prof")
    stats = pstats.Stats(str(out))
    assert stats.total_tt == pytest.approx(prof.total_time_s)
    assert stats.total_calls == int(prof.functions["calls"].sum())


def test_sampled_profile_written_as_pstats_is_readable(tmp_path: Path) -> None:
    prof = perfnb.read_folded(SAMPLES / "profiles" / "pyspy_before.raw.txt")
    out = prof.to_pstats(tmp_path / "sampled.prof")
    assert pstats.Stats(str(out)).total_tt == pytest.approx(prof.total_time_s)


def test_text_file_named_prof_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"text_named\.prof: not a pstats dump") as info:
        read_pstats(MALFORMED / "profiles" / "text_named.prof")
    assert info.value.path is not None
    assert isinstance(info.value.__cause__, ValueError | EOFError)


def test_sniffing_a_text_file_named_prof_is_unknown() -> None:
    with pytest.raises(UnknownFormatError, match=r"text_named\.prof"):
        perfnb.read_profile(MALFORMED / "profiles" / "text_named.prof")


def test_truncated_dump(tmp_path: Path) -> None:
    cut = tmp_path / "cut.prof"
    cut.write_bytes(BEFORE.read_bytes()[:500])
    with pytest.raises(FormatError, match="marshal could not read it"):
        read_pstats(cut)


def test_empty_file_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(EmptyInputError, match="empty"):
        read_pstats(MALFORMED / "profiles" / "empty.prof")
    (tmp_path / "none").mkdir()
    with pytest.raises(EmptyInputError, match=r"no profile files"):
        perfnb.read_profile(tmp_path / "none")


def test_not_a_dict(tmp_path: Path) -> None:
    import marshal

    p = tmp_path / "list.prof"
    p.write_bytes(marshal.dumps([1, 2, 3]))
    with pytest.raises(FormatError, match="not a pstats dump"):
        read_pstats(p)
    q = tmp_path / "badkey.prof"
    q.write_bytes(marshal.dumps({"x": (1, 1, 0.1, 0.1, {})}))
    with pytest.raises(FormatError, match="bad statistics"):
        read_pstats(q)
