"""Fuzz targets for the load-test readers (Locust CSV/JSON/request log, JMeter CSV/XML, k6, Gatling).

Locust samples are real runs made here (data/samples/loadtests); JMeter, k6 and Gatling cannot run on this
machine, so their targets use the real files of the shared corpus (skipped when it is absent).
"""

from __future__ import annotations

from perfnb.io.gatling import read_gatling
from perfnb.io.jmeter import read_jmeter
from perfnb.io.k6 import read_k6_csv, read_k6_json, read_k6_summary
from perfnb.io.locust import read_locust, read_locust_json, read_locust_requests
from tests.conftest import CORPUS, SAMPLES
from tests.fuzz_targets._base import FuzzTarget

LT = SAMPLES / "loadtests"
C = CORPUS / "loadtests"

TARGETS = [
    FuzzTarget(
        format="locust_csv",
        reader=read_locust,
        samples=(LT / "step" / "run_stats.csv", LT / "steady" / "run_stats_history.csv"),
    ),
    FuzzTarget(
        format="locust_dir", reader=read_locust, samples=(LT / "slow" / "run_stats_history.csv",)
    ),
    FuzzTarget(
        format="locust_requests",
        reader=read_locust_requests,
        samples=(LT / "steady" / "requests.csv",),
    ),
    FuzzTarget(format="locust_json", reader=read_locust_json, samples=(LT / "step" / "run.json",)),
    FuzzTarget(
        format="jmeter_csv",
        reader=read_jmeter,
        samples=(
            C / "jmeter" / "apache_jmeter_HTMLReportTestFile.csv",
            C / "jmeter" / "defra_rcr_result_datefmt.jtl",
        ),
    ),
    FuzzTarget(
        format="jmeter_xml",
        reader=read_jmeter,
        samples=(C / "jmeter" / "apache_jmeter_sample_log1c_xml.jtl",),
    ),
    FuzzTarget(
        format="k6_csv",
        reader=read_k6_csv,
        samples=(C / "k6" / "finance_2024_csv_and_json" / "k6-results.csv",),
    ),
    FuzzTarget(
        format="k6_json",
        reader=read_k6_json,
        samples=(C / "k6" / "finance_2024_csv_and_json" / "k6-results.json",),
    ),
    FuzzTarget(
        format="k6_summary",
        reader=read_k6_summary,
        samples=(C / "k6" / "qr_code_generator_summary-export_custom_trendstats.json",),
    ),
    FuzzTarget(
        format="gatling_log",
        reader=read_gatling,
        samples=(
            C / "gatling" / "gatling_3.9.5_text_with_assertions_simulation.log",
            C / "gatling" / "gatling_3.14.3_binary" / "simulation.log",
        ),
    ),
]
