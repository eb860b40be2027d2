"""scan_metrics: partitioned reading of long metric histories, identical with every engine.

The histories are built in tmp_path from the real Prometheus responses in data/samples/metrics (and the
shared corpus' real Grafana export): split into pieces, or replicated with shifted timestamps.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import perfnb
from perfnb.analysis.metric_buckets import AGGS, MetricBuckets, downsample, parse_freq
from perfnb.errors import EmptyInputError, FormatError, InputError
from perfnb.io.metrics_scan import file_run, scan_buckets, scan_metrics
from tests.conftest import MALFORMED, SAMPLES

METRICS = SAMPLES / "metrics"
RANGES = sorted(METRICS.glob("query_range_*.json"))
ENGINES = ("pandas", "stream", "dask")


def _split(src: Path, dst: Path, cuts: tuple[float, ...], *, overlap: int = 0) -> list[Path]:
    """Write *src* (a query_range body) as pieces ``<stem>_NNN.json`` cut at the given fractions."""
    doc = json.loads(src.read_text())
    result = doc["data"]["result"]
    bounds = [0.0, *cuts, 1.0]
    out = []
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        piece = []
        for series in result:
            n = len(series["values"])
            a, b = int(lo * n), min(int(hi * n) + (overlap if hi < 1 else 0), n)
            piece.append({"metric": series["metric"], "values": series["values"][a:b]})
        body = {"status": "success", "data": {"resultType": "matrix", "result": piece}}
        path = dst / f"{src.stem}_{i:03d}.json"
        path.write_text(json.dumps(body))
        out.append(path)
    return out


def _shifted(src: Path, dst: Path, copies: int, span_s: float = 100.0) -> None:
    """*copies* files ``<stem>_NNN.json``, each *src* shifted by ``NNN × span_s`` seconds."""
    doc = json.loads(src.read_text())
    for i in range(copies):
        result = [
            {
                "metric": s["metric"],
                "values": [[round(t + i * span_s, 3), v] for t, v in s["values"]],
            }
            for s in doc["data"]["result"]
        ]
        body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        (dst / f"{src.stem}_{i:03d}.json").write_text(json.dumps(body))


def _equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True, check_categorical=True)
    for c in a.columns:
        if isinstance(a[c].dtype, pd.CategoricalDtype):
            assert list(a[c].cat.categories) == list(b[c].cat.categories), c


@pytest.fixture(scope="module")
def dask_client(dask_client: Any) -> Any:
    """The session's LocalCluster, its workers warmed up (perfnb imported) outside the timed tests."""
    dask_client.run(__import__, "perfnb.io.metrics_scan")
    return dask_client


@pytest.fixture(scope="module")
def split_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real query_range sample cut in 3 uneven pieces (buckets straddle the cuts)."""
    dst = tmp_path_factory.mktemp("split")
    for src in RANGES:
        _split(src, dst, (0.37, 0.71))
    return dst


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 50-minute history: the CPU, memory, request counter and bucket samples 30 times, shifted."""
    dst = tmp_path_factory.mktemp("history")
    for name in ("cpu", "memory", "requests_total", "latency_buckets"):
        _shifted(METRICS / f"query_range_{name}.json", dst, 30)
    return dst


# ----------------------------------------------------------------------------------------- engines


@pytest.mark.parametrize("agg", AGGS)
def test_engines_identical_on_split_samples(
    split_samples: Path, dask_client: Any, agg: str
) -> None:
    frames = {
        e: scan_metrics(split_samples, freq="10s", agg=agg, engine=e, client=dask_client).frame  # type: ignore[arg-type]
        for e in ENGINES
    }
    _equal(frames["stream"], frames["pandas"])
    _equal(frames["dask"], frames["pandas"])
    # cutting the files changes nothing: the same as scanning the unsplit originals (run = stem)
    _equal(frames["stream"], scan_metrics(RANGES, freq="10s", agg=agg).frame)  # type: ignore[arg-type]


