"""Gatling simulation.log: text logs read (Gatling's own stats reproduced), binary logs refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import perfnb
from perfnb.errors import FormatError
from perfnb.io.gatling import read_gatling


def test_reproduces_gatling_global_stats(corpus: Path) -> None:
    d = corpus / "loadtests" / "gatling" / "gatling_3.7.4_text_with_stats_json"
    lt = read_gatling(d / "simulation.log")
    total = lt.summary().set_index("label").loc["Total"]
    g = json.loads((d / "global_stats.json").read_text())
    assert total["requests"] == g["numberOfRequests"]["total"]
    assert total["min_s"] * 1000 == g["minResponseTime"]["total"]
    assert total["max_s"] * 1000 == g["maxResponseTime"]["total"]
    assert round(total["mean_s"] * 1000) == g["meanResponseTime"]["total"]
    assert (
        round(total["p50_s"] * 1000) == g["percentiles1"]["total"]
    )  # t-digest vs exact: equal after rounding
    assert round(total["p95_s"] * 1000) == g["percentiles3"]["total"]
    assert lt.requests is not None and lt.requests["users"].max() > 0


def test_assertion_records_and_old_header(corpus: Path) -> None:
    g = corpus / "loadtests" / "gatling"
    assert (
        len(perfnb.read_loadtest(g / "gatling_3.9.5_text_with_assertions_simulation.log").labels)
        > 0
    )
    lt = read_gatling(g / "gatling_repo_single_node_known_stats_text_pre3.13_simulation.log")
    assert lt.requests is not None and len(lt.requests) > 0


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("gatling_3.14.3_binary/simulation.log", "3.14.3"),
        ("gatling_repo_known_stats_binary_HEAD_simulation.log", "3.12.1"),
    ],
)
def test_binary_log_is_refused_clearly(corpus: Path, name: str, version: str) -> None:
    with pytest.raises(
        FormatError, match=f"binary Gatling simulation.log .written by Gatling {version}"
    ):
        perfnb.read(corpus / "loadtests" / "gatling" / name)
