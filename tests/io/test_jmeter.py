"""JMeter JTL reader: JMeter's own expected dashboard statistics, XML, date strings, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import perfnb
from perfnb.analysis.latency import jmeter_statistics
from perfnb.errors import FormatError
from perfnb.io.jmeter import read_jmeter
from perfnb.io.loadtest import REQUESTS
from perfnb.schema import assert_conforms
from tests.conftest import ROOT

BAD = ROOT / "tests" / "fixtures" / "malformed" / "loadtests"


def test_reproduces_jmeter_statistics_json(corpus: Path) -> None:
    d = corpus / "loadtests" / "jmeter"
    lt = read_jmeter(d / "apache_jmeter_HTMLReportTestFile.csv")
    assert_conforms(lt.requests, REQUESTS)
    got = jmeter_statistics(lt)
    expected = json.loads((d / "apache_jmeter_HTMLReportExpect.statistics.json").read_text())
    assert set(got) == set(expected)
    for label, fields in expected.items():
        for key, value in fields.items():
            if key == "transaction":
                assert got[label][key] == value
            else:
                assert got[label][key] == pytest.approx(value, rel=1e-6), (label, key)


def test_date_strings_and_transaction_controllers(corpus: Path) -> None:
    lt = read_jmeter(
        corpus / "loadtests" / "jmeter" / "defra_rcr_result_datefmt.jtl", on_bad_lines="skip"
    )
    assert lt.requests is not None
    assert lt.requests["timestamp"].min() == pd.Timestamp("2019-12-05 12:37:24", tz="UTC")
    assert lt.requests["is_controller"].sum() > 0
    assert lt.requests.attrs["perfnb"]["skipped_rows"] == 1  # the run was killed mid-line
    s = lt.summary()
    total = s[s["label"] == "Total"].iloc[0]
    assert total["requests"] == int((~lt.requests["is_controller"]).sum())


def test_truncated_last_line_is_an_error_by_default(corpus: Path) -> None:
    with pytest.raises(FormatError, match=r"defra_rcr_result_datefmt.jtl:1127"):
        read_jmeter(corpus / "loadtests" / "jmeter" / "defra_rcr_result_datefmt.jtl")


def test_xml_jtl(corpus: Path) -> None:
    lt = perfnb.read_loadtest(
        corpus / "loadtests" / "jmeter" / "apache_jmeter_sample_log1c_xml.jtl"
    )
    assert lt.source == "jmeter"
    assert lt.requests is not None and len(lt.requests) == 2000
    assert set(lt.labels) == {"jakarta_home", "jmeter_home"}


def test_aggregated_columns_give_a_clear_error(corpus: Path) -> None:
    with pytest.raises(FormatError, match="elapsed"):
        read_jmeter(
            corpus / "loadtests" / "jmeter" / "apache_jmeter_BatchTestLocal_nondefault_cols.csv"
        )


def test_headerless_jtl_uses_default_columns() -> None:
    lt = read_jmeter(BAD / "jtl_headerless.csv")
    assert lt.requests is not None
    assert lt.requests["success"].tolist() == [True, False]
    assert lt.requests["response_time_s"].tolist() == [0.351, 0.192]


def test_bad_rows_error_warn_skip() -> None:
    with pytest.raises(FormatError, match=r"jtl_na_ragged.csv:3: column 'elapsed'"):
        read_jmeter(BAD / "jtl_na_ragged.csv")
    lt = read_jmeter(BAD / "jtl_na_ragged.csv", on_bad_lines="skip")
    assert lt.requests is not None and len(lt.requests) == 2
    assert lt.requests.attrs["perfnb"]["skipped_rows"] == 2


def test_mixed_timestamps_error() -> None:
    with pytest.raises(FormatError, match="mixed timestamp"):
        read_jmeter(BAD / "jtl_mixed_timestamps.csv")


def test_weibull_window_option(corpus: Path) -> None:
    lt = read_jmeter(corpus / "loadtests" / "jmeter" / "apache_jmeter_HTMLReportTestFile.csv")
    a = lt.summary(method="weibull", window=10)
    b = lt.summary(method="weibull")
    assert a["estimate"].iloc[0] == "exact:weibull:window=10"
    assert a["requests"].tolist() == b["requests"].tolist()


def test_tab_delimited_reduced_columns(tmp_path: Path) -> None:
    p = tmp_path / "kpi.jtl"
    p.write_text(
        "timeStamp\telapsed\tlabel\tresponseCode\tsuccess\n"
        "1551783627191\t351\tA\t200\ttrue\n1551783627291\t151\tB\t500\tfalse\n"
    )
    s = perfnb.read_loadtest(p).summary().set_index("label")
    assert s.loc["Total", "requests"] == 2 and s.loc["Total", "failures"] == 1
