from __future__ import annotations

import json

import pytest

from perfnb import read
from perfnb.analysis.vitals import metric_score
from perfnb.errors import EmptyInputError, FormatError
from perfnb.io.lighthouse import (
    LIGHTHOUSE_AUDITS,
    LIGHTHOUSE_METRICS,
    LIGHTHOUSE_RUNS,
    LighthouseReport,
    read_lighthouse,
)
from perfnb.schema import assert_conforms
from tests.conftest import DATA

VITALS = DATA / "samples" / "vitals"
REPORTS = sorted(VITALS.glob("lhr_*.json"))


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.name)
def test_recomputed_score_equals_report(path):
    rep = read_lighthouse(path)
    assert_conforms(rep.runs, LIGHTHOUSE_RUNS)
    assert_conforms(rep.metrics, LIGHTHOUSE_METRICS)
    assert_conforms(rep.audits, LIGHTHOUSE_AUDITS)
    assert rep.runs["performance_score"].iloc[0] == rep.runs["score_recomputed"].iloc[0]
    for m in rep.metrics[rep.metrics["weight"] > 0].itertuples():
        scale = 1000 if m.unit == "s" else 1
        assert metric_score(m.value * scale, p10=m.p10 * scale, median=m.median * scale) == m.score


def test_several_runs_and_planted_problems():
    rep = read_lighthouse(VITALS)
    assert len(rep) == 4
    assert set(rep.runs["form_factor"]) == {"mobile", "desktop"}
    assert rep.median_runs()
    audits = set(rep.audits["audit"])
    assert {"render-blocking-resources", "unused-javascript"} <= audits
    cls = rep.metrics[(rep.metrics["metric"] == "CLS") & (rep.runs["form_factor"].iloc[0] == "x")]
    assert cls.empty
    assert (rep.metrics.loc[rep.metrics["metric"] == "LCP", "unit"] == "s").all()


def test_corpus_sample_v2(corpus):
    rep = read_lighthouse(corpus / "metrics" / "lighthouse" / "lhr_13.4.1_sample_v2.json")
    assert rep.runs["performance_score"].iloc[0] == 0.32
    assert rep.runs["score_recomputed"].iloc[0] == 0.32
    lcp = rep.metrics.set_index("metric").loc["LCP"]
    assert lcp["value"] == pytest.approx(10.884681)


def test_sniffed():
    assert isinstance(read(REPORTS[0]), LighthouseReport)


def _lhr(tmp_path, mutate):
    doc = json.loads(REPORTS[0].read_text())
    mutate(doc)
    p = tmp_path / "lhr.json"
    p.write_text(json.dumps(doc))
    return p


def test_runtime_error(tmp_path):
    def failed(doc):
        doc["runtimeError"] = {"code": "NO_FCP", "message": "The page did not paint any content."}
        doc["categories"]["performance"]["score"] = None
        for a in doc["audits"].values():
            a.pop("numericValue", None)
            a["score"] = None

    with pytest.raises(
        EmptyInputError,
        match=r"lhr.json: key \$.runtimeError: every Lighthouse run failed \(NO_FCP",
    ):
        read_lighthouse(_lhr(tmp_path, failed))


def test_audit_without_numeric_value_keeps_run(tmp_path):
    rep = read_lighthouse(
        _lhr(tmp_path, lambda d: d["audits"]["largest-contentful-paint"].pop("numericValue"))
    )
    assert rep.runs["score_recomputed"].isna().all()
    assert rep.runs["performance_score"].notna().all()


def test_truncated(tmp_path):
    p = tmp_path / "lhr.json"
    p.write_text(REPORTS[0].read_text()[:500])
    with pytest.raises(FormatError, match=r"lhr.json:\d+: invalid JSON"):
        read_lighthouse(p)


def test_not_lighthouse(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"a": 1}')
    with pytest.raises(FormatError, match=r"key \$.lighthouseVersion: not a Lighthouse report"):
        read_lighthouse(p)
