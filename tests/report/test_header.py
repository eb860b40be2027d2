"""The first screen of a report: verdict consistent with the exit code, top bottlenecks, grouped findings."""

from __future__ import annotations

import datetime as dt

import pytest

from perfnb.findings import Finding, Findings, Severity
from perfnb.report.header import Header, header_html, headings, verdict
from perfnb.report.html import findings_table, group_findings
from tests.report.visible import problems, visible_text


def _f(
    rule="PG001", sev=Severity.critical, loc="node 2: Seq Scan on orders — SELECT 1", run="a", **ev
):
    return Finding(
        rule=rule,
        name="seq-scan-filter",
        severity=sev,
        title=f"{rule} at {loc.split(' — ')[0]}",
        location=loc,
        evidence=ev or {"removed_ratio": 0.999, "self_time_s": 0.0167, "filter": "(a = 1)"},
        recommendation="CREATE INDEX ON orders (customer_email);",
        run=run,
    )


@pytest.mark.parametrize(
    ("severities", "fail_on", "expected"),
    [
        ([], "critical", "pass"),
        (["info"], "critical", "pass"),
        (["warning"], "critical", "warn"),
        (["critical"], "critical", "fail"),
        (["warning"], "warning", "fail"),
        (["info"], "info", "fail"),
    ],
)
def test_verdict_matches_the_exit_code(severities, fail_on, expected) -> None:
    findings = Findings([_f(sev=Severity.parse(s), loc=f"l{i}") for i, s in enumerate(severities)])
    level = Severity.parse(fail_on)
    assert verdict(findings, fail_on=level) == expected
    exits_1 = findings.max_severity is not None and findings.max_severity >= level
    assert (expected == "fail") == exits_1
    assert verdict(findings, fail_on=level, failed=True) == "error"


def test_header_states_verdict_and_top_bottleneck_with_location() -> None:
    findings = Findings(
        [
            _f(rule="MT001", loc="p95_latency_s", change_ratio=2.1),
            _f(),
            _f(run="b"),
            _f(rule="PR001", sev=Severity.warning, loc="checksum (shop.py:20)", self_ratio=0.5),
        ]
    )
    html = header_html(
        Header(
            title="Performance <b>report</b>",
            verdict="fail",
            findings=findings,
            fail_on=Severity.critical,
            exit_code=1,
            started=dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc),
            sources={"plan": "/home/me/secret/dir/postgresql.json"},
            window={"start": "2026-11-27T01:12:30+00:00", "end": "2026-11-27T01:13:51+00:00"},
            toc=headings(["## Load\n", "text\n## Findings, most severe first"]),
        )
    )
    text = visible_text(html)
    assert text.startswith("Performance <b>report</b> FAIL 2 critical · 1 warning")
    # a cause (the plan node) ranks before the symptom (the metric shift) of the same severity
    assert (
        "Top bottleneck: PG001 at node 2: Seq Scan on orders at node 2: Seq Scan on orders" in text
    )
    assert "status: ok" not in text
    assert "dir/postgresql.json" in text and "/home/me/secret" not in text
    assert "2026-11-27 01:12:30 UTC" in text
    assert 'href="#Findings,-most-severe-first"' in html
    assert text.count("what to do:") == 3  # three cards
    assert "(×2)" in text  # two runs of the same problem
    assert problems(html) == []


def test_findings_table_groups_repeats_and_formats_evidence() -> None:
    findings = Findings([_f(run=r) for r in "abc"] + [_f(rule="LT002", loc="/cart", run="a")])
    groups = group_findings(findings)
    assert [g.count for g in groups] == [3, 1]
    assert groups[0].runs == ["a", "b", "c"]
    html = findings_table(findings)
    text = visible_text(html)
    assert text.count("PG001 at node 2") == 1
    assert "×3" in text and "a, b, c" in text
    assert "SELECT 1" in text  # the plan column
    assert "removed: 99.9 %" in text and "self time: 16.7 ms" in text
    assert "{" not in text and problems(html) == []
    assert 'class="perfnb-sev perfnb-sev-critical"' in html


def test_findings_repr_html_in_jupyterlab_has_badges() -> None:
    html = Findings([_f(title_suffix="<script>x</script>")])._repr_html_()
    assert "perfnb-sev-critical" in html and "<script>x" not in html
