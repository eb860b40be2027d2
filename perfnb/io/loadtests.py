"""Kind-level reading of load tests: :func:`read_loadtest` takes any load-test output.

A file (sniffed), a Locust CSV prefix or folder, a folder, glob or list of sample-level files written by
several load generators (combined into one :class:`~perfnb.model.loadtest.LoadTest`), or any of these
with ``engine="stream"``/``"dask"`` (handed to the scanner :mod:`perfnb.scan.loadtest` registers).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from perfnb.errors import UnknownFormatError
from perfnb.io._common import expand_paths, register_kind, scanner, sniff
from perfnb.model.loadtest import LoadTest, concat_loadtests

__all__ = ["loadtest_files", "read_loadtest"]


def loadtest_files(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The load-test files of a file, a folder (one per worker), a glob pattern or a list of these.

    A folder's or pattern's files are those whose content is a load-test format (a README is left out).

    Raises
    ------
    EmptyInputError
        When a folder or pattern holds no load-test file.
    """
    return expand_paths(path, kind="loadtest")


@register_kind("loadtest")
def read_loadtest(
    path: str | os.PathLike[str] | list[str | os.PathLike[str]],
    *,
    engine: str = "pandas",
    client: Any = None,
    **kwargs: Any,
) -> LoadTest:
    """Read any load-test output: a file, a Locust CSV prefix, a folder (of one run, or of worker files).

    Parameters
    ----------
    path
        A JMeter JTL (CSV/XML), k6 CSV/NDJSON/summary export, Gatling ``simulation.log``, Locust CSV
        file/prefix/folder, Locust ``--json`` output or Locust request log; or a folder, glob pattern or
        list of sample-level files written by several load generators (combined into one run).
    engine
        ``"pandas"`` (default: every request in memory, every statistic exact), ``"stream"`` (bounded
        memory) or ``"dask"`` (a ``dask.distributed`` cluster): see :func:`perfnb.scan_loadtest`.
    client
        For ``engine="dask"``: a ``Client`` or a scheduler address (default: the current client).
    **kwargs
        Passed to the format's reader (``run=``, ``on_bad_lines=`` …) or to :func:`perfnb.scan_loadtest`.

    Raises
    ------
    UnknownFormatError
        When the input is no load-test format.
    """
    if engine != "pandas":
        return cast(
            "LoadTest", scanner("loadtest", engine)(path, engine=engine, client=client, **kwargs)
        )
    if isinstance(path, (list, tuple)) or _is_fleet(path):
        files = loadtest_files(path)
        if len(files) > 1:
            run = kwargs.pop("run", None)
            parts = [read_loadtest(f, **kwargs) for f in files]
            name = run if run is not None else Path(files[0]).parent.name
            return concat_loadtests(parts, run=name, path=str(path))
        path = files[0]
    return _read_one(Path(path), **kwargs)


def _is_fleet(path: str | os.PathLike[str]) -> bool:
    """A folder without a Locust CSV set, or a glob pattern: files of several load generators."""
    from perfnb.io.locust import locust_files

    p = Path(path)
    if p.is_dir():
        return not locust_files(p)
    return not p.exists() and any(ch in str(path) for ch in "*?[") and not locust_files(p)


def _read_one(p: Path, **kwargs: Any) -> LoadTest:
    from perfnb.io.locust import locust_files

    if not p.exists():
        files = locust_files(p)
        if files:
            from perfnb.io.locust import read_locust

            return read_locust(p, **kwargs)
    fmt = sniff(p)
    if fmt.kind != "loadtest":
        raise UnknownFormatError(
            f"this is {fmt.description}, not a load-test result",
            path=p,
            expected="a load-test output",
        )
    result = fmt.reader(p, **kwargs)
    if not isinstance(result, LoadTest):  # pragma: no cover - every loadtest reader returns one
        raise UnknownFormatError("not a load test", path=p)
    return result
