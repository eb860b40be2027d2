"""LT rules on real runs."""

from __future__ import annotations

from pathlib import Path

import perfnb
from perfnb.io.locust import read_locust
from tests.conftest import SAMPLES

LT = SAMPLES / "loadtests"


def test_step_run_has_a_knee_finding() -> None:
    f = perfnb.check(read_locust(LT / "step"))
    assert "LT006" in {x.rule for x in f}


def test_thresholds_are_overridable() -> None:
    lt = read_locust(LT / "steady")
    assert not perfnb.check(lt, select=["LT001"])
    assert perfnb.check(lt, select=["LT001"], p95_max_s=0.01)
    assert perfnb.check(lt, select=["LT003"], apdex_t_s=0.005)


def test_error_rules_on_failing_run(corpus: Path) -> None:
    lt = read_locust(corpus / "loadtests" / "locust" / "locust2_2026_bitcoin_api_429_failures")
    rules = {x.rule for x in perfnb.check(lt)}
    assert {"LT002", "LT005"} <= rules
    concentrated = perfnb.check(lt, select=["LT005"])[0]
    assert concentrated.location == "status=429"


def test_error_ratio_title_names_the_label() -> None:
    """LT002 on a real k6 run: /api/flaky fails ~20 %, the whole run 7 %; each title says which."""
    lt = perfnb.read_loadtest(LT / "k6_steady" / "run.json")
    found = {f.location: f.title for f in perfnb.check(lt, select=["LT002"])}
    assert set(found) == {"flaky", "Total"}
    assert found["flaky"].endswith("of requests failed on flaky")
    assert found["Total"].endswith("of requests failed")
