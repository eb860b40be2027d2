"""The streaming and Dask engines (issue 9): same numbers as the in-memory engine, bounded memory, clear errors.

JMeter inputs are JMeter's own test file from the shared corpus (JMeter does not run here); k6 inputs are the
real k6 1.1 run in ``data/samples/loadtests/k6``; Locust's request log is a real Locust run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perfnb
from perfnb.errors import EmptyInputError, FormatError, InputError
from perfnb.io import jmeter
from perfnb.io.loadtest import INTERVALS, SUMMARY
from perfnb.schema import assert_conforms

ROOT = Path(__file__).resolve().parents[2]
K6 = ROOT / "data" / "samples" / "loadtests" / "k6"
LOCUST_LOG = ROOT / "data" / "samples" / "loadtests" / "step" / "run_requests.csv"
EXACT = ["requests", "failures", "min_s", "max_s", "p50_s", "p90_s", "p95_s", "p99_s", "apdex"]


@pytest.fixture
def jtl(corpus: Path) -> Path:
    return corpus / "loadtests" / "jmeter" / "apache_jmeter_HTMLReportTestFile.csv"


def _same(a: pd.DataFrame, b: pd.DataFrame, cols: list[str], rel: float = 1e-12) -> None:
    a, b = a.set_index("label").sort_index(), b.set_index("label").sort_index()
    assert list(a.index) == list(b.index)
    for c in cols:
        np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=rel, err_msg=c)


def test_stream_equals_pandas_engine_on_jmeter(jtl: Path) -> None:
    ref = perfnb.read_loadtest(jtl).summary()
    lt = perfnb.read_loadtest(jtl, engine="stream", chunk_bytes=2048)
    assert lt.requests is None and lt.meta["partitions"] > 5
    got = lt.summary()
    assert_conforms(got, SUMMARY)
    _same(got, ref, [*EXACT, "mean_s", "throughput_per_s", "received_bytes_per_s"])
    assert set(got["estimate"]) == {"exact:linear"}  # whole milliseconds: exact percentiles


@pytest.mark.parametrize("chunk", [300, 4096, 1 << 20])
def test_partitioning_does_not_change_the_result(jtl: Path, chunk: int) -> None:
    a = perfnb.scan_loadtest(jtl, chunk_bytes=chunk).summary()
    b = perfnb.scan_loadtest(jtl, chunk_bytes=1 << 30).summary()
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


def test_every_numpy_method_is_exact_on_whole_milliseconds(jtl: Path) -> None:
    lt = perfnb.scan_loadtest(jtl, chunk_bytes=1000)
    ref = perfnb.read_loadtest(jtl)
    for method in ("linear", "weibull", "hazen", "median_unbiased", "nearest", "lower", "higher"):
        _same(lt.summary(method=method), ref.summary(method=method, window=10**9), EXACT)


def test_k6_percentiles_within_the_documented_bound() -> None:
    for name in ("run.csv", "run.json"):
        ref = perfnb.read_loadtest(K6 / name).summary()
        lt = perfnb.read_loadtest(K6 / name, engine="stream", chunk_bytes=20_000)
        got = lt.summary()
        _same(got, ref, ["requests", "failures", "min_s", "max_s", "apdex"])
        _same(got, ref, ["mean_s"], rel=1e-9)
        bound = lt.aggregate.relative_error  # type: ignore[union-attr]
        _same(got, ref, ["p50_s", "p90_s", "p95_s", "p99_s"], rel=bound)
        assert got["estimate"].str.startswith("histogram:linear:±0.78%").all()


def test_locust_request_log_is_read_whole() -> None:
    ref = perfnb.read_loadtest(LOCUST_LOG).summary()
    got = perfnb.scan_loadtest(LOCUST_LOG).summary()
    _same(got, ref, ["requests", "failures", "min_s", "max_s"])


def test_intervals_match_the_pandas_engine(jtl: Path) -> None:
    ref = perfnb.read_loadtest(jtl).intervals("5s")
    lt = perfnb.scan_loadtest(jtl, chunk_bytes=3000, interval="5s")
    got = lt.intervals("5s")
    assert_conforms(got, INTERVALS)
    assert set(got["percentile_kind"]) == {"histogram"}
    key = ["label", "timestamp"]
    a = got.sort_values(key, ignore_index=True)
    b = ref.sort_values(key, ignore_index=True)
    assert a[key].equals(b[key])
    for c in ("requests", "failures", "users"):
        assert a[c].astype("float64").tolist() == b[c].astype("float64").tolist(), c
    np.testing.assert_allclose(a["max_s"], b["max_s"])
    np.testing.assert_allclose(a["p95_s"], b["p95_s"], rtol=1 / 128 + 1e-12)
    with pytest.raises(InputError, match="intervals of 5 s"):
        lt.intervals("1min")


def test_dask_equals_stream(jtl: Path, dask_client: object) -> None:
    a = perfnb.read_loadtest(jtl, engine="dask", client=dask_client, chunk_bytes=1500)
    b = perfnb.read_loadtest(jtl, engine="stream", chunk_bytes=1500)
    assert a.meta["engine"] == "dask" and a.meta["partitions"] > 10
    pd.testing.assert_frame_equal(a.summary(), b.summary(), check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(a.intervals(), b.intervals(), check_exact=False, rtol=1e-12)
    k = perfnb.read_loadtest(K6 / "run.json", engine="dask", client=dask_client, chunk_bytes=50_000)
    pd.testing.assert_frame_equal(
        k.summary(),
        perfnb.read_loadtest(K6 / "run.json", engine="stream", chunk_bytes=50_000).summary(),
        check_exact=False,
        rtol=1e-12,
    )


def test_dask_worker_error_names_the_file_and_line(
    tmp_path: Path, jtl: Path, dask_client: object
) -> None:
    lines = jtl.read_text().splitlines()
    lines[200] = lines[200].replace(",200,", ",200,extra,")  # ragged, deep in the file
    bad = tmp_path / "ragged.jtl"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"ragged.jtl:201: ragged row"):
        perfnb.read_loadtest(bad, engine="dask", client=dask_client, chunk_bytes=2000)


def _workers(jtl: Path, folder: Path, n: int = 3) -> list[Path]:
    """Split a real JTL into *n* worker files (each with the header), as distributed JMeter would write."""
    header, *rows = jtl.read_text().splitlines()
    folder.mkdir()
    (folder / "README.md").write_text("notes, not a result\n")
    out = []
    for i in range(n):
        f = folder / f"worker{i}.jtl"
        f.write_text("\n".join([header, *rows[i::n]]) + "\n")
        out.append(f)
    return out


def test_a_folder_of_worker_files_is_one_run(jtl: Path, tmp_path: Path) -> None:
    folder = tmp_path / "fleet"
    _workers(jtl, folder)
    ref = perfnb.read_loadtest(jtl).summary()
    whole = perfnb.read_loadtest(folder)  # pandas engine: concatenated
    assert whole.run == "fleet" and len(whole.meta["files"]) == 3
    _same(whole.summary(), ref, [*EXACT, "mean_s", "throughput_per_s"])
    streamed = perfnb.read_loadtest(folder, engine="stream", chunk_bytes=4000)
    _same(streamed.summary(), ref, [*EXACT, "mean_s", "throughput_per_s"])
    globbed = perfnb.read_loadtest(str(folder / "worker*.jtl"), engine="stream")
    _same(globbed.summary(), ref, EXACT)


def test_bad_rows_in_a_later_partition_name_the_absolute_line(jtl: Path, tmp_path: Path) -> None:
    lines = jtl.read_text().splitlines()
    lines[150] = lines[150].replace(",351,", ",N/A,", 1).replace(",true,", ",N/A,", 1)
    lines[150] = lines[150].split(",", 2)[0] + ",N/A," + lines[150].split(",", 2)[2]
    bad = tmp_path / "na.jtl"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"na.jtl:151: column 'elapsed' is not a number"):
        perfnb.scan_loadtest(bad, chunk_bytes=3000)
    lt = perfnb.scan_loadtest(bad, chunk_bytes=3000, on_bad_lines="skip")
    assert lt.meta["skipped_rows"] == 1
    assert int(lt.summary()["requests"].iloc[-1]) == len(lines) - 2


def test_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no per-request samples to stream"):
        perfnb.scan_loadtest(K6 / "summary-export.json")
    with pytest.raises(InputError, match="unknown engine 'spark'"):
        perfnb.read_loadtest(K6 / "run.csv", engine="spark")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyInputError, match="no load-test files"):
        perfnb.read_loadtest(tmp_path / "empty", engine="stream")
    with pytest.raises(InputError, match="interval"):
        perfnb.scan_loadtest(K6 / "run.csv", interval="soon")


def test_aggregated_loadtest_works_with_check_and_errors(jtl: Path) -> None:
    lt = perfnb.scan_loadtest(jtl)
    assert "aggregated" in repr(lt)
    errs = lt.errors()
    assert errs.iloc[0]["label"] == "JR-KO" and errs["count"].sum() > 0
    findings = perfnb.check(lt)
    assert any(f.rule.startswith("LT") for f in findings)


def test_large_jtl_is_read_lazily(jtl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eager = perfnb.read_jmeter(jtl)
    monkeypatch.setattr(jmeter, "LAZY_BYTES", 0)
    lazy = perfnb.read_jmeter(jtl)
    assert lazy._requests is None  # only the summary's columns were read
    _same(lazy.summary(), eager.summary(), [*EXACT, "mean_s", "throughput_per_s"])
    assert lazy._requests is None
    pd.testing.assert_frame_equal(lazy.requests, eager.requests)


def test_lazy_read_refuses_a_changed_file(
    jtl: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "x.jtl"
    f.write_bytes(jtl.read_bytes())
    monkeypatch.setattr(jmeter, "LAZY_BYTES", 0)
    lt = perfnb.read_jmeter(f)
    with f.open("a") as fh:
        fh.write(jtl.read_text().splitlines()[1] + "\n")
    with pytest.raises(FormatError, match="changed after it was read"):
        _ = lt.requests


def test_transaction_controllers_and_date_timestamps_stream_like_pandas(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DEFRA's real JTL: yyyy/MM/dd timestamps, Transaction Controller rows (out of Total), a cut last line."""
    f = corpus / "loadtests" / "jmeter" / "defra_rcr_result_datefmt.jtl"
    ref = perfnb.read_loadtest(f, on_bad_lines="skip")
    streamed = perfnb.scan_loadtest(f, chunk_bytes=20_000, on_bad_lines="skip")
    assert streamed.meta["skipped_rows"] == 1
    _same(streamed.summary(), ref.summary(), [*EXACT, "mean_s", "throughput_per_s"])
    monkeypatch.setattr(jmeter, "LAZY_BYTES", 0)
    lazy = perfnb.read_jmeter(f, on_bad_lines="skip")
    _same(lazy.summary(), ref.summary(), [*EXACT, "mean_s", "throughput_per_s"])
    assert int(lazy.summary()["requests"].iloc[-1]) < len(
        ref.requests
    )  # controllers left out of Total


