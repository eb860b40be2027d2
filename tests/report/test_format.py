"""One formatting helper for every table a report shows: units from column names, no NaN, ≤ 4 decimals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfnb.report.format import fmt_duration, fmt_value, style, to_html
from tests.report.visible import problems, visible_text


@pytest.mark.parametrize(
    ("value", "column", "expected"),
    [
        (0.0123, "p95_s", "12.3 ms"),
        (2.5, "duration_s", "2.5 s"),
        (4e-7, "self_time_s", "0.4 µs"),
        (1234.5, "total_time_s", "1,234 s"),
        (8_439_000, "size_bytes", "8.0 MiB"),
        (2048, "peak_memory_bytes", "2.0 KiB"),
        (0.1234, "self_ratio", "12.3 %"),
        (0.0000639, "self_ratio", "< 0.01 %"),
        (0.93, "performance_score", "93"),
        (1_234_567, "calls", "1,234,567"),
        (69.42, "throughput_per_s", "69.4/s"),
        (float("nan"), "p95_s", "—"),
        (None, "label", "—"),
        (pd.NA, "calls", "—"),
        (pd.NaT, "timestamp", "—"),
        (1.009790e-02, "value", "0.0101"),
        (0.000012345, "value", "< 0.0001"),
        (True, "retired", "yes"),
        (pd.Timestamp("2026-11-27 01:13:34.341", tz="UTC"), "timestamp", "2026-11-27 01:13:34 UTC"),
        ("2026-11-27T01:13:34.341000+00:00", "timestamp", "2026-11-27 01:13:34 UTC"),
        ({"p95_s": 0.5, "calls": 3}, "evidence", "p95: 500 ms, calls: 3"),
    ],
)
def test_fmt_value(value, column, expected) -> None:
    assert fmt_value(value, column) == expected


def test_durations_pick_their_unit() -> None:
    assert [fmt_duration(x) for x in (0, 0.00005, 0.5, 5.0, 500.0)] == [
        "0 s",
        "50 µs",
        "500 ms",
        "5 s",
        "500 s",
    ]


def test_styled_frame_has_no_raw_values(rng) -> None:
    df = pd.DataFrame(
        {
            "label": ["/a", "<script>alert(1)</script>", None],
            "p95_s": [0.123456789, np.nan, 1.5],
            "error_ratio": [0.0123456, 0.5, np.nan],
            "requests": pd.array([1200, None, 3], dtype="Int64"),
            "bytes_read_bytes": [1e9, 5e6, np.nan],
            "when": pd.to_datetime(["2026-01-01", None, "2026-01-02"], utc=True),
        }
    )
    html = to_html(df)
    assert problems(html) == []
    text = visible_text(html)
    assert "123 ms" in text and "1.23 %" in text and "1,200" in text and "953.7 MiB" in text
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "p95" in text and "p95_s" not in text  # the unit is in the value, not the header


def test_series_and_mappings_become_name_value_tables() -> None:
    text = visible_text(to_html(pd.Series({"hit_ratio": 0.5, "evictions": 3}, dtype="float64")))
    assert "dtype" not in text and "hit 50.0 %" in text and "evictions 3" in text
    text = visible_text(to_html({"kind": "redis", "used_memory_bytes": 2**20, "missing": None}))
    assert "1.0 MiB" in text and "—" in text and "None" not in text


def test_wide_tables_keep_the_columns_that_matter() -> None:
    cols = {f"extra_{i}": [1.0] for i in range(12)}
    df = pd.DataFrame({"label": ["x"], **cols, "p95_s": [0.2], "throughput_per_s": [3.0]})
    text = visible_text(to_html(df, max_columns=5))
    assert "p95" in text and "throughput" in text and "label" in text
    assert "more column(s) in the notebook" in text
    assert style(df).data.shape[1] <= 9


def test_severity_column_gets_badges() -> None:
    html = to_html(pd.DataFrame({"severity": ["critical", "info"], "title": ["a", "b"]}))
    assert 'class="perfnb-sev perfnb-sev-critical"' in html
