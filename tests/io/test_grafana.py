"""Grafana CSV reader: corpus exports, Grafana ≥ 7 download CSV, units, times, bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from perfnb.errors import AssumedUnitWarning, FormatError
from perfnb.io._common import sniff
from perfnb.io.grafana import read_grafana
from perfnb.io.prometheus import METRIC_SAMPLES
from perfnb.schema import assert_conforms

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "malformed" / "metrics"


def test_series_as_rows(corpus: Path) -> None:
    path = corpus / "metrics" / "grafana_csv" / "legacy_series_as_rows_semicolon.csv"
    assert sniff(path).name == "grafana_csv"
    df = read_grafana(path)
    assert_conforms(df, METRIC_SAMPLES)
    assert len(df) == 20234 - 0 and {"device", "hostname", "service"} <= set(df.columns)
    assert df["metric"].iloc[0] == "net.out_packets_sec.value"


def test_excel_sep_bom_stray_header(corpus: Path) -> None:
    df = read_grafana(
        corpus / "metrics" / "grafana_csv" / "legacy_columns_excel_sep_header_bom.csv"
    )
    assert df["metric"].nunique() == 4
    assert df["timestamp"].min() == pd.Timestamp("2019-01-15 12:10:00", tz="UTC") or len(df) > 1000
    assert df.attrs["perfnb"]["empty_cells_dropped"] > 0  # null cells are documented, not silent


def test_grafana7_download_csv(tmp_path: Path) -> None:
    # Exact output of Grafana's own download.test.ts (quoted header, CRLF, epoch ms, no trailing newline).
    p = tmp_path / "panel-data-2024-01-01 00_00_00.csv"
    p.write_text('"time","name","value"\r\n100,Åäö中文العربية,1', encoding="utf-8")
    with pytest.raises(FormatError, match="value is not a number"):
        read_grafana(p)  # a string column is not a metric
    p.write_text(
        '"Time","{__name__=""up"", instance=""a:9090""}"\r\n1704067200000,1\r\n1704067215000,0',
        encoding="utf-8",
    )
    assert sniff(p).name == "grafana_csv"
    df = read_grafana(p)
    assert df["metric"].tolist() == ["up", "up"] and df["instance"].iloc[0] == "a:9090"
    assert df["timestamp"].iloc[1] == pd.Timestamp("2024-01-01 00:00:15", tz="UTC")


def test_formatted_values_and_naive_times(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text(
        '"Time","p95"\r\n2024-01-01 00:00:00,45.2 ms\r\n2024-01-01 00:00:15,1.5 s', encoding="utf-8"
    )
    with pytest.warns(AssumedUnitWarning) as rec:
        df = read_grafana(p)
    assert len(rec) == 2  # naive times, display units
    assert df["value"].tolist() == pytest.approx([0.0452, 1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FormatError, match="carries a unit"):
            read_grafana(p, tz="Europe/Paris", strip_units=False)


def test_unknown_unit() -> None:
    with pytest.raises(FormatError, match=r"grafana_unknown_unit.csv:2: unknown unit 'furlongs'"):
        read_grafana(BAD / "grafana_unknown_unit.csv")
