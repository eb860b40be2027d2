from __future__ import annotations

import pytest

from perfnb.analysis.vitals import assess_crux
from perfnb.errors import FormatError
from perfnb.io.crux import CRUX_METRICS, read_crux
from perfnb.schema import assert_conforms

FILES = ["crux_history_api_url_desktop_github.json", "crux_api_url_record_desktop_4g.json"]


@pytest.mark.parametrize("name", FILES)
def test_p75_assessment_matches_api_categories(corpus, name):
    df = read_crux(corpus / "metrics" / "crux" / name)
    assert_conforms(df, CRUX_METRICS)
    a = assess_crux(df, period="all")
    assert len(a) == df["p75"].notna().sum()
    assert (a["rating"].astype(str) == a["api_rating"].astype(str)).all()


def test_history_shape(corpus):
    df = read_crux(corpus / "metrics" / "crux" / FILES[0])
    assert df["period_end"].nunique() == 25
    assert set(df["metric"]) >= {"LCP", "INP", "CLS", "FID"}
    cls = df[df["metric"] == "CLS"].sort_values("period_end")
    assert cls["p75"].iloc[0] == pytest.approx(0.10)
    lcp = df[df["metric"] == "LCP"]
    assert lcp["good_max"].iloc[0] == pytest.approx(2.5)
    fid = assess_crux(df)
    assert fid.loc[fid["metric"] == "FID", "retired"].all()


def test_error_body(tmp_path):
    p = tmp_path / "e.json"
    p.write_text(
        '{"error": {"code": 404, "message": "chrome ux report data not found", "status": "NOT_FOUND"}}'
    )
    with pytest.raises(FormatError, match=r"e.json: key \$.error: CrUX API error 404 NOT_FOUND"):
        read_crux(p)


def test_bad_value(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(
        '{"record": {"key": {"url": "u"}, "metrics": {"largest_contentful_paint": {"histogram": '
        '[{"start": 0, "end": 2500, "density": "x"}], "percentiles": {"p75": 1}}}, '
        '"collectionPeriod": {"firstDate": {"year": 2024, "month": 1, "day": 1}, '
        '"lastDate": {"year": 2024, "month": 1, "day": 28}}}}'
    )
    with pytest.raises(
        FormatError, match=r"largest_contentful_paint.histogram\[0\].density: value is not a number"
    ):
        read_crux(p)
