"""Profile figures: assert on the drawn artists."""

from __future__ import annotations

import perfnb
from perfnb.plot import profiles as pp
from tests.conftest import SAMPLES

S = SAMPLES / "profiles"


def test_top_functions_bars() -> None:
    prof = perfnb.read_profile(S / "cprofile_before.prof")
    ax = pp.plot_top_functions(prof, n=7)
    assert len(ax.patches) == 7
    assert ax.get_yticklabels()[0].get_text().startswith("checksum")
    assert ax.get_legend() is not None


def test_icicle_marks_pstats_trees_as_estimates() -> None:
    prof = perfnb.read_profile(S / "cprofile_before.prof")
    ax = pp.plot_icicle(prof)
    assert "estimated" in ax.get_title()
    assert len(ax.patches) > 5
    sampled = pp.plot_icicle(perfnb.read_profile(S / "pyspy_before.speedscope.json"))
    assert "estimated" not in sampled.get_title()


def test_diff_views() -> None:
    diff = perfnb.compare_profiles(
        perfnb.read_profile(S / "cprofile_before.prof"),
        perfnb.read_profile(S / "cprofile_after.prof"),
    )
    ax = pp.plot_diff(diff, n=10)
    assert len(ax.patches) == 10
    assert "checksum" in ax.get_yticklabels()[0].get_text()
    ax2 = pp.plot_diff_icicle(diff)
    assert "Differential" in ax2.get_title()
    ax3 = pp.plot_time_by_category(diff.after)
    assert len(ax3.patches) >= 4


def test_snakeviz_serves_the_profile() -> None:
    import urllib.request

    prof = perfnb.read_profile(S / "cprofile_before.prof")
    server = prof.snakeviz()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url, timeout=20) as resp:  # noqa: S310 - loopback
            body = resp.read().decode("utf-8", "replace")
        assert "checksum" in body
        assert "<iframe" in server._repr_html_()
    finally:
        server.stop()
