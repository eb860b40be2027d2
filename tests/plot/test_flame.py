"""Interactive flame graphs: assert on the Plotly figure (trace type, titles, pruning), no images."""

from __future__ import annotations

import numpy as np
import pytest

import perfnb
from perfnb.io.profiles import Frame, from_stacks
from perfnb.plot import flame
from perfnb.plot.interactive import figure_html
from tests.conftest import SAMPLES

S = SAMPLES / "profiles"
FILES = [
    "cprofile_after.prof",
    "pyspy_after.raw.txt",
    "pyspy_before.speedscope.json",
    "pyspy_before.chrometrace.json",
    "pyinstrument_after.json",
]
EVIL = '<script>alert(1)</script>"onmouseover=x'


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("direction", ["top-down", "bottom-up"])
def test_flame_for_every_format(name: str, direction: str) -> None:
    prof = perfnb.read_profile(S / name)
    fig = flame.plot_flame(prof, direction=direction)  # type: ignore[arg-type]
    (trace,) = fig.data
    assert trace.type == "icicle"
    assert trace.branchvalues == "total"
    assert "inclusive time (s)" in fig.layout.title.text
    assert len(trace.ids) == len(trace.parents) == len(trace.values) > 3
    # the root holds the whole profile; hover names time, share and location
    assert trace.values[0] == pytest.approx(prof.total_time_s, rel=1e-6)
    assert "inclusive" in trace.hovertext[1] and "self" in trace.hovertext[1]
    assert ("estimated" in fig.layout.title.text) == (not prof.has_stacks)
    if direction == "bottom-up":
        assert "callers" in fig.layout.title.text


def test_deterministic_hover_has_calls_and_file_line() -> None:
    prof = perfnb.read_profile(S / "cprofile_after.prof")
    t = flame.flame_nodes(prof)
    row = t[t["function"] == "checksum"].iloc[0]
    assert row["calls"] > 0 and row["line"] > 0
    fig = flame.plot_flame(prof)
    hover = fig.data[0].hovertext[int(row["node_id"])]
    assert "calls" in hover and f":{row['line']}" in hover


def test_bottom_up_roots_are_self_time() -> None:
    prof = perfnb.read_profile(S / "pyspy_after.raw.txt")
    t = flame.flame_nodes(prof, direction="bottom-up", min_ratio=0)
    top = t[t["depth"] == 1].set_index("function")["total_time_s"]
    own = prof.functions.groupby("function")["self_time_s"].sum()
    for fn, v in top.items():
        assert v == pytest.approx(own[fn])


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("cprofile_before.prof", "cprofile_after.prof"),
        ("pyspy_before.raw.txt", "pyspy_after.raw.txt"),
        ("pyinstrument_before.json", "pyinstrument_after.json"),
    ],
)
def test_differential_flame_is_coloured_for_sampled_and_deterministic(
    before: str, after: str
) -> None:
    diff = perfnb.compare_profiles(perfnb.read_profile(S / before), perfnb.read_profile(S / after))
    fig = flame.plot_flame_diff(diff)
    (trace,) = fig.data
    assert trace.type == "icicle"
    colors = np.asarray(trace.marker.colors, dtype=float)
    assert np.count_nonzero(colors[1:]) > 3, "frames must be matched and coloured"
    assert trace.marker.colorscale is not None and trace.marker.cmid == 0
    assert trace.marker.colorbar.title.text == "Δ inclusive (s)"
    assert "red slower" in fig.layout.title.text


def test_untrusted_names_are_escaped() -> None:
    prof = from_stacks(
        [("", [Frame("main", "app.py", 1), Frame(EVIL, "<x>.py", 2)], 3.0)],
        source="folded",
        run=EVIL,
    )
    fig = flame.plot_flame(prof, min_ratio=0)
    html = figure_html(fig)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in fig.data[0].labels[2]


def test_large_profile_is_pruned_and_says_so(tmp_path) -> None:
    rng = np.random.default_rng(7)
    names = [f"f{i} (mod{i % 50}.py:{i})" for i in range(2000)]
    lines = []
    for _ in range(25_000):  # 25k stacks x 41 frames: a 1M-frame profile, written as folded stacks
        ids = rng.integers(0, len(names), 40)
        lines.append(";".join(["main (app.py:1)", *(names[i] for i in ids)]) + " 3")
    path = tmp_path / "big.folded"
    path.write_text("\n".join(lines) + "\n")
    prof = perfnb.read_profile(path)
    fig = flame.plot_flame(prof, max_nodes=2000)
    assert len(fig.data[0].ids) <= 2001
    assert "folded into their caller" in fig.layout.title.text
    assert len(figure_html(fig)) < 1_500_000


def test_write_flame_is_one_offline_page(tmp_path) -> None:
    prof = perfnb.read_profile(S / "pyspy_after.raw.txt")
    base = perfnb.read_profile(S / "pyspy_before.raw.txt")
    out = flame.write_flame(prof, tmp_path / "f.html", baseline=base)
    text = out.read_text()
    assert text.count("plotly.js v") <= 2  # the library's banner, once
    assert text.count('"type":"icicle"') == 3
    assert "<script src=" not in text
    assert out.stat().st_size < 8_000_000
