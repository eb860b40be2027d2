"""``samples:`` paths resolve to the package's data root wherever we run; other paths become absolute."""

from __future__ import annotations

from pathlib import Path

from perfnb import samples
from tests.conftest import ROOT


def test_prefix_maps_to_the_data_root(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert samples.data_root() == ROOT / "data" / "samples"
    assert samples.resolve("samples:demo/locust") == str(
        ROOT / "data" / "samples" / "demo" / "locust"
    )
    assert samples.is_sample("samples:x") and samples.is_sample(str(ROOT / "data/samples/demo"))
    assert not samples.is_sample(str(tmp_path / "x.json"))


def test_paths_are_made_absolute_and_lists_item_by_item(tmp_path) -> None:
    assert samples.resolve("a.json", cwd=tmp_path) == str(tmp_path / "a.json")
    both = samples.resolve("a.json, samples:metrics/*.json", cwd=tmp_path).split(",")
    assert both[0] == str(tmp_path / "a.json")
    assert Path(both[1]).parent == ROOT / "data" / "samples" / "metrics"
    assert samples.resolve("") == "" and samples.resolve("http://h:9090") == "http://h:9090"
    assert samples.resolve_many("", "samples:cache")[1].endswith("cache")
