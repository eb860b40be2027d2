from __future__ import annotations

import math

import pandas as pd
import pytest

from perfnb.analysis.vitals import _round2, erf, log_normal_score, metric_score, rate
from perfnb.errors import SchemaError
from perfnb.io.lighthouse import read_lighthouse


def test_erf_close_to_math():
    for x in (-2.0, -0.3, 0.0, 0.4, 1.7):
        assert erf(x) == pytest.approx(math.erf(x), abs=2e-7)


def test_control_points_and_bands():
    assert log_normal_score(0, p10=200, median=600) == 1
    assert metric_score(200, p10=200, median=600) == 0.9
    assert metric_score(600, p10=200, median=600) == 0.5
    assert metric_score(1, p10=200, median=600) == 1.0
    with pytest.raises(SchemaError):
        log_normal_score(1, p10=600, median=200)


def test_js_rounding_half_up():
    assert _round2(0.125) == 0.13  # Python's round() would give 0.12
    assert _round2(0.3249999) == 0.32


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("LCP", 2.5, "good"),
        ("LCP", 2.501, "needs-improvement"),
        ("LCP", 4.0, "needs-improvement"),
        ("LCP", 4.001, "poor"),
        ("INP", 0.2, "good"),
        ("INP", 0.5, "needs-improvement"),
        ("CLS", 0.1, "good"),
        ("CLS", 0.25, "needs-improvement"),
        ("FCP", 1.8, "good"),
        ("FCP", 3.01, "poor"),
        ("TTFB", 0.8, "good"),
        ("TTFB", 1.81, "poor"),
        ("FID", 0.1, "good"),
        ("XYZ", 1.0, ""),
    ],
)
def test_thresholds(metric, value, expected):
    assert rate(metric, value) == expected


def test_crux_bins_are_half_open():
    assert rate("CLS", 0.1, bins="crux") == "needs-improvement"
    assert rate("LCP", 4.0, bins="crux") == "poor"


def test_every_metric_score_of_the_corpus_report(corpus):
    rep = read_lighthouse(corpus / "metrics" / "lighthouse" / "lhr_13.4.1_sample_v2.json")
    scored = rep.metrics.dropna(subset=["p10", "median", "value"])
    assert len(scored) >= 5
    for m in scored.to_dict("records"):
        scale = 1000 if m["unit"] == "s" else 1
        got = metric_score(m["value"] * scale, p10=m["p10"] * scale, median=m["median"] * scale)
        assert got == m["score"], m["metric"]
    assert isinstance(rep.values(), pd.DataFrame)