def test_engines_identical_on_long_history(long_history: Path, dask_client: Any) -> None:
    scans = {
        e: scan_buckets(long_history, freq="1min", engine=e, client=dask_client) for e in ENGINES
    }
    assert scans["stream"].files == 120
    agg = {e: s.aggregates() for e, s in scans.items()}
    _equal(agg["stream"], agg["pandas"])
    _equal(agg["dask"], agg["pandas"])
    m = scans["dask"].to_metrics()
    assert m.run == "" and m.source == "prometheus_api"
    assert m.frame["timestamp"].dt.second.eq(0).all()
    assert m.frame["run"].cat.categories.tolist() == [
        "query_range_cpu",
        "query_range_latency_buckets",
        "query_range_memory",
        "query_range_requests_total",
    ]
    # 30 × 100 s from :20.794 → 51 one-minute buckets per series
    assert m.frame.groupby("metric", observed=True)["timestamp"].nunique().eq(51).all()
    # the existing analyses run unchanged on the downsampled history
    findings = perfnb.check(m)
    assert {"MT005", "MT006"} <= {f.rule for f in findings}
    cpu = m.select("process_cpu_ratio").set_index("timestamp")["value"]
    assert isinstance(perfnb.change_points(cpu), pd.DataFrame)


def test_values_equal_naive_pandas(long_history: Path) -> None:
    raw = perfnb.read_metrics(sorted(long_history.glob("query_range_cpu_*.json")), run="cpu").frame
    got = {
        a: scan_metrics(
            long_history / "query_range_cpu_*.json", freq="1min", agg=a, run="cpu"
        ).frame.set_index("timestamp")["value"]
        for a in ("mean", "sum", "min", "max", "last", "count")
    }
    g = raw.set_index("timestamp")["value"].groupby(pd.Grouper(freq="1min"))
    for a in ("min", "max", "last", "count"):
        ref = getattr(g, a)()
        pd.testing.assert_series_equal(
            got[a], ref.astype("float64"), check_names=False, check_freq=False
        )
    # sum and mean are the correctly rounded exact values (naive float sums differ in the last bits)
    for ts, values in g:
        exact = sum(Fraction(v) for v in values)
        assert got["sum"].loc[pd.Timestamp(ts)] == float(exact) == math.fsum(values)  # type: ignore[arg-type]
        assert got["mean"].loc[pd.Timestamp(ts)] == float(exact / len(values))  # type: ignore[arg-type]
    np.testing.assert_allclose(got["mean"], g.mean(), rtol=1e-15)


def test_auto_keeps_last_for_counters_and_mean_for_gauges(split_samples: Path) -> None:
    auto = scan_metrics(split_samples, freq="10s").frame
    last = scan_metrics(split_samples, freq="10s", agg="last").frame
    mean = scan_metrics(split_samples, freq="10s", agg="mean").frame
    counter = auto["metric"].astype(str).str.endswith(("_total", "_bucket"))
    assert counter.any() and (~counter).any()
    assert auto["value"][counter].equals(last["value"][counter])
    assert auto["value"][~counter].equals(mean["value"][~counter])


def test_overlapping_pieces_keep_min_max_last(tmp_path: Path) -> None:
    src = METRICS / "query_range_backend_p95.json"
    _split(src, tmp_path, (0.5,), overlap=7)
    whole = scan_buckets(src, freq="10s", run="p95").aggregates()
    pieces = scan_buckets(tmp_path, freq="10s", run="p95").aggregates()
    for c in ("timestamp", "min", "max", "last", "last_timestamp"):
        assert pieces[c].equals(whole[c]), c
    # the 7 shared samples per series are counted twice (documented)
    assert int(pieces["count"].sum() - whole["count"].sum()) == 7 * 2


