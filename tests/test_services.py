"""The harness's real services start and answer (PostgreSQL with its preloaded extensions)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.service


def test_postgres_has_pg_stat_statements_and_auto_explain(postgres) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(postgres.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
            libs = conn.execute(sa.text("SHOW shared_preload_libraries")).scalar()
            assert "pg_stat_statements" in libs and "auto_explain" in libs
            n = conn.execute(sa.text("SELECT count(*) FROM pg_stat_statements")).scalar()
            assert n is not None
    finally:
        engine.dispose()


def test_redis_answers(redis_server) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", redis_server.port), timeout=5) as s:
        s.sendall(b"PING\r\n")
        assert s.recv(64).startswith(b"+PONG")
