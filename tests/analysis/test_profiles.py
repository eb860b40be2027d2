"""Profile analyses on the real before/after sample pair."""

from __future__ import annotations

import pandas as pd
import pytest

import perfnb
from perfnb.analysis.profiles import call_tree, classify, compare_profiles, time_by_category
from tests.conftest import SAMPLES

S = SAMPLES / "profiles"


@pytest.fixture(scope="module")
def before() -> perfnb.Profile:
    return perfnb.read_profile(S / "cprofile_before.prof")


@pytest.fixture(scope="module")
def after() -> perfnb.Profile:
    return perfnb.read_profile(S / "cprofile_after.prof")


def test_hotspots_and_classification(before: perfnb.Profile) -> None:
    top = before.hotspots(n=5)
    assert top["function"].iloc[0] == "checksum"
    assert top["category"].iloc[0] == "own"
    kinds = dict(zip(top["function"], top["wait_kind"].astype(str), strict=True))
    assert kinds["<built-in method time.sleep>"] == "sleep"
    assert top["self_per_call_s"].iloc[0] == pytest.approx(top["self_time_s"].iloc[0] / 120)


@pytest.mark.parametrize(
    ("function", "file", "category", "wait_kind"),
    [
        ("<built-in method time.sleep>", "~", "waiting", "sleep"),
        ("<method 'acquire' of '_thread.lock' objects>", "~", "waiting", "lock"),
        ("<method 'recv' of '_socket.socket' objects>", "~", "waiting", "io"),
        ("<method 'poll' of 'select.epoll' objects>", "~", "waiting", "select"),
        ("execute", "/venv/lib/python3.12/site-packages/psycopg/cursor.py", "waiting", "db"),
        ("<built-in method builtins.len>", "~", "builtin", ""),
        ("loads", "/usr/lib/python3.12/json/__init__.py", "library", ""),
        ("JSONEncoder.iterencode", "json/encoder.py", "library", ""),
        ("get", "/venv/lib/python3.12/site-packages/requests/api.py", "library", ""),
        ("handler", "/srv/app/views.py", "own", ""),
        ("Condition.wait", "threading.py", "waiting", "lock"),
    ],
)
def test_classify(function: str, file: str, category: str, wait_kind: str) -> None:
    out = classify(pd.DataFrame({"function": [function], "file": [file]}))
    assert (str(out["category"][0]), str(out["wait_kind"][0])) == (category, wait_kind)


def test_time_by_category_sums_to_one(before: perfnb.Profile) -> None:
    cats = time_by_category(before)
    assert cats["self_ratio"].sum() == pytest.approx(1.0)
    assert set(cats["category"]) >= {"own", "waiting", "builtin", "library"}


def test_compare_profiles_on_the_real_pair(before: perfnb.Profile, after: perfnb.Profile) -> None:
    diff = compare_profiles(before, after)
    t = diff.table.set_index("function")
    top = diff.improvements(1).iloc[0]
    assert top["function"] == "checksum"
    assert top["cause"] == "per-call time"  # same calls, 4x fewer rounds per call
    assert t.loc["checksum", "calls_before"] == t.loc["checksum", "calls_after"] == 120
    assert t.loc["render_row", "calls_after"] == 4 * t.loc["render_row", "calls_before"]
    assert "indexed_lookup" in set(diff.new["function"])
    assert "legacy_lookup" in set(diff.removed["function"])
    row = t.loc["checksum"]
    assert row["calls_effect_s"] + row["per_call_effect_s"] == pytest.approx(row["delta_s"])
    assert diff.table.attrs["perfnb"]["normalize"] == "none"
    # biggest changes first
    assert diff.table["delta_s"].abs().is_monotonic_decreasing


def test_compare_total_normalization(before: perfnb.Profile, after: perfnb.Profile) -> None:
    diff = compare_profiles(before, after, normalize="total")
    assert diff.table["self_before_s"].sum() == pytest.approx(after.total_time_s)


def test_compare_sampled_pair() -> None:
    a = perfnb.read_profile(S / "pyspy_before.raw.txt")
    b = perfnb.read_profile(S / "pyspy_after.raw.txt")
    diff = compare_profiles(a, b)
    assert diff.table["cause"].isin(["time", "new", "removed"]).all()
    assert "checksum" in set(diff.improvements(5)["function"])


def test_call_tree_exact_for_stacks_and_estimated_for_pstats(before: perfnb.Profile) -> None:
    sampled = perfnb.read_profile(S / "pyspy_before.raw.txt")
    tree = call_tree(sampled, min_ratio=0)
    assert not tree["estimated"].any()
    roots = tree[tree["depth"] == 0]
    assert roots["total_time_s"].sum() == pytest.approx(sampled.total_time_s)
    est = call_tree(before)
    assert est["estimated"].all()
    # children never exceed their parent's width
    merged = est.merge(est, left_on="parent_id", right_on="node_id", suffixes=("", "_p"))
    assert (merged["total_time_s"] <= merged["total_time_s_p"] + 1e-12).all()
