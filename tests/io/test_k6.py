"""k6 readers: CSV (18/19 columns) and NDJSON agree; the summary export is read; k6's numbers reproduced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import perfnb
from perfnb.errors import FormatError
from perfnb.io.k6 import read_k6, read_k6_csv, read_k6_json, read_k6_summary
from perfnb.io.loadtest import REQUESTS, SUMMARY
from perfnb.schema import assert_conforms
from tests.conftest import ROOT

BAD = ROOT / "tests" / "fixtures" / "malformed" / "loadtests"


def test_csv_and_json_of_one_run_agree(corpus: Path) -> None:
    d = corpus / "loadtests" / "k6" / "finance_2024_csv_and_json"
    a = read_k6_csv(d / "k6-results.csv")
    b = read_k6_json(d / "k6-results.json")
    assert a.requests is not None and b.requests is not None
    assert_conforms(a.requests, REQUESTS)
    assert len(a.requests) == len(b.requests) == 60
    sa, sb = a.summary(), b.summary()
    for col in ("requests", "failures", "mean_s", "p50_s", "p95_s", "max_s"):
        assert sa[col].tolist() == pytest.approx(sb[col].tolist()), col


def test_18_column_csv(corpus: Path) -> None:
    lt = perfnb.read_loadtest(
        corpus / "loadtests" / "k6" / "trello_2021_csv18_and_json" / "results.csv"
    )
    assert lt.source == "k6"
    assert lt.requests is not None and len(lt.requests) == 3


def test_summary_export_custom_trend_stats(corpus: Path) -> None:
    lt = read_k6_summary(
        corpus / "loadtests" / "k6" / "qr_code_generator_summary-export_custom_trendstats.json"
    )
    s = lt.summary()
    assert_conforms(s, SUMMARY)
    assert s["requests"].iloc[0] == 493168
    assert s["estimate"].iloc[0] == "tool"
    assert "p(99.9)" in lt.meta["metrics"]["http_req_duration"]


def test_reproduces_k6_summary_export(corpus: Path) -> None:
    """k6's own summary export from its NDJSON output (percentiles: numpy linear, as k6's TrendSink)."""
    d = corpus / "loadtests" / "k6" / "ticket_reserve_same_run"
    if not d.is_dir():
        pytest.skip(
            "the corpus lacks k6/ticket_reserve_same_run (itzaddddd/ticket-reserve output.json + summary-export.json)"
        )
    lt = read_k6(d / "output.json")
    total = lt.summary().set_index("label").loc["Total"]
    exp = json.loads((d / "summary-export.json").read_text())["metrics"]
    e = exp["http_req_duration"]
    for key, col in (
        ("avg", "mean_s"),
        ("min", "min_s"),
        ("med", "p50_s"),
        ("max", "max_s"),
        ("p(90)", "p90_s"),
        ("p(95)", "p95_s"),
    ):
        assert total[col] * 1000 == pytest.approx(e[key], rel=1e-9), key
    assert total["failures"] == exp["http_req_failed"]["passes"]


def test_truncated_ndjson() -> None:
    with pytest.raises(FormatError, match=r"k6_truncated.json:2"):
        read_k6_json(BAD / "k6_truncated.json")
    lt = read_k6_json(BAD / "k6_truncated.json", on_bad_lines="skip")
    assert lt.requests is not None and len(lt.requests) == 1
    assert lt.requests.attrs["perfnb"]["skipped_rows"] == 1
