"""Acceptance of issue 18: a real step across runs fails CI; noise does not.

The runs are derived from a real Locust run (see ``conftest.py``: windows of its requests, a day apart,
``/api/cart`` × 1.4 from the seventh night on), recorded the way CI records them.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from perfnb.cli import main
from perfnb.history import History, Measurement
from tests.history.conftest import SLOW_LABEL


def test_step_on_one_label_is_found_with_the_run_where_it_began(make_nights, tmp_path) -> None:
    nights = make_nights(11, 6)
    with History(tmp_path / "h.sqlite") as h:
        for i, night in enumerate(nights[:10]):
            h.record({"loadtest": str(night)}, system="shop", commit=f"c{i:02d}")
            assert not h.check(system="shop"), f"no finding before the step is established ({i})"
        h.record({"loadtest": str(nights[10])}, system="shop", commit="c10")
        found = h.check(system="shop")
    assert len(found) == 1
    f = found[0]
    assert (f.rule, f.name, f.severity.name) == ("HI001", "history-regression", "warning")
    assert f.evidence["subject"] == SLOW_LABEL and f.evidence["metric"] == "p95_s"
    assert f.evidence["step_run_id"] == 7 and f.evidence["step_commit"] == "c06"
    assert f.evidence["change_ratio"] == pytest.approx(0.4, abs=0.03)
    assert SLOW_LABEL in f.title and "run #7" in f.title and "p95" in f.title


@pytest.mark.notebook
def test_perfnb_report_on_the_eleventh_run_exits_1_under_fail_on_warning(
    make_nights, tmp_path, capsys
) -> None:
    nights = make_nights(11, 6)
    out = tmp_path / "reports"
    for night in nights[:10]:
        args = ["history", "add", "--loadtest", str(night), "-o", str(out), "--system", "shop"]
        assert main([*args, "--fail-on", "warning"]) == 0
    capsys.readouterr()
    report = ["report", "--loadtest", str(nights[10]), "-o", str(out), "--system", "shop"]
    code = main([*report, "--fail-on", "warning"])
    text = capsys.readouterr().out
    assert code == 1, text
    assert "history-regression" in text and SLOW_LABEL in text and "from run #7" in text
    folder = next(p.parent for p in out.glob("*/report.json"))
    summary = json.loads((folder / "report.json").read_text())
    assert summary["verdict"] == "fail" and summary["history"]["counts"]["warning"] == 1
    stored = json.loads((folder / "history_findings.json").read_text())
    assert stored["findings"][0]["evidence"]["step_run_id"] == 7
    index = (out / "index.html").read_text()
    assert "Trends across runs" in index and "<svg" in index and "p95_s /api/cart" in index
    assert main(["report", "--loadtest", str(nights[10]), "-o", str(out), "--no-history"]) == 0

    # backfilling another history from these report folders: one new run, then none
    capsys.readouterr()
    assert main(["history", "import", str(out), "-o", str(tmp_path / "copy")]) == 0
    assert (
        "2 folder(s), 1 new run(s)" in capsys.readouterr().out
    )  # the --no-history report = same data
    assert main(["history", "import", str(out), "-o", str(tmp_path / "copy")]) == 0
    assert "0 new run(s)" in capsys.readouterr().out

    # a report whose inputs were deleted is still imported: its findings counts and creation time
    shutil.rmtree(nights[10])
    assert main(["history", "import", str(out), "-o", str(tmp_path / "gone")]) == 0
    text = capsys.readouterr().out
    assert "sources gone: loadtest; findings only" in text and "2 new run(s)" in text


@pytest.mark.notebook
def test_perfnb_run_records_the_run_folder(make_nights, tmp_path, capsys) -> None:
    night = make_nights(1, 1)[0]
    out = tmp_path / "runs"
    args = ["run", "loadtest_report", "-p", "loadtest_path", str(night), "-o", str(out)]
    assert main([*args, "--system", "shop", "--env", "lab"]) == 0
    assert "history: run #1:" in capsys.readouterr().out
    with History(out / "history.sqlite") as h:
        runs = h.runs()
        m = h.measurements(subject="Total", metric="p95_s")
    assert runs[["system", "env"]].iloc[0].tolist() == ["shop", "lab"]
    assert runs["report"].iloc[0].startswith("loadtest_report/") and runs["report"].iloc[
        0
    ].endswith("loadtest_report.html")
    assert len(m) == 1


@pytest.mark.parametrize("seed", range(20))
def test_ten_runs_of_pure_noise_give_no_finding(tmp_path, seed) -> None:
    """±10 % uniform noise around fixed levels, recorded through the API: never a finding."""
    rng = np.random.default_rng(seed)
    base = {"p50_s": 0.023, "p95_s": 0.033, "p99_s": 0.046, "throughput_per_s": 13.5, "apdex": 0.98}
    units = {"throughput_per_s": "1/s", "apdex": "ratio"}
    with History(tmp_path / "h.sqlite") as h:
        for run in range(10):
            rows = [
                Measurement(
                    "loadtest", label, metric, v * rng.uniform(0.9, 1.1), units.get(metric, "s")
                )
                for label in ("/api/cart", "/api/items", "/api/search", "Total")
                for metric, v in base.items()
            ]
            h.record_measurements(rows, system="shop", started_at=f"2026-11-{run + 1:02d}T02:00Z")
        assert len(h.runs()) == 10
        assert not h.check(system="shop")


def test_threshold_override_silences_a_small_step(make_nights, tmp_path) -> None:
    nights = make_nights(11, 6)
    with History(tmp_path / "h.sqlite") as h:
        for night in nights:
            h.record({"loadtest": str(night)}, system="shop")
        assert h.check(system="shop")
        assert not h.check(system="shop", history_regression_min_ratio=0.5)
        assert not h.check(system="other")
