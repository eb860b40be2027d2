from __future__ import annotations

import pandas as pd
import pytest

from perfnb.errors import SchemaError
from perfnb.schema import SCHEMAS, Column, Schema, assert_conforms, markdown_reference

DEMO = Schema(
    "demo",
    (
        Column("timestamp", "timestamp", doc="When."),
        Column("label", "category", doc="What."),
        Column("response_time_s", "float64", unit="s", doc="How long."),
        Column("calls", "Int64", doc="How often.", required=False),
        Column("text", "string", doc="Free text.", required=False),
    ),
    doc="A demo table.",
)


def test_conform_orders_casts_and_adds_optional_columns() -> None:
    df = pd.DataFrame(
        {
            "response_time_s": [1, 2],
            "label": ["a", "b"],
            "timestamp": ["2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"],
            "junk": [0, 0],
        },
        index=[5, 9],
    )
    out = DEMO.conform(df)
    assert list(out.columns) == ["timestamp", "label", "response_time_s", "calls", "text"]
    assert str(out["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(out["response_time_s"].dtype) == "float64"
    assert out["calls"].isna().all()
    assert_conforms(out, DEMO)


def test_naive_timestamps_are_taken_as_utc() -> None:
    df = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2026-01-01 12:00"]),
            "label": ["x"],
            "response_time_s": [0.1],
        }
    )
    out = DEMO.conform(df)
    assert out["timestamp"].iloc[0] == pd.Timestamp("2026-01-01 12:00", tz="UTC")


def test_missing_required_column_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match=r"table 'demo' lacks column\(s\) 'label'"):
        DEMO.conform(pd.DataFrame({"timestamp": [], "response_time_s": []}))


def test_uncastable_value_is_a_schema_error() -> None:
    df = pd.DataFrame({"timestamp": ["2026-01-01"], "label": ["a"], "response_time_s": ["slow"]})
    with pytest.raises(SchemaError, match="'response_time_s' cannot be cast to float64") as info:
        DEMO.conform(df)
    assert info.value.__cause__ is not None


def test_assert_conforms_catches_wrong_dtype() -> None:
    out = DEMO.conform(
        pd.DataFrame({"timestamp": ["2026-01-01"], "label": ["a"], "response_time_s": [1.0]})
    )
    out["response_time_s"] = out["response_time_s"].astype("int64")
    with pytest.raises(SchemaError, match="has dtype int64"):
        assert_conforms(out, DEMO)


def test_empty_frame_has_the_schema() -> None:
    assert_conforms(DEMO.empty(), DEMO)


def test_markdown_reference_lists_every_registered_table() -> None:
    text = markdown_reference()
    for name in SCHEMAS:
        assert f"#### `{name}`" in text


def test_readme_format_reference_is_generated_from_the_schemas() -> None:
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- schema-reference:begin -->", "<!-- schema-reference:end -->"
    assert begin in readme and end in readme, "README lacks the generated format reference markers"
    block = readme.split(begin, 1)[1].split(end, 1)[0].strip()
    assert block == markdown_reference().strip(), (
        "README's format reference is stale: run `.venv/bin/perfnb schemas --update-readme README.md`"
    )
