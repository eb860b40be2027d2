"""Live cache snapshots: :func:`redis_info` (a Redis URL) and :func:`memcached_stats` (host, port).

Both speak the wire protocol over a plain socket (no client library): Redis RESP2 (``AUTH``, ``SELECT``
not needed, ``INFO everything`` as a bulk string) and memcached's text ``stats`` command. They return
:class:`~perfnb.io.redis.CacheStats`; take two snapshots some time apart and concatenate them with
:func:`combine` to get a hit ratio from counter differences (:func:`perfnb.analysis.cache.summary`).
Failures raise :class:`~perfnb.errors.SourceError` naming the server with the password hidden.
:func:`redis_info` also asks ``SLOWLOG LEN`` and adds it as field ``slowlog_len`` (section ``Slowlog``).
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd

from perfnb._secrets import redact
from perfnb.errors import InputError, SourceError
from perfnb.io.memcached import parse_memcached_stats
from perfnb.io.redis import CACHE_FIELDS, CACHE_SNAPSHOTS, CacheStats, parse_redis_info

__all__ = ["combine", "memcached_stats", "redis_info", "safe_url"]


def safe_url(url: str) -> str:
    """*url* with any password replaced by ``***``.

    Examples
    --------
    >>> safe_url("redis://app:secret@127.0.0.1:6379/0")
    'redis://app:***@127.0.0.1:6379/0'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return redact(url)
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
        f":{parts.port}" if parts.port else ""
    )
    return redact(parts._replace(netloc=netloc).geturl())


def _command(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def _read_reply(f: Any) -> bytes | str:
    line: bytes = f.readline()
    if not line:
        raise ConnectionError("connection closed by the server")
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind == b"-":
        return "ERR " + rest.decode(errors="replace")
    if kind in (b"+", b":"):
        return rest
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return b""
        data: bytes = f.read(n + 2)
        return data[:n]
    raise ConnectionError(f"unexpected reply {line[:40]!r}")


def redis_info(
    url: str = "redis://127.0.0.1:6379", *, timeout_s: float = 5.0, run: str = "live"
) -> CacheStats:
    """One ``INFO everything`` snapshot of a live Redis.

    Parameters
    ----------
    url
        ``redis://[[user]:password@]host[:port][/db]``.
    timeout_s
        Connect and read timeout.
    run
        Run label.

    Returns
    -------
    CacheStats

    Raises
    ------
    SourceError
        Unreachable server, authentication failure, or an error reply (password never shown).
    """
    shown = safe_url(url)
    parts = urlsplit(url)
    if parts.scheme not in ("redis", ""):
        raise SourceError(
            f"unsupported scheme {parts.scheme!r} (rediss:// needs TLS)", source=shown
        )
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            f = sock.makefile("rb")
            if parts.password is not None:
                user = unquote(parts.username) if parts.username else None
                pw = unquote(parts.password)
                sock.sendall(_command("AUTH", *([user] if user else []), pw))
                reply = _read_reply(f)
                if isinstance(reply, str):
                    raise SourceError(
                        f"authentication failed: {reply.split(' ', 2)[-1]}", source=shown
                    )
            sock.sendall(_command("INFO", "everything"))
            reply = _read_reply(f)
            # SLOWLOG LEN is an integer reply; a server that forbids it (ACL) answers an error.
            sock.sendall(_command("SLOWLOG", "LEN"))
            slowlog = _read_reply(f)
    except SourceError:
        raise
    except (OSError, ValueError) as err:
        raise SourceError(f"cannot read INFO: {err}", source=shown) from err
    if isinstance(reply, str):
        raise SourceError(f"INFO failed: {reply}", source=shown)
    text = reply.decode("utf-8", errors="replace")
    if isinstance(slowlog, bytes) and slowlog.isdigit():
        text += f"\r\n# Slowlog\r\nslowlog_len:{int(slowlog)}\r\n"
    try:
        return parse_redis_info(text, run=run)
    except InputError as err:
        raise SourceError(f"unreadable INFO reply: {err}", source=shown) from err


def memcached_stats(
    host: str = "127.0.0.1", port: int = 11211, *, timeout_s: float = 5.0, run: str = "live"
) -> CacheStats:
    """One ``stats`` snapshot of a live memcached.

    Raises
    ------
    SourceError
        Unreachable server or a reply that is not ``stats`` output.
    """
    shown = f"memcached://{host}:{port}"
    chunks: list[bytes] = []
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"stats\r\n")
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
                tail = b"".join(chunks)[-16:]
                if tail.endswith(b"END\r\n") or b"ERROR" in tail:
                    break
    except OSError as err:
        raise SourceError(f"cannot read stats: {err}", source=shown) from err
    text = b"".join(chunks).decode("utf-8", errors="replace")
    try:
        return parse_memcached_stats(text, run=run)
    except InputError as err:
        raise SourceError(f"unreadable stats reply: {err}", source=shown) from err


def combine(*snapshots: CacheStats) -> CacheStats:
    """Concatenate snapshots (in order) into one :class:`CacheStats`, renumbering them 0, 1, …."""
    if not snapshots:
        raise InputError("combine() needs at least one CacheStats")
    snaps, fields = [], []
    n = 0
    for s in snapshots:
        mapping = {old: n + i for i, old in enumerate(sorted(s.snapshots["snapshot"]))}
        a = s.snapshots.copy()
        a["snapshot"] = a["snapshot"].map(mapping)
        b = s.fields.copy()
        b["snapshot"] = b["snapshot"].map(mapping)
        snaps.append(a)
        fields.append(b)
        n += len(mapping)
    return CacheStats(
        snapshots[0].kind,
        CACHE_SNAPSHOTS.conform(pd.concat(snaps, ignore_index=True)),
        CACHE_FIELDS.conform(pd.concat(fields, ignore_index=True)),
    )