def test_exact_sums_any_split_any_order(rng: np.random.Generator) -> None:
    base = perfnb.read_prometheus(METRICS / "query_range_cpu.json")
    values = np.concatenate(
        [
            rng.normal(0, 1, 40) * 10.0 ** rng.integers(-300, 300, 40),
            [1e308, 1e308, -1e308, 5e-324, -5e-324, 1e16, 1.0, -1e16, 0.0, -0.0],
        ]
    )
    rng.shuffle(values)
    frame = base.iloc[: len(values)].assign(value=values[: len(base)])
    frame = frame.assign(timestamp=frame["timestamp"].iloc[0])  # one bucket
    whole = downsample(frame, freq="1h").aggregates()
    exact = sum(Fraction(v) for v in frame["value"])
    try:
        expected_sum = float(exact)
    except OverflowError:
        expected_sum = math.inf if exact > 0 else -math.inf
    assert whole["sum"].iloc[0] == expected_sum
    assert whole["mean"].iloc[0] == float(exact / len(frame))
    for _ in range(5):
        cuts = np.sort(rng.choice(np.arange(1, len(frame)), 3, replace=False))
        bounds = [0, *cuts.tolist(), len(frame)]
        parts = [downsample(frame.iloc[a:b], freq="1h") for a, b in itertools.pairwise(bounds)]
        order = rng.permutation(len(parts))
        merged = parts[order[0]]
        for i in order[1:]:
            merged = merged.merge(parts[i])
        _equal(merged.aggregates(), whole)


def test_infinities_and_nan(tmp_path: Path) -> None:
    base = perfnb.read_prometheus(METRICS / "query_range_cpu.json").iloc[:6]
    frame = base.assign(value=[1.0, np.nan, np.inf, 2.0, np.nan, 3.0])  # 6 s: one 1-hour bucket
    row = downsample(frame, freq="1h").aggregates().iloc[0]
    assert (row["count"], row["sum"], row["mean"], row["min"], row["max"]) == (
        4,
        np.inf,
        np.inf,
        1.0,
        np.inf,
    )
    assert row["last"] == 3.0
    only_nan = downsample(frame.assign(value=np.nan), freq="1h").aggregates().iloc[0]
    assert (
        only_nan["count"] == 0
        and np.isnan(only_nan[["sum", "mean", "min", "max", "last"]].astype(float)).all()
    )


def test_grafana_csv_pieces(corpus: Path, tmp_path: Path, dask_client: Any) -> None:
    src = corpus / "metrics" / "grafana_csv" / "legacy_series_as_rows_semicolon.csv"
    header, *rows = src.read_text().splitlines()
    for i, chunk in enumerate(np.array_split(np.array(rows, dtype=object), 4)):
        (tmp_path / f"{src.stem}_{i}.csv").write_text("\n".join([header, *chunk]) + "\n")
    whole = scan_metrics(src, freq="5min").frame
    for engine in ENGINES:
        m = scan_metrics(tmp_path, freq="5min", engine=engine, client=dask_client)
        assert m.source == "grafana_csv"
        _equal(m.frame, whole)


def test_exposition_scrapes_and_tidy_csv(tmp_path: Path, dask_client: Any) -> None:
    for f in ("scrapes/target_scrape_before.prom", "scrapes/target_scrape_after.prom"):
        shutil.copy(METRICS / f, tmp_path)
    shutil.copy(METRICS / "other" / "tidy_cpu_memory.csv", tmp_path)
    frames = [
        scan_metrics([tmp_path], freq="1min", engine=e, client=dask_client).frame for e in ENGINES
    ]
    _equal(frames[1], frames[0])
    _equal(frames[2], frames[0])
    assert set(frames[0]["source"]) == {"prometheus", "tidy"}


def test_dask_uses_the_current_client(split_samples: Path, dask_client: Any) -> None:
    assert dask_client is not None
    m = scan_metrics(split_samples, freq="30s", engine="dask")
    _equal(m.frame, scan_metrics(split_samples, freq="30s").frame)


