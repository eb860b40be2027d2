from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import pytest

import perfnb
from perfnb.errors import ConfigError, SchemaError
from perfnb.findings import (
    THRESHOLDS,
    Finding,
    Findings,
    Severity,
    Thresholds,
    load_thresholds,
    rule,
    rules,
)
from perfnb.schema import FINDINGS


def _f(code: str, sev: Severity, title: str = "t", **kw: object) -> Finding:
    return Finding(rule=code, name=f"rule-{code.lower()}", severity=sev, title=title, **kw)  # type: ignore[arg-type]


def test_severity_is_ordered_and_parses() -> None:
    assert Severity.info < Severity.warning < Severity.critical
    assert Severity.parse("WARNING") is Severity.warning
    with pytest.raises(ConfigError, match="unknown severity 'fatal'"):
        Severity.parse("fatal")


def test_findings_sorted_most_severe_first() -> None:
    fs = Findings(
        [_f("A1", Severity.info), _f("B1", Severity.critical), _f("C1", Severity.warning)]
    )
    assert [f.rule for f in fs] == ["B1", "C1", "A1"]
    assert fs.max_severity is Severity.critical
    assert Findings().max_severity is None
    assert len(fs.at_least("warning")) == 2
    assert fs.counts() == {"critical": 1, "warning": 1, "info": 1}


def test_to_frame_conforms() -> None:
    fs = Findings([_f("A1", Severity.warning, evidence={"p95_s": 1.2})])
    df = fs.to_frame()
    assert df.loc[0, "rule"] == "A1"
    assert df["severity"].cat.ordered
    assert list(df.columns) == FINDINGS.names
    empty = Findings().to_frame()
    assert len(empty) == 0


def test_json_round_trip_with_numpy_and_frames() -> None:
    import numpy as np

    ev = {
        "p95_s": np.float64(1.5),
        "n": np.int64(3),
        "nan": float("nan"),
        "table": pd.DataFrame({"a": [1, 2]}),
    }
    fs = Findings(
        [_f("A1", Severity.critical, evidence=ev, location="GET /x", recommendation="do y")]
    )
    data = json.loads(fs.to_json())
    assert data["max_severity"] == "critical"
    assert data["findings"][0]["evidence"] == {
        "p95_s": 1.5,
        "n": 3,
        "nan": None,
        "table": [{"a": 1}, {"a": 2}],
    }
    back = Findings.from_json(fs.to_json())
    assert back[0].severity is Severity.critical
    assert back[0].location == "GET /x"


def test_repr_html_escapes_untrusted_text() -> None:
    evil = '<script>alert(1)</script>"onmouseover="x'
    fs = Findings(
        [
            _f(
                "A1",
                Severity.critical,
                title=evil,
                location=evil,
                recommendation=evil,
                evidence={evil: evil},
            )
        ]
    )
    html = fs._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '"onmouseover="' not in html


def test_thresholds_defaults_follow_the_standard() -> None:
    th = Thresholds()
    assert th["apdex_min"] == 0.8
    assert th["p95_max_s"] == 1.0
    assert th["error_ratio_max"] == 0.05
    assert th["cache_hit_min_ratio"] == 0.8
    assert (th["cpu_warning_ratio"], th["cpu_critical_ratio"]) == (0.70, 0.85)
    assert th["memory_max_ratio"] == 0.8


def test_unknown_threshold_suggests_the_near_name() -> None:
    with pytest.raises(ConfigError, match="unknown threshold 'p95_max'; did you mean 'p95_max_s'"):
        Thresholds({"p95_max": 2})


def test_thresholds_file_toml_and_yaml(tmp_path) -> None:
    toml = tmp_path / "t.toml"
    toml.write_text("[thresholds]\np95_max_s = 0.8\n")
    assert load_thresholds(toml) == {"p95_max_s": 0.8}
    yml = tmp_path / "t.yaml"
    yml.write_text("apdex_min: 0.9\n")
    assert load_thresholds(yml) == {"apdex_min": 0.9}
    bad = tmp_path / "bad.yaml"
    bad.write_text("nonsense_threshold: 1\n")
    with pytest.raises(ConfigError, match="unknown threshold 'nonsense_threshold'"):
        load_thresholds(bad)


@dataclass
class _Thing:
    value_s: float


@rule(
    "ZZ901",
    "test-slow-thing",
    applies_to=_Thing,
    severity=Severity.warning,
    thresholds=("p95_max_s",),
)
def _slow_thing(r, thing: _Thing, th):
    """Test rule: a thing slower than the p95 objective."""
    if thing.value_s > th["p95_max_s"]:
        yield r.finding(title="slow thing", evidence={"value_s": thing.value_s})


def test_check_runs_applicable_rules_with_overrides(tmp_path) -> None:
    assert [f.rule for f in perfnb.check(_Thing(2.0))] == ["ZZ901"]
    assert len(perfnb.check(_Thing(2.0), p95_max_s=3.0)) == 0
    f = tmp_path / "th.toml"
    f.write_text("p95_max_s = 5\n")
    assert len(perfnb.check(_Thing(4.0), thresholds_file=f)) == 0
    assert len(perfnb.check(_Thing(2.0), ignore=["test-slow-thing"])) == 0
    repeated = perfnb.check([_Thing(2.0), _Thing(3.0)])
    assert len(repeated) == 1
    assert repeated[0].evidence["occurrences"] == 2
    assert repeated[0].title == "slow thing (×2)"
    assert len(perfnb.check([_Thing(2.0), _Thing(3.0)], collapse=False)) == 2
    with pytest.raises(ConfigError, match="unknown rule"):
        perfnb.check(_Thing(2.0), select=["NOPE"])


def test_check_on_an_unknown_object_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="no rule applies to a dict"):
        perfnb.check({})


def test_every_rule_is_documented_and_uses_declared_thresholds() -> None:
    codes = set()
    for r in rules():
        assert r.doc, f"{r.code} {r.name} has no docstring"
        assert r.code not in codes
        codes.add(r.code)
        for t in r.thresholds:
            assert t in THRESHOLDS
