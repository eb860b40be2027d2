"""Report folders and files that stay valid under concurrency and kills.

* :func:`unique_folder` creates ``<parent>/<UTC stamp>[-n]`` with ``mkdir(exist_ok=False)`` in a loop, so
  two runs started in the same second never share a folder and never fail with ``FileExistsError``;
* :func:`atomic_write` writes beside the target and renames over it (``os.replace`` is atomic on POSIX
  and Windows), so a reader sees the old file or the new one, never half of one;
* :func:`locked` serialises writers of one file (the index) with an ``fcntl`` lock on a side file;
* :func:`alive` tells whether the process that started a run still exists, which is how a killed run
  (its ``report.json`` still says ``running``) is shown as ``interrupted``.

Entry points: :func:`unique_folder`, :func:`atomic_write`, :func:`locked`, :func:`alive`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["alive", "atomic_write", "atomic_write_json", "locked", "owner", "unique_folder"]


def unique_folder(parent: Path, now: dt.datetime) -> Path:
    """Create and return a new folder ``parent/<YYYYmmddTHHMMSSZ>`` (``-1``, ``-2`` … when taken)."""
    parent.mkdir(parents=True, exist_ok=True)
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    n = 0
    while True:
        folder = parent / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            n += 1
            continue
        return folder


def atomic_write(path: Path, text: str) -> None:
    """Write *text* to *path* through a temporary file in the same folder and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(text):x}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_json(path: Path, data: Any) -> None:
    """:func:`atomic_write` of *data* as indented JSON."""
    atomic_write(path, json.dumps(data, indent=2) + "\n")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (POSIX ``fcntl``; elsewhere no lock, writes stay atomic)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic renames still keep readers safe
        yield
        return
    lock = path.with_name(path.name + ".lock")
    with lock.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def owner() -> dict[str, Any]:
    """Who is running: ``{"pid", "host"}``, recorded in a run's files while it runs."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def alive(info: dict[str, Any]) -> bool:
    """Whether the process recorded by :func:`owner` still runs (``True`` when it ran on another host)."""
    pid = info.get("pid")
    if not isinstance(pid, int) or info.get("host") != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