def test_progress_bar(split_samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scan_metrics(split_samples, freq="1min", progress=True)
    assert "metrics" in capsys.readouterr().err


def test_attrs_and_memory(split_samples: Path) -> None:
    b = scan_buckets(split_samples, freq="1min")
    assert b.files == 3 * len(RANGES) and 0 < b.nbytes < 200_000
    m = b.to_metrics("max", run="x")
    assert m.run == "x" and m.window == "1min"
    scan = m.frame.attrs["perfnb"]["scan"]
    assert scan["freq"] == "1min" and scan["agg"] == "max" and scan["files"] == b.files
    assert scan_buckets(split_samples, freq="5min").to_metrics().window == "5min"


# ----------------------------------------------------------------------------------------- input


@pytest.mark.parametrize(
    ("freq", "ns"),
    [
        ("1min", 60e9),
        ("5m", 300e9),
        ("1h30m", 5400e9),
        ("15s", 15e9),
        ("1D", 86400e9),
        ("1d", 86400e9),
        ("1w", 7 * 86400e9),
        ("250ms", 0.25e9),
        ("1min5s", 65e9),
        (pd.Timedelta("2min"), 120e9),
    ],
    ids=str,
)
def test_parse_freq(freq: Any, ns: float) -> None:
    assert parse_freq(freq) == int(ns)


@pytest.mark.parametrize(
    "freq", ["abc", "", "0s", "-1min", "1MS", "W", "2W", "5 parsecs", 60, None]
)
def test_bad_freq(freq: Any, split_samples: Path) -> None:
    with pytest.raises(InputError, match="freq") as info:
        scan_metrics(split_samples, freq=freq)
    assert info.value.key == "freq"


def test_merging_different_freq() -> None:
    df = perfnb.read_prometheus(METRICS / "query_range_cpu.json")
    with pytest.raises(
        InputError, match=r"key freq: cannot merge metric buckets of different widths"
    ):
        downsample(df, freq="1min").merge(downsample(df, freq="2min"))


def test_folder_without_metrics(tmp_path: Path) -> None:
    with pytest.raises(EmptyInputError, match=r": no metrics files; expected Prometheus"):
        scan_metrics(tmp_path)
    shutil.copy(METRICS / "README.md", tmp_path)
    shutil.copy(METRICS / "alert_rules.toml", tmp_path)
    with pytest.raises(EmptyInputError, match=r"found only: README.md, alert_rules.toml"):
        scan_metrics(tmp_path)
    with pytest.raises(EmptyInputError, match=r"no file matches '.*\*\.json'"):
        scan_metrics(tmp_path / "*.json")
    with pytest.raises(InputError, match="no such file or directory"):
        scan_metrics(tmp_path / "missing.json")
    with pytest.raises(InputError, match="no paths given"):
        scan_metrics([])


def test_explicit_file_of_another_kind() -> None:
    jtl = next((SAMPLES / "loadtests").rglob("*.jtl"), None) or next(
        (SAMPLES / "loadtests").rglob("*.csv")
    )
    with pytest.raises(InputError, match=r"file, not metrics"):
        scan_metrics([RANGES[0], jtl])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            MALFORMED / "metrics" / "truncated_query_range.json",
            r"truncated_query_range\.json:\d+: not valid JSON",
        ),
        (
            METRICS / "other" / "error_bad_data.json",
            r"error_bad_data\.json: key \$\.status: Prometheus returned an error: bad_data",
        ),
    ],
    ids=["truncated", "error-body"],
)
def test_bad_file_is_named(
    tmp_path: Path, dask_client: Any, engine: str, bad: Path, message: str
) -> None:
    _split(METRICS / "query_range_cpu.json", tmp_path, (0.5,))
    shutil.copy(bad, tmp_path)
    with pytest.raises(FormatError, match=message) as info:
        scan_metrics(tmp_path, engine=engine, client=dask_client)
    assert info.value.path is not None and Path(info.value.path).name == bad.name


def test_unknown_engine_and_agg(split_samples: Path) -> None:
    with pytest.raises(InputError, match="unknown engine 'spark'"):
        scan_metrics(split_samples, engine="spark")
    with pytest.raises(InputError, match="unknown agg 'p99'"):
        scan_metrics(split_samples, agg="p99")  # type: ignore[arg-type]


def test_no_samples(tmp_path: Path) -> None:
    body = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    (tmp_path / "empty_range.json").write_text(json.dumps(body))
    with pytest.raises(EmptyInputError, match=r"empty_range\.json: no samples in 1 metrics file"):
        scan_metrics(tmp_path)


def test_file_run() -> None:
    assert file_run("a/b/cpu_2026-01-01.json") == file_run("a/b/cpu_2026-01-02.json") == "cpu"
    assert file_run("a/b/0001.json") == "b"
    # Grafana's download names: "<panel>-data-<date> <time>.csv"
    assert file_run("panel-data-2024-01-01 00_00_00.csv") == "panel-data"
    assert file_run("a/b/x_0001.json", "given") == "given"
    assert isinstance(MetricBuckets(60), MetricBuckets) and len(MetricBuckets(60)) == 0
