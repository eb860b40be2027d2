"""Report folders, ``report.json`` and ``index.html`` under concurrency and kills (issue 19 point 7)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading

from perfnb.findings import Finding, Findings, Severity
from perfnb.report import files
from perfnb.report.index import read_reports, write_index
from perfnb.report.suite import unique_findings


def test_unique_folders_from_a_synchronized_start(tmp_path) -> None:
    now = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
    barrier = threading.Barrier(40)
    made, errors = [], []

    def make() -> None:
        barrier.wait()
        try:
            made.append(files.unique_folder(tmp_path / "r", now))
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=make) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({p.name for p in made}) == 40
    assert "20261203T090000Z" in {p.name for p in made}


def _report(
    folder, *, status="done", verdict="fail", pid=None, created="2026-12-03T09:00:00+00:00"
):
    folder.mkdir(parents=True)
    data = {
        "created": created,
        "status": status,
        "verdict": verdict,
        "counts": {"critical": 1, "warning": 0, "info": 2},
        "sources": {"profile": "/x/p.prof"},
        "notebooks": [
            {"notebook": "profile_hotspots", "verdict": verdict, "exit_code": 1, "html": "a/b.html"}
        ],
    }
    if pid is not None:
        data.update({"pid": pid, **{"host": files.owner()["host"]}})
    (folder / "report.json").write_text(json.dumps(data))


def test_index_lists_every_report_when_many_finish_at_once(tmp_path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    barrier = threading.Barrier(12)
    pages: list[str] = []

    def finish(i: int) -> None:
        _report(out / f"2026120{i % 9}T0900{i:02d}Z", created=f"2026-12-03T09:{i:02d}:00+00:00")
        barrier.wait()
        write_index(out)
        pages.append((out / "index.html").read_text())

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    index = (out / "index.html").read_text()
    assert index.count('<tr><td class="when">') == 12
    assert all(p.rstrip().endswith("</html>") for p in pages), "a reader saw half a page"
    assert not list(out.glob(".*.tmp")), "temporary files are cleaned up"
    # newest first
    first = index.index("09:11")
    assert first < index.index("09:00")


def test_a_killed_run_is_listed_as_interrupted(tmp_path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "reports"
    _report(out / "20261203T090000Z", status="running", pid=dead.pid)
    (out / "20261203T090000Z" / "profile_hotspots").mkdir()
    _report(
        out / "20261203T090100Z",
        status="running",
        pid=files.owner()["pid"],
        created="2026-12-03T09:01:00+00:00",
    )
    reports = {r["folder"]: r for r in read_reports(out)}
    assert reports["20261203T090000Z"]["status"] == "interrupted"
    assert reports["20261203T090000Z"]["left"] == ["profile_hotspots"]
    assert reports["20261203T090100Z"]["status"] == "running"  # this process is alive
    index = write_index(out).read_text()
    assert "v-interrupted" in index and "left: profile_hotspots" in index
    assert "v-running" in index


def test_index_counts_each_problem_once() -> None:
    def f(sev: Severity, loc: str) -> Finding:
        return Finding(
            rule="PG001",
            name="seq-scan-filter",
            severity=sev,
            title=f"t {loc}",
            location=loc,
            run="r",
        )

    domain = Findings([f(Severity.critical, "node 1"), f(Severity.warning, "node 2")])
    overall = Findings([f(Severity.critical, "node 1"), f(Severity.warning, "node 2")])
    assert unique_findings([domain, overall]).counts() == {"critical": 1, "warning": 1, "info": 0}


def test_a_report_killed_midway_is_listed_as_interrupted(tmp_path) -> None:
    """A real ``perfnb report`` killed (SIGKILL, with its kernels) while its notebooks run."""
    import os
    import signal
    import time

    import pytest

    from tests.conftest import ROOT

    out = tmp_path / "reports"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "perfnb",
            "report",
            "--profile",
            str(ROOT / "data/samples/profiles/cprofile_after.prof"),
            "-o",
            str(out),
        ],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not list(out.glob("*/*/*/run.json")):
            time.sleep(0.2)
        if proc.poll() is not None:
            pytest.skip("the report finished before it could be killed")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test started: perfnb and its kernels
        proc.wait()
    index = write_index(out).read_text()
    assert "v-interrupted" in index, index
    (report,) = read_reports(out)
    assert report["status"] == "interrupted" and report["left"]
    assert set(report["left"]) <= {"profile_hotspots", "performance_report"}
