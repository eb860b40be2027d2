"""What the tools judged, surfaced: k6 thresholds/checks, Gatling assertions, Locust exceptions (issue 15)."""

from __future__ import annotations

from pathlib import Path

import perfnb
from perfnb.analysis.verdicts import verdicts
from perfnb.io.gatling_assertions import decode_assertion
from tests.conftest import SAMPLES

LT = SAMPLES / "loadtests"
K6 = LT / "k6_steady"


def test_k6_summary_thresholds_and_checks_as_k6_judged() -> None:
    v = verdicts(perfnb.read_loadtest(K6 / "summary-export.json")).set_index("name")
    assert not v.loc["http_req_duration: p(95)<200", "passed"]
    assert not v.loc["http_req_failed: rate<0.01", "passed"]
    assert v.loc["http_req_duration: avg<1000", "passed"]
    assert v.loc["checks: rate>0.5", "passed"]
    assert v.loc["http_req_failed: rate<0.01", "observed"] == "rate=7.00%"
    assert not v.loc["flaky status 200", "passed"]
    assert v.loc["flaky status 200", "observed"].startswith("79 of 100 passed")
    assert set(v["judged_by"]) == {"k6"}


def test_k6_ndjson_thresholds_evaluated_like_k6() -> None:
    """The NDJSON holds the expressions only: perfnb's evaluation equals k6's verdicts (summary export)."""
    ours = verdicts(perfnb.read_loadtest(K6 / "run.json")).set_index("name")
    k6 = verdicts(perfnb.read_loadtest(K6 / "summary-export.json")).set_index("name")
    thresholds = k6[k6["kind"] == "threshold"].index
    assert len(thresholds) == 4
    for name in thresholds:
        assert bool(ours.loc[name, "passed"]) == bool(k6.loc[name, "passed"]), name
    assert (ours.loc[thresholds, "judged_by"] == "perfnb, from k6's samples").all()
    checks = k6[k6["kind"] == "check"].index
    assert (ours.loc[checks, "observed"] == k6.loc[checks, "observed"]).all()


def test_k6_findings() -> None:
    lt = perfnb.read_loadtest(K6 / "run.json")
    found = perfnb.check(lt, select=["LT008", "LT009"])
    titles = sorted(f.title for f in found)
    assert any("k6 threshold http_req_duration: p(95)<200 failed (p(95)=" in t for t in titles)
    assert any("http_req_failed: rate<0.01 failed" in t for t in titles)
    assert "check 'flaky status 200' failed: 79 of 100 passed (79%)" in titles
    assert {f.rule for f in found} == {"LT008", "LT009"}
    assert not perfnb.check(perfnb.read_loadtest(LT / "k6" / "run.json"), select=["LT008"])


def test_gatling_assertions_decoded_and_evaluated(corpus: Path) -> None:
    log = corpus / "loadtests" / "gatling" / "gatling_3.9.5_text_with_assertions_simulation.log"
    lt = perfnb.read_loadtest(log)
    texts = [a["text"] for a in lt.meta["assertions"]]
    assert texts == [
        "global.responseTime.percentile(95).lt(500)",
        "global.successfulRequests.percent.is(100)",
        "global.responseTime.mean.lt(300)",
    ]
    v = verdicts(lt)
    assert len(v) == 3 and v["passed"].all()
    assert not perfnb.check(lt, select=["LT008"])
    assert decode_assertion("not base64!")["decoded"] is False


def test_locust_exceptions_surface_with_the_locustfile_line() -> None:
    lt = perfnb.read_loadtest(LT / "stall" / "run")
    (exc,) = lt.meta["exceptions"]
    assert exc["count"] == 158 and exc["location"] == "locustfile.py:21 in report"
    (f,) = perfnb.check(lt, select=["LT007"])
    assert f.location == "locustfile.py:21 in report"
    assert f.title.startswith("the test script raised an exception 158 times: Tried to set status")


def test_error_chart_of_locust_json_run_is_not_empty() -> None:
    """Locust's --json output counts failures per entry but names no error: the chart shows the counts."""
    from perfnb.plot.latency import plot_errors

    lt = perfnb.read_loadtest(LT / "step" / "run.json")
    failures = int(lt.summary().set_index("label").loc["Total", "failures"])
    assert failures > 0
    assert int(lt.errors()["count"].sum()) == failures
    ax = plot_errors(lt)
    assert sum(p.get_width() for p in ax.patches) == failures


def test_k6_verdicts_on_the_stream_engine_agree() -> None:
    """The stream engine keeps checks (summed over partitions) and evaluates thresholds from its summary."""
    lazy = perfnb.read_loadtest(K6 / "run.json", engine="stream", chunk_bytes=50_000)
    assert lazy.meta["partitions"] > 5
    ours = verdicts(lazy).set_index("name")
    k6 = verdicts(perfnb.read_loadtest(K6 / "summary-export.json")).set_index("name")
    for name in k6.index:
        assert bool(ours.loc[name, "passed"]) == bool(k6.loc[name, "passed"]), name
    checks = k6[k6["kind"] == "check"].index
    assert (ours.loc[checks, "observed"] == k6.loc[checks, "observed"]).all()
