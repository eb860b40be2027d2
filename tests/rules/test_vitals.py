from __future__ import annotations

import perfnb
from perfnb.analysis.vitals import VitalsAssessment, assess, assess_crux
from perfnb.io.crux import read_crux
from perfnb.io.lighthouse import read_lighthouse
from perfnb.io.rum import read_rum
from tests.conftest import DATA

VITALS = DATA / "samples" / "vitals"


def test_lab_findings_name_the_planted_problems():
    findings = perfnb.check(read_lighthouse(VITALS), select=["WV001"])
    by_metric = {f.evidence["metric"]: f for f in findings}
    assert {"LCP", "CLS", "TBT"} <= set(by_metric)
    assert by_metric["LCP"].severity == perfnb.Severity.critical
    assert any(
        a.startswith("render-blocking-resources") for a in by_metric["FCP"].evidence["audits"]
    )
    assert any(
        "layout-shifts" in a or "unsized-images" in a for a in by_metric["CLS"].evidence["audits"]
    )
    assert any("unused-javascript" in a for a in by_metric["TBT"].evidence["audits"])
    # desktop and mobile are judged separately, each by its median run
    assert all("mobile" in f.title or "desktop" in f.title for f in findings)


def test_recomputed_scores_raise_no_mismatch():
    assert not perfnb.check(read_lighthouse(VITALS), select=["WV004"])


def test_field_findings(corpus):
    crux = read_crux(corpus / "metrics" / "crux" / "crux_history_api_url_desktop_github.json")
    findings = perfnb.check(VitalsAssessment(assess_crux(crux), "crux"))
    assert all(f.rule in ("WV010", "WV011") for f in findings)
    rum = perfnb.check(VitalsAssessment(assess(read_rum(VITALS / "rum.ndjson")), "rum"))
    assert [f.evidence["metric"] for f in rum] == ["INP"] * len(rum)
