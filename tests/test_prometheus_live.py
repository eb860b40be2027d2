"""Live Prometheus: a real Prometheus (Debian package) scraping a target this test serves."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import perfnb
from perfnb.analysis import promql
from perfnb.errors import SourceError
from tests import services

pytestmark = pytest.mark.service


class _Target(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        _Target.hits += 1
        body = (
            "# TYPE demo_requests_total counter\n"
            f'demo_requests_total{{code="200"}} {_Target.hits * 10}\n'
            "# TYPE demo_latency_seconds histogram\n"
            f'demo_latency_seconds_bucket{{le="0.1"}} {_Target.hits * 3}\n'
            f'demo_latency_seconds_bucket{{le="+Inf"}} {_Target.hits * 4}\n'
            f"demo_latency_seconds_sum {_Target.hits * 0.5}\n"
            f"demo_latency_seconds_count {_Target.hits * 4}\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def prom() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    svc = services.start_prometheus(
        [f"127.0.0.1:{server.server_address[1]}"], scrape_interval_s=0.5
    )
    url = f"http://127.0.0.1:{svc.port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                df = perfnb.prometheus.query(url, "demo_requests_total", timeout_s=2)
                if (
                    len(df)
                    and perfnb.prometheus.query(url, "count_over_time(up[1m])")["value"].iloc[0]
                    >= 16  # 8 s of samples at 0.5 s: the range tests look 2-6 s back
                ):
                    break
            except SourceError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("Prometheus never scraped the target:\n" + svc.log())
        yield url
    finally:
        svc.stop()
        server.shutdown()
        server.server_close()


def test_query_and_chunked_range(prom: str) -> None:
    inst = perfnb.prometheus.query(prom, "up")
    assert inst["value"].tolist() == [1.0] and inst["job"].iloc[0] == "perfnb-test"
    # a range wholly in the past: a scrape that fails under load writes a staleness marker at "now",
    # which would change the newest points between the two queries
    end = time.time() - 2
    whole = perfnb.prometheus.query_range(prom, "demo_requests_total", end - 4, end, 0.1)
    chunked = perfnb.prometheus.query_range(
        prom, "demo_requests_total", end - 4, end, 0.1, max_points=7
    )
    assert chunked.attrs["perfnb"]["requests"] > 5
    assert chunked["timestamp"].is_unique and len(chunked) == len(whole) >= 20
    assert chunked["value"].tolist() == whole["value"].tolist()
    q = promql.histogram_quantile(
        0.5, perfnb.prometheus.query_range(prom, "demo_latency_seconds_bucket", end - 2, end, 1)
    )
    assert q["value"].iloc[-1] == pytest.approx(0.1 * 2 / 3)


def test_error_type_surfaces(prom: str) -> None:
    with pytest.raises(SourceError, match=r"bad_data: .*parse error"):
        perfnb.prometheus.query(prom, "sum(")
    with pytest.raises(SourceError, match=r"bad_data: .*exceeded maximum resolution"):
        perfnb.prometheus.query_range(prom, "up", 0, 20000, 1, max_points=20000)


def test_auth_from_env_names(prom: str, monkeypatch: pytest.MonkeyPatch) -> None:
    token_env = "PERFNB_TEST_TOKEN"  # noqa: S105 - the NAME of a variable
    with pytest.raises(SourceError, match="PERFNB_TEST_TOKEN"):
        perfnb.prometheus.query(prom, "up", bearer_token_env=token_env)
    monkeypatch.setenv("PERFNB_TEST_TOKEN", "s3cret")
    token_env = "PERFNB_TEST_TOKEN"  # noqa: S105 - the NAME of a variable
    assert len(perfnb.prometheus.query(prom, "up", bearer_token_env=token_env)) == 1
    monkeypatch.setenv("PERFNB_USER", "u")
    user_env, pw_env = "PERFNB_USER", "PERFNB_PW"
    assert len(perfnb.prometheus.query(prom, "up", username_env=user_env, password_env=pw_env)) == 1


def test_unreachable_and_timeout() -> None:
    with pytest.raises(SourceError, match="cannot reach Prometheus"):
        perfnb.prometheus.query(f"http://127.0.0.1:{services.free_port()}", "up", timeout_s=2)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        t = time.time()
        with pytest.raises(SourceError, match="cannot reach Prometheus"):
            perfnb.prometheus.query(
                f"http://127.0.0.1:{silent.getsockname()[1]}", "up", timeout_s=0.5
            )
        assert time.time() - t < 5
    finally:
        silent.close()


def test_live_mode_fails_closed(prom: str, monkeypatch) -> None:
    """Issue 14: a live source that gives nothing is an error, never a report "ok" on 0 samples."""
    from perfnb.errors import ConfigError, EmptyInputError

    monkeypatch.setenv("PERFNB_TEST_PROM", prom)
    live = perfnb.prometheus.query_live
    metrics = live("PERFNB_TEST_PROM", "demo_requests_total; up", range_s=5, step_s=1)
    assert set(metrics.frame["metric"].astype(str)) >= {"demo_requests_total", "up"}
    with pytest.raises(EmptyInputError, match="'perfnb_no_such_metric' returned no samples"):
        live("PERFNB_TEST_PROM", "up; perfnb_no_such_metric", range_s=10, step_s=1)
    with pytest.raises(ConfigError, match="environment variable PERFNB_TEST_UNSET is not set"):
        live("PERFNB_TEST_UNSET", "up")
    with pytest.raises(ConfigError, match="at least one PromQL query"):
        live("PERFNB_TEST_PROM", " ; ")
    monkeypatch.setenv("PERFNB_TEST_DEAD", f"http://127.0.0.1:{services.free_port()}")
    with pytest.raises(SourceError):
        live("PERFNB_TEST_DEAD", "up")


@pytest.mark.notebook
@pytest.mark.parametrize(
    ("env", "query", "code", "says"),
    [
        ("PERFNB_TEST_PROM", "perfnb_no_such_metric", 3, "returned no samples"),
        ("PERFNB_TEST_UNSET", "up", 2, "PERFNB_TEST_UNSET is not set"),
        ("PERFNB_TEST_DEAD", "up", 4, "prometheus"),
    ],
)
def test_metrics_notebook_live_exit_codes(
    prom, monkeypatch, tmp_path, env, query, code, says
) -> None:
    from click.testing import CliRunner

    from perfnb.cli import cli

    monkeypatch.setenv("PERFNB_TEST_PROM", prom)
    monkeypatch.setenv("PERFNB_TEST_DEAD", f"http://127.0.0.1:{services.free_port()}")
    args = ["run", "metrics_trends", "-p", "prometheus_url_env", env, "-p", "queries", query]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path)])
    assert result.exit_code == code, result.output
    assert says in result.output
