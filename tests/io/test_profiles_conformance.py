"""Conformance over ../shared/corpus/profiles: every file loads and conforms, or fails with a specific error."""

from __future__ import annotations

import json
import pstats
from pathlib import Path

import pytest

import perfnb
from perfnb.errors import FormatError
from perfnb.io.profiles import PROFILE_CALLS, PROFILE_FUNCTIONS, PROFILE_STACKS, Profile
from perfnb.schema import assert_conforms

PROFILES = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "profiles"


def _files(*patterns: str) -> list[str]:
    if not PROFILES.is_dir():
        return []
    return sorted(str(p.relative_to(PROFILES)) for pat in patterns for p in PROFILES.glob(pat))


# files that are invalid on purpose, with the message we must give
INVALID = {
    "generated/pstats/cprofile_py27_demo.prof": "Python 2 dump",
    "pstats/talk-profiling/main.pstats": "code object",
    "speedscope/speedscope-invalid/incomplete-trace.json": "never closed",
    "speedscope/speedscope-invalid/out-of-order-events.json": "does not match the open frame",
    "chrome-trace/speedscope/invalid-x-nesting.json": "overlap without nesting",
}
PSTATS = _files("pstats/*/*", "generated/pstats/*.prof", "generated/pyinstrument/*.pstats")
OTHERS = _files(
    "folded/*/*",
    "generated/pyspy/*.txt",
    "speedscope/*/*.json",
    "generated/*/*speedscope.json",
    "chrome-trace/*/*.json",
    "generated/chrome-trace/*.json",
    "generated/pyspy/*chrometrace.json",
    "pyinstrument/*/*.json",
    "generated/pyinstrument/*.json",
    "generated/pyinstrument/*.pyisession",
)


def _conforms(prof: Profile) -> None:
    assert_conforms(prof.functions, PROFILE_FUNCTIONS)
    assert_conforms(prof.calls, PROFILE_CALLS)
    assert_conforms(prof.stacks, PROFILE_STACKS)


@pytest.mark.parametrize("rel", PSTATS)
def test_pstats_corpus(corpus: Path, rel: str) -> None:
    path = corpus / "profiles" / rel
    if rel in INVALID:
        with pytest.raises(FormatError, match=INVALID[rel]):
            perfnb.read_pstats(path)
        return
    prof = perfnb.read_pstats(path)
    _conforms(prof)
    try:
        ref = pstats.Stats(str(path))
    except Exception:  # some variants trip pstats itself; ours must still load
        return
    assert prof.total_time_s == ref.total_tt
    assert sum(prof.functions["self_time_s"].tolist()) == ref.total_tt


@pytest.mark.parametrize("rel", OTHERS)
def test_stack_corpus(corpus: Path, rel: str) -> None:
    path = corpus / "profiles" / rel
    if rel in INVALID:
        with pytest.raises(FormatError, match=INVALID[rel]):
            perfnb.read_profile(path)
        return
    kwargs = {"on_bad_lines": "skip"} if rel.startswith("folded/") else {}
    prof = perfnb.read_profile(path, **kwargs)
    _conforms(prof)
    assert prof.functions["self_time_s"].sum() == pytest.approx(prof.total_time_s, rel=1e-9)
    if prof.source == "speedscope":
        doc = json.loads(path.read_text(encoding="utf-8"))
        units = {"seconds": 1.0, "milliseconds": 1e-3, "microseconds": 1e-6, "nanoseconds": 1e-9}
        expected = 0.0
        for p in doc["profiles"]:
            f = units.get(p.get("unit"), 0.01)
            if p["type"] == "sampled":
                expected += sum(p["weights"]) * f
            else:  # time with at least one frame open
                depth, opened = 0, 0.0
                for ev in p["events"]:
                    if ev["type"] == "O":
                        if depth == 0:
                            opened = ev["at"]
                        depth += 1
                    else:
                        depth -= 1
                        if depth == 0:
                            expected += (ev["at"] - opened) * f
        assert prof.total_time_s == pytest.approx(expected, rel=1e-6)
    if prof.source == "folded":
        assert prof.stacks["samples"].sum() > 0


def test_demo_ground_truth(corpus: Path) -> None:
    prof = perfnb.read_pstats(corpus / "profiles/generated/pstats/cprofile_py312_demo.prof")
    f = prof.functions.set_index("function")
    assert (int(f.loc["fib", "calls"]), int(f.loc["fib", "primitive_calls"])) == (1973, 1)
    assert int(f.loc["gen", "calls"]) == 1001
    assert int(f.loc["<built-in method time.sleep>", "calls"]) == 4


def test_corpus_diff_pair_ranks_slow_leaf_first(corpus: Path) -> None:
    g = corpus / "profiles/generated/pstats"
    diff = perfnb.compare_profiles(
        perfnb.read_pstats(g / "cprofile_py312_work.prof"),
        perfnb.read_pstats(g / "cprofile_py312_work_v2.prof"),
    )
    assert diff.improvements(1)["function"].iloc[0] == "slow_leaf"
    assert diff.improvements(1)["cause"].iloc[0] == "per-call time"
    top_regressions = set(diff.regressions(3)["function"])
    assert "raw_decode" in top_regressions


def test_windows_paths_are_shortened(corpus: Path) -> None:
    prof = perfnb.read_pstats(corpus / "profiles/pstats/py-cat2cat/program.prof")
    assert not prof.functions["key"].str.contains("/Users/", regex=False).any()
