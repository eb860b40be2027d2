"""Profile rules on the real samples: findings name the real hot spots."""

from __future__ import annotations

import perfnb
from tests.conftest import SAMPLES

S = SAMPLES / "profiles"


def test_check_names_the_real_hot_spots() -> None:
    prof = perfnb.read_profile(S / "cprofile_before.prof")
    found = perfnb.check(prof)
    by_rule = {f.rule: f for f in found}
    assert "checksum" in by_rule["PR001"].location
    assert by_rule["PR001"].evidence["category"] == "own"
    assert "checksum" in by_rule["PR002"].title
    assert "(waiting (" in by_rule["PR002"].title
    assert "builtins.ord" in by_rule["PR003"].location  # 3.4 M calls at ~40 ns
    assert by_rule["PR005"].evidence["waiting_ratio"] >= 0.3


def test_thresholds_can_be_overridden() -> None:
    prof = perfnb.read_profile(S / "cprofile_before.prof")
    assert not perfnb.check(prof, profile_dominant_self_ratio=0.9).by_rule("PR001")
    assert not perfnb.check(prof, profile_waiting_max_ratio=0.99).by_rule("PR005")


def test_regression_rule_on_a_diff() -> None:
    diff = perfnb.compare_profiles(
        perfnb.read_profile(S / "cprofile_before.prof"),
        perfnb.read_profile(S / "cprofile_after.prof"),
    )
    found = perfnb.check(diff, profile_regression_min_ratio=0.005)
    assert found.by_rule("PR006")
    assert all(f.evidence["self_after_s"] > f.evidence["self_before_s"] for f in found)


def test_recursion_rule(corpus) -> None:
    prof = perfnb.read_pstats(corpus / "profiles/pstats/gprof2dot/memtrail.pstats")
    for f in perfnb.check(prof).by_rule("PR004"):
        assert f.evidence["calls"] >= 10 * f.evidence["primitive_calls"]


def test_own_code_hot_spot_when_waits_dominate() -> None:
    prof = perfnb.read_profile(S / "cprofile_after.prof")
    found = perfnb.check(prof).by_rule("PR007")
    assert len(found) == 1
    assert found[0].location.startswith("checksum")
