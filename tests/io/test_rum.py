from __future__ import annotations

import pytest

from perfnb.analysis.vitals import assess
from perfnb.errors import FormatError, SkippedRowsWarning
from perfnb.io.rum import RUM_METRICS, read_rum
from perfnb.schema import assert_conforms
from tests.conftest import DATA

RUM = DATA / "samples" / "vitals" / "rum.ndjson"


def test_real_web_vitals_beacons():
    df = read_rum(RUM)
    assert_conforms(df, RUM_METRICS)
    assert set(df["metric"]) == {"LCP", "INP", "CLS", "FCP", "TTFB"}
    assert df["id"].is_unique
    # the library's own rating agrees with ours on every final value
    from perfnb.analysis.vitals import rate

    assert all(
        rate(m, v) == r for m, v, r in zip(df["metric"], df["value"], df["rating"], strict=True)
    )
    a = assess(df)
    assert set(a["rating"].astype(str)) <= {"good", "needs-improvement", "poor"}


def test_csv_and_bad_lines(tmp_path):
    p = tmp_path / "rum.csv"
    p.write_text(
        "name,value,rating,page,timestamp\nLCP,2400,good,/,2024-01-01T00:00:00Z\n"
        "INP,N/A,poor,/,2024-01-01T00:00:00Z\nFID,50,good,/,1704067200000\n"
    )
    with pytest.raises(FormatError, match=r"rum.csv:3: 'value' is missing or not a number"):
        read_rum(p)
    with pytest.warns(SkippedRowsWarning):
        df = read_rum(p, on_bad_lines="warn")
    assert list(df["metric"]) == ["LCP", "FID"]
    assert df["value"].tolist() == [2.4, 0.05]
    assert assess(df).set_index("metric").loc["FID", "retired"]
