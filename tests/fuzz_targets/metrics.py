"""Fuzz targets for the metrics readers (Prometheus API JSON, exposition, Grafana CSV, tidy metrics)."""

from __future__ import annotations

from pathlib import Path

from perfnb.io.grafana import read_grafana
from perfnb.io.prometheus import read_exposition, read_prometheus
from perfnb.io.tidy_metrics import read_tidy_metrics
from tests.fuzz_targets._base import FuzzTarget

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "metrics"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "metrics"

TARGETS = [
    FuzzTarget(
        format="prometheus_api",
        reader=read_prometheus,
        samples=(
            SAMPLES / "query_range_requests_total.json",
            SAMPLES / "query_range_p95_latency.json",
        ),
        suffix=".json",
    ),
    FuzzTarget(
        format="prometheus_exposition",
        reader=read_exposition,
        samples=(
            SAMPLES / "scrapes" / "target_scrape_after.prom",
            SAMPLES / "scrapes" / "prometheus_self_scrape.om.txt",
        ),
        suffix=".prom",
    ),
    FuzzTarget(
        format="grafana_csv",
        reader=read_grafana,
        samples=(CORPUS / "grafana_csv" / "legacy_columns_excel_sep_header_bom.csv",),
        suffix=".csv",
        kwargs={"tz": "UTC"},
    ),
    FuzzTarget(
        format="tidy_metrics",
        reader=read_tidy_metrics,
        samples=(SAMPLES / "other" / "tidy_cpu_memory.csv",),
        suffix=".csv",
    ),
]
