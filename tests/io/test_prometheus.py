"""Prometheus API JSON and exposition readers: corpus conformance, samples, edge cases and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perfnb
from perfnb.analysis.promql import histogram_quantile
from perfnb.errors import FormatError
from perfnb.io._common import sniff
from perfnb.io.prometheus import METRIC_SAMPLES, parse_exposition, read_exposition, read_prometheus
from perfnb.schema import assert_conforms

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples" / "metrics"
BAD = ROOT / "tests" / "fixtures" / "malformed" / "metrics"


@pytest.mark.parametrize(
    ("name", "rows", "labels"),
    [
        ("query_range_matrix_3series.json", 774, {"instance", "job"}),
        ("query_range_matrix_nan_inf.json", 3, {"handler", "job"}),
        ("query_vector_native_histogram.json", 136, set()),
        ("range_result_list_up_20190728T1200.json", 6839, {"instance", "job", "monitor"}),
    ],
)
def test_corpus_api_files_load(corpus: Path, name: str, rows: int, labels: set[str]) -> None:
    path = corpus / "metrics" / "prometheus_api" / name
    assert sniff(path).name == "prometheus_api"
    df = perfnb.read(path)
    assert_conforms(df, METRIC_SAMPLES)
    assert len(df) == rows
    assert labels <= set(df.columns)


def test_special_values_and_ms_timestamps(corpus: Path) -> None:
    df = read_prometheus(corpus / "metrics" / "prometheus_api" / "query_range_matrix_nan_inf.json")
    v = df["value"].to_numpy()
    assert np.isnan(v).sum() == 1 and np.isposinf(v).sum() == 1 and np.isneginf(v).sum() == 1
    df = read_prometheus(corpus / "metrics" / "prometheus_api" / "query_range_matrix_3series.json")
    assert df["timestamp"].iloc[0] == pd.Timestamp(
        "2025-02-23 19:20:24.615", tz="UTC"
    )  # no float error


def test_native_histogram(corpus: Path) -> None:
    df = read_prometheus(
        corpus / "metrics" / "prometheus_api" / "query_vector_native_histogram.json"
    )
    b = df[df["metric"] == "_bucket"]
    c = df[df["metric"] == "_count"]["value"].iloc[0]
    assert len(b) == 134 and b["value"].sum() == pytest.approx(c)
    assert set(b["boundary_rule"].dropna().unique()) <= {0, 1, 2, 3}
    assert (b["upper"] >= b["lower"]).all()


def test_corpus_exposition(corpus: Path) -> None:
    df = read_exposition(
        corpus / "metrics" / "exposition" / "prom_text_0.0.4_alltypes_237mfs.prom.txt"
    )
    assert df["metric"].nunique() > 237  # families expand to _bucket/_sum/_count
    assert len(df.attrs["perfnb"]["types"]) == 237
    assert df["value"].isna().any()  # NaN summary quantiles kept
    om = read_exposition(
        corpus / "metrics" / "exposition" / "openmetrics_alltypes_5mfs_exemplars.om.txt"
    )
    ex = om.attrs["perfnb"]["exemplars"]
    assert ex and all("exemplar" in e for e in ex)
    assert (om["le"].dropna().astype(str).str.startswith("-")).any()  # negative le kept


def test_escaped_labels_and_timestamps() -> None:
    text = 'm{path="C:\\\\dir",msg="say \\"hi\\"\\n"} 1 1700000000000\nm{path="x"} +Inf\n'
    s = parse_exposition(text)
    assert s.labels[0] == {"path": "C:\\dir", "msg": 'say "hi"\n'}
    assert s.ts[0] == 1_700_000_000.0 and math.isinf(s.values[1])


def test_openmetrics_seconds_timestamps() -> None:
    s = parse_exposition('# TYPE a counter\na_total 1 1700000000.5 # {t="x"} 2\n# EOF\n')
    assert s.ts == [1700000000.5] and s.exemplars[0]["exemplar"] == {"t": "x"}


def test_several_scrapes_make_a_series() -> None:
    df = read_exposition(
        [
            SAMPLES / "scrapes" / "target_scrape_before.prom",
            SAMPLES / "scrapes" / "target_scrape_after.prom",
        ],
        run="r",
    )
    req = df[
        (df["metric"] == "http_requests_total") & (df["backend"] == "a") & (df["code"] == "200")
    ]
    assert len(req) == 2 and req["value"].is_monotonic_increasing
    assert_conforms(df, METRIC_SAMPLES)


def test_label_collision_renamed() -> None:
    body = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": {"__name__": "x", "value": "v", "run": "r"}, "value": [1, "2"]}],
        },
    }
    df = perfnb.io.prometheus.parse_api_response(body)
    assert (
        df["label_value"].iloc[0] == "v"
        and df["label_run"].iloc[0] == "r"
        and df["value"].iloc[0] == 2
    )


def test_samples_from_real_prometheus() -> None:
    df = read_prometheus(SAMPLES / "query_range_latency_buckets.json")
    assert {"le", "backend", "instance", "job"} <= set(df.columns)
    last = df[df["timestamp"] == df["timestamp"].max()]
    q = histogram_quantile(0.5, last)
    assert len(q) == 2 and q["value"].between(0.01, 5).all()
    assert (
        sniff(SAMPLES / "scrapes" / "prometheus_self_scrape.prom").name == "prometheus_exposition"
    )
    assert len(read_exposition(SAMPLES / "scrapes" / "prometheus_self_scrape.om.txt")) > 100


def test_status_error_body() -> None:
    with pytest.raises(
        FormatError,
        match=r"error_bad_data.json: key \$.status: Prometheus returned an error: "
        r"bad_data: 1:5: parse error",
    ):
        read_prometheus(SAMPLES / "other" / "error_bad_data.json")


def test_truncated_json() -> None:
    with pytest.raises(FormatError, match=r"truncated_query_range.json:1: not valid JSON") as e:
        read_prometheus(BAD / "truncated_query_range.json")
    assert e.value.__cause__ is not None


def test_bad_value() -> None:
    with pytest.raises(FormatError, match=r"values\[0\] is 'abc'"):
        read_prometheus(BAD / "bad_value.json")


def test_malformed_scrape_line() -> None:
    with pytest.raises(FormatError, match=r"scrape_bad_line.prom:3: malformed sample line"):
        read_exposition(BAD / "scrape_bad_line.prom")
    df = read_exposition(BAD / "scrape_bad_line.prom", on_bad_lines="skip")
    assert len(df) == 2 and df.attrs["perfnb"]["skipped_lines"] == [3]


def test_histogram_without_inf_is_nan() -> None:
    df = read_exposition(BAD / "histogram_no_inf.prom")
    assert math.isnan(histogram_quantile(0.5, df)["value"].iloc[0])


def test_read_metrics_folder_and_kinds(tmp_path: Path) -> None:
    m = perfnb.read_metrics(SAMPLES)
    assert isinstance(m, perfnb.Metrics) and len(m.metrics) >= 4
    assert m.frame.attrs["perfnb"]["skipped_files"] == ["README.md", "alert_rules.toml"]
    tidy = perfnb.read_metrics(SAMPLES / "other" / "tidy_cpu_memory.csv")
    assert set(tidy.metrics) == {"process_cpu_ratio", "memory_used_ratio"}
    with pytest.raises(perfnb.errors.InputError, match="no metrics files"):
        perfnb.read_metrics(tmp_path)


def test_folder_whose_files_have_different_labels() -> None:
    # the healthy demo's exports: a label present in one query's result is absent (NaN) in another's,
    # which gave categories of different dtypes and a bare TypeError from pandas
    from tests.conftest import SAMPLES

    m = perfnb.read_metrics(SAMPLES / "demo-healthy" / "prometheus")
    assert len(m.frame) > 0
    assert "endpoint" in m.frame.columns


def test_fast_matrix_path_equals_the_general_path(tmp_path: Path) -> None:
    # issue 20.3: query_range matrices are parsed from the bytes without per-sample objects; the frame
    # must equal the general json path's, whitespace, NaN/±Inf and label gaps included
    import json as _json

    from perfnb.io import prometheus as prom

    files = sorted(SAMPLES.glob("*.json")) + sorted(
        (SAMPLES.parent / "demo" / "prometheus").glob("*.json")
    )
    fast_seen = 0
    for f in files:
        raw = f.read_bytes()
        fast = prom._fast_matrix(raw, source="prometheus", run="r")
        if fast is None:
            continue
        fast_seen += 1
        slow = prom.parse_api_response(_json.loads(raw), source="prometheus", run="r")
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
        assert fast.attrs == slow.attrs
    assert fast_seen >= 10
    body = {
        "status": "success",
        "warnings": ["w"],
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": {"__name__": "x", "a": "1"}, "values": [[1.5, "NaN"], [2, "+Inf"]]},
                {"metric": {"__name__": "x"}, "values": []},
                {"values": [[3.25, "-Inf"], [4.001, "1e-7"]], "metric": {"b": "2"}},
            ],
        },
    }
    raw = _json.dumps(body, indent=2).encode()
    fast = prom._fast_matrix(raw, source="prometheus", run="r")
    assert fast is not None and len(fast) == 4
    slow = prom.parse_api_response(body, source="prometheus", run="r")
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert fast.attrs == slow.attrs
    # a value numpy cannot read goes to the general path, which names the key
    bad = raw.replace(b'"1e-7"', b'"one"')
    assert prom._fast_matrix(bad, source="prometheus", run="r") is None
    (tmp_path / "bad.json").write_bytes(bad)
    with pytest.raises(FormatError, match=r"values"):
        read_prometheus(tmp_path / "bad.json")
