"""Shared fixtures: repository paths, the corpus, a seeded rng, clean environment, figures, services."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests import services

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SAMPLES = DATA / "samples"
MALFORMED = Path(__file__).resolve().parent / "fixtures" / "malformed"
CORPUS = ROOT.parent / "shared" / "corpus"

os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator: tests are deterministic."""
    return np.random.default_rng(20261127)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a developer's PG*/PERFNB_* variables (httpx's clean_environ)."""
    for name in list(os.environ):
        if name.startswith(("PG", "PERFNB_")) and name != "PERFNB_REQUIRE_SERVICES":
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def close_figs() -> Iterator[None]:
    """Close every matplotlib figure a test opened."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def corpus() -> Path:
    """The shared real-world corpus (../shared/corpus); tests using it skip when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(
            "../shared/corpus is absent (conformance tests need the shared corpus beside the checkout)"
        )
    return CORPUS


@pytest.fixture(scope="session")
def postgres() -> Iterator[services.Postgres]:
    """A real PostgreSQL with pg_stat_statements and auto_explain, for the whole session."""
    svc = services.start_postgres()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[services.Service]:
    """A real redis-server on a free port."""
    svc = services.start_redis()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def memcached_server() -> Iterator[services.Service]:
    """A real memcached on a free port."""
    svc = services.start_memcached()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    """A real ``dask.distributed`` LocalCluster: 2 worker processes, 1 thread each, on loopback."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        services.missing("dask.distributed", "pip install 'perfnb[dask]' (make test does)")
        raise  # pragma: no cover - missing() skips or fails
    from perfnb.engine import local_client

    client = local_client(n_workers=2, threads_per_worker=1, memory_limit="2GiB")
    cluster = client.cluster
    try:
        yield client
    finally:
        client.close()
        cluster.close()
