"""Real services for tests: PostgreSQL (initdb + pg_ctl), Redis, memcached, Prometheus, on free loopback ports.

Each ``start_*`` function returns a running service object with a ``stop()`` method and a ``log()`` that the
fixtures print on failure (otava's e2e message is the model: command, exit code, output). When a binary is
missing, :func:`missing` skips the test with a clear reason, unless ``PERFNB_REQUIRE_SERVICES=1`` (set by
``.ci/run``), where the same case fails.

PostgreSQL refuses to run as root, so as root the cluster is created and started as the ``postgres`` user
(``runuser``), in a temporary folder that user owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REQUIRE = os.environ.get("PERFNB_REQUIRE_SERVICES") == "1"


def missing(what: str, hint: str) -> None:
    """Skip (or, in CI, fail) because *what* is not installed."""
    message = f"{what} not found; {hint}"
    if REQUIRE:
        pytest.fail(f"PERFNB_REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int,
    timeout_s: float = 30.0,
    check: Callable[[], bool] | None = None,
    process: subprocess.Popen[bytes] | None = None,
) -> bool:
    """Wait until something accepts connections on *port* (and *check* passes); False if *process* exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0 and (check is None or check()):
                return True
        time.sleep(0.1)
    return False


@dataclass
class Service:
    """A process we started, with its log file."""

    name: str
    port: int
    workdir: Path
    logfile: Path
    process: subprocess.Popen[bytes] | None = None
    stop_cmd: list[str] | None = None
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def log(self, tail: int = 60) -> str:
        """The last *tail* lines of the service's log."""
        try:
            lines = self.logfile.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-tail:])

    def stop(self) -> None:
        """Stop the service and remove its folder."""
        if self.stop_cmd:
            subprocess.run(self.stop_cmd, capture_output=True, timeout=60, check=False)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for fn in self.cleanup:
            with contextlib.suppress(Exception):
                fn()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _fail_start(
    svc: Service, cmd: list[str], result: subprocess.CompletedProcess[str] | None
) -> None:
    detail = ""
    if result is not None:
        detail = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
    elif svc.process is not None and svc.process.poll() is not None:
        detail = f"exit {svc.process.returncode}\n"
    log = svc.log()  # read before stop() removes the folder
    svc.stop()
    pytest.fail(f"{svc.name} did not start: {' '.join(cmd)}\n{detail}log:\n{log}", pytrace=False)


# ----------------------------------------------------------------------------------------------- PostgreSQL


