"""Recording: tidy measurements from real inputs, the same evidence twice is a no-op, concurrent writers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from perfnb.history import History
from perfnb.history.measure import hash_source, measure, read_source, start_time
from tests.conftest import ROOT, SAMPLES

DEMO = SAMPLES / "demo"


def test_load_test_measurements_are_the_summary_of_every_label(tmp_path) -> None:
    path = SAMPLES / "loadtests" / "steady"
    with History(tmp_path / "h.sqlite") as h:
        res = h.record({"loadtest": str(path)}, system="shop", env="lab", commit="abc123")
        m = h.measurements()
        runs = h.runs()
        src = h.sources(res.run_id)
    summary = read_source("loadtest", path).summary().set_index("label")
    assert res.created and res.measurements == len(m)
    lt = m[m["source"] == "loadtest"].set_index(["subject", "metric"])["value"]
    for label in ("/api/cart", "/api/items", "/api/search", "Total"):
        for metric in (
            "p50_s",
            "p90_s",
            "p95_s",
            "p99_s",
            "throughput_per_s",
            "error_ratio",
            "apdex",
        ):
            assert lt[(label, metric)] == pytest.approx(summary.loc[label, metric])
    first = read_source("loadtest", path).requests["timestamp"].min()
    assert runs["started_at"].iloc[0] == first.floor("us")  # the evidence's own start time
    assert runs[["system", "env", "commit_id"]].iloc[0].tolist() == ["shop", "lab", "abc123"]
    assert src["sha256"].iloc[0] == hash_source("loadtest", path).sha256
    assert set(m.columns) >= {"run_id", "source", "subject", "metric", "value", "unit"}


def test_every_kind_of_evidence_gives_its_key_numbers() -> None:
    expect = {
        "profile": ("profile", "total_s"),
        "plans": (
            "query:SELECT id, total, created_at FROM orders WHERE customer_email = $1",
            "mean_s",
        ),
        "statements": ("query:SELECT id, total, created_at FROM orders", "calls"),
        "metrics": ("metric:", "p95"),
        "lighthouse": ("page:", "performance_score"),
        "cache": ("cache:redis", "hit_ratio"),
        "rum": ("page:/rum.html", "LCP_p75"),
    }
    paths = {
        "profile": DEMO / "profile.pstats",
        "plans": DEMO / "postgresql.json",
        "statements": DEMO / "pg_stat_statements.csv",
        "metrics": DEMO / "prometheus",
        "lighthouse": DEMO / "lighthouse.json",
        "cache": DEMO / "redis_info.txt",
        "rum": SAMPLES / "vitals" / "rum.ndjson",
    }
    for kind, (subject, metric) in expect.items():
        rows = measure(kind, read_source(kind, paths[kind]))
        hits = [r for r in rows if r.subject.startswith(subject) and r.metric == metric]
        assert hits, (
            f"{kind}: no {subject}… {metric} in {[(r.subject, r.metric) for r in rows][:8]}"
        )
    cache = measure("cache", read_source("cache", paths["cache"]))
    assert next(r.value for r in cache if r.metric == "hit_ratio") == pytest.approx(557 / 2437)
    lh = read_source("lighthouse", paths["lighthouse"])
    assert start_time("lighthouse", lh) == pd.Timestamp("2026-11-27 01:13:58.166", tz="UTC")


def test_recording_the_same_evidence_twice_is_a_no_op(tmp_path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in (SAMPLES / "loadtests" / "steady").iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    with History(tmp_path / "h.sqlite") as h:
        first = h.record({"loadtest": str(SAMPLES / "loadtests" / "steady")}, system="shop")
        again = h.record({"loadtest": str(copy)}, system="shop")  # same content elsewhere
        other = h.record({"loadtest": str(copy)}, system="other")
        assert first.created and not again.created and again.run_id == first.run_id
        assert "already recorded" in str(again)
        assert other.created
        assert len(h.runs()) == 2


_WRITER = textwrap.dedent(
    """
    import sys
    from perfnb.history import History, Measurement
    who, n = sys.argv[2], int(sys.argv[3])
    with History(sys.argv[1]) as h:
        for i in range(n):
            rows = [Measurement("loadtest", f"/api/{k}", "p95_s", 0.01 * k + i, "s") for k in range(40)]
            h.record_measurements(rows, system="shop", key=f"{who}-{i}")
        if len(sys.argv) > 4:
            h.record({"loadtest": sys.argv[4]}, system="shop")
    """
)


def test_two_processes_recording_at_once_lose_nothing(tmp_path) -> None:
    path = tmp_path / "h.sqlite"
    History(path).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    steady = str(SAMPLES / "loadtests" / "steady")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), who, "25", steady],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for who in ("a", "b")
    ]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    with History(path) as h:
        runs = h.runs()
        m = h.measurements(source="loadtest", metric="p95_s")
    assert len(runs) == 2 * 25 + 1  # the shared real evidence was recorded once
    assert m["subject"].str.fullmatch(r"/api/\d+").sum() == 2 * 25 * 40