def test_apdex_at_other_thresholds_is_exact_on_whole_milliseconds(jtl: Path) -> None:
    lt = perfnb.scan_loadtest(jtl, chunk_bytes=2000, apdex_t_s=0.5)
    ref = perfnb.read_loadtest(jtl)
    for t in (0.1, 0.2, 0.35):
        _same(lt.summary(apdex_t_s=t), ref.summary(apdex_t_s=t), ["apdex"])


def test_histograms_of_streamed_and_in_memory_runs_agree(corpus: Path) -> None:
    f = (
        corpus / "loadtests" / "jmeter" / "defra_rcr_result_datefmt.jtl"
    )  # with Transaction Controllers
    mem = perfnb.read_loadtest(f, on_bad_lines="skip").histograms()
    streamed = perfnb.scan_loadtest(f, chunk_bytes=30_000, on_bad_lines="skip").histograms()
    assert set(mem) <= set(streamed)
    for name, h in mem.items():
        assert (streamed[name].counts == h.counts).all(), name
        assert streamed[name].max_s == h.max_s


@pytest.mark.parametrize("source", ["jmeter", "k6"])
def test_summary_alone_builds_no_intervals(source: str, corpus: Path) -> None:
    """Issue 20 point 5: the read for summary() builds no interval histograms; intervals() on first use
    makes a second pass, and every number equals a one-pass read with intervals=True."""
    path = (
        corpus / "loadtests" / "jmeter" / "apache_jmeter_HTMLReportTestFile.csv"
        if source == "jmeter"
        else K6 / "run.json"
    )
    lazy = perfnb.read_loadtest(path, engine="stream", chunk_bytes=20_000)
    assert lazy.aggregate is not None
    assert lazy.aggregate.iv_cell is None and lazy.aggregate.iv_keys.size == 0
    both = perfnb.read_loadtest(path, engine="stream", chunk_bytes=20_000, intervals=True)
    pd.testing.assert_frame_equal(lazy.summary(), both.summary())
    pd.testing.assert_frame_equal(lazy.intervals(), both.intervals())
    assert lazy.aggregate.iv_cell is not None  # built once, kept
    pd.testing.assert_frame_equal(lazy.summary(), both.summary())
    only = perfnb.read_loadtest(path, engine="stream", intervals=False)
    with pytest.raises(InputError, match="built without intervals"):
        only.intervals()