def pg_bindir() -> Path | None:
    """Folder of PostgreSQL's server binaries (newest major version), or None."""
    candidates = sorted(
        (
            p
            for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")
            if p.parent.parent.name.isdigit()
        ),
        key=lambda p: int(p.parent.parent.name),
    )
    if candidates:
        return candidates[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


@dataclass
class Postgres(Service):
    """A PostgreSQL cluster: ``url`` is a SQLAlchemy URL for the ``postgres`` superuser (trust auth)."""

    datadir: Path = Path()
    bindir: Path = Path()
    as_user: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of the ``perfnb`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/perfnb"

    @property
    def log_dir(self) -> Path:
        """Where the server writes its stderr, csvlog and jsonlog files (auto_explain lands there)."""
        return self.datadir / "log"

    def psql(self, sql: str, db: str = "perfnb") -> str:
        """Run *sql* with psql and return its output (raises on error)."""
        cmd = [
            *self.as_user,
            str(self.bindir / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            db,
            "-At",
            "-c",
            sql,
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"psql failed ({out.returncode}): {out.stderr}")
        return out.stdout


def start_postgres(*, settings: dict[str, str] | None = None) -> Postgres:
    """initdb + pg_ctl start on a free port with pg_stat_statements and auto_explain preloaded."""
    bindir = pg_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        missing("initdb/pg_ctl", "install postgresql (apt-get install postgresql)")
        raise AssertionError("unreachable")
    as_root = os.geteuid() == 0
    as_user = ["runuser", "-u", "postgres", "--"] if as_root else []
    workdir = Path(tempfile.mkdtemp(prefix="perfnb-pg-"))
    datadir = workdir / "data"
    port = free_port()
    logfile = workdir / "server.log"
    svc = Postgres(
        "postgresql", port, workdir, logfile, datadir=datadir, bindir=bindir, as_user=as_user
    )
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
        workdir.chmod(0o755)  # the postgres user must reach its data folder
    cmd = [
        *as_user,
        str(bindir / "initdb"),
        "-D",
        str(datadir),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    if result.returncode != 0:
        _fail_start(svc, cmd, result)
    conf = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{workdir}'",
        "shared_preload_libraries": "'pg_stat_statements,auto_explain'",
        "pg_stat_statements.track": "all",
        "track_io_timing": "on",
        "logging_collector": "on",
        "log_directory": "'log'",
        "log_destination": "'stderr,csvlog,jsonlog'"
        if _pg_major(bindir) >= 15
        else "'stderr,csvlog'",
        "log_filename": "'postgresql.log'",
        "auto_explain.log_min_duration": "'-1'",
        "auto_explain.log_analyze": "on",
        "auto_explain.log_buffers": "on",
        "auto_explain.log_format": "json",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_parallel_workers_per_gather": "2",
        **(settings or {}),
    }
    with (datadir / "postgresql.conf").open("a") as fh:
        fh.write("\n# perfnb test harness\n")
        for k, v in conf.items():
            fh.write(f"{k} = {v}\n")
    cmd = [
        *as_user,
        str(bindir / "pg_ctl"),
        "-D",
        str(datadir),
        "-l",
        str(logfile),
        "-w",
        "-t",
        "60",
        "start",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        _fail_start(svc, cmd, result)
    svc.stop_cmd = [
        *as_user,
        str(bindir / "pg_ctl"),
        "-D",
        str(datadir),
        "-m",
        "immediate",
        "-w",
        "stop",
    ]
    try:
        svc.psql("CREATE DATABASE perfnb", db="postgres")
        svc.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except RuntimeError as err:
        svc.stop()
        pytest.fail(f"postgresql started but setup failed: {err}\nlog:\n{svc.log()}", pytrace=False)
    return svc


def _pg_major(bindir: Path) -> int:
    try:
        return int(bindir.parent.name)
    except ValueError:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
        )
        digits = "".join(ch if ch.isdigit() or ch == "." else " " for ch in out.stdout).split()
        return int(digits[0].split(".")[0]) if digits else 0


# ----------------------------------------------------------------------------------------------- Redis


def start_redis(*, extra_args: list[str] | None = None) -> Service:
    """redis-server on a free port, no persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server", "install redis-server (apt-get install redis-server)")
        raise AssertionError("unreachable")
    workdir = Path(tempfile.mkdtemp(prefix="perfnb-redis-"))
    port = free_port()
    logfile = workdir / "redis.log"
    cmd = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--logfile",
        str(logfile),
        *(extra_args or []),
    ]
    svc = Service("redis", port, workdir, logfile)
    svc.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_for_port(port, process=svc.process):
        _fail_start(svc, cmd, None)
    return svc


def start_memcached() -> Service:
    """memcached on a free port."""
    binary = shutil.which("memcached")
    if binary is None:
        missing("memcached", "install memcached (apt-get install memcached)")
        raise AssertionError("unreachable")
    workdir = Path(tempfile.mkdtemp(prefix="perfnb-memcached-"))
    port = free_port()
    logfile = workdir / "memcached.log"
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    cmd = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16", *user]
    svc = Service("memcached", port, workdir, logfile)
    with logfile.open("wb") as log:
        svc.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    if not wait_for_port(port, process=svc.process):
        _fail_start(svc, cmd, None)
    return svc


# ----------------------------------------------------------------------------------------------- Prometheus


def start_prometheus(scrape_targets: list[str], *, scrape_interval_s: float = 1.0) -> Service:
    """Prometheus (Debian package) scraping *scrape_targets* (``host:port``), TSDB in a temp folder."""
    binary = shutil.which("prometheus")
    if binary is None:
        missing("prometheus", "install prometheus (apt-get install prometheus)")
        raise AssertionError("unreachable")
    workdir = Path(tempfile.mkdtemp(prefix="perfnb-prom-"))
    port = free_port()
    config = workdir / "prometheus.yml"
    targets = ", ".join(f"'{t}'" for t in scrape_targets)
    config.write_text(
        "global:\n"
        f"  scrape_interval: {round(scrape_interval_s * 1000)}ms\n"
        f"  evaluation_interval: {round(scrape_interval_s * 1000)}ms\n"
        "scrape_configs:\n"
        "  - job_name: perfnb-test\n"
        f"    static_configs:\n      - targets: [{targets}]\n"
    )
    logfile = workdir / "prometheus.log"
    cmd = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    svc = Service("prometheus", port, workdir, logfile)
    with logfile.open("wb") as log:
        svc.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    if not wait_for_port(port, timeout_s=60, process=svc.process):
        _fail_start(svc, cmd, None)
    return svc
