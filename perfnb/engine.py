"""Execution engines for inputs larger than memory: ``"pandas"``, ``"stream"`` and ``"dask"``.

* ``"pandas"`` (default everywhere): read the whole input into one DataFrame; every statistic is exact.
* ``"stream"``: read line-aligned byte ranges (partitions) one after the other, aggregate each into a
  mergeable summary (:class:`perfnb.analysis.aggregate.LoadAggregate` for load tests) and merge. Memory is
  bounded by one partition plus the aggregate, whatever the input size.
* ``"dask"``: the same partitions and the same per-partition function, run on a ``dask.distributed``
  cluster; the partial results are merged on the client as they complete. Results are identical to
  ``"stream"`` (merging is exact and order independent).

:func:`map_partitions` is the one place that runs a function over partitions with either engine, with a
progress bar; readers build the partitions (:func:`byte_ranges` splits a file at line boundaries).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any, Literal, TypeVar

from perfnb.errors import InputError
from perfnb.io._common import ENGINES, check_engine

__all__ = [
    "ENGINES",
    "Engine",
    "Partition",
    "byte_ranges",
    "check_engine",
    "client_for",
    "get_client",
    "local_client",
    "map_partitions",
    "progress_bar",
]

Engine = Literal["pandas", "stream", "dask"]
T = TypeVar("T")

#: default partition size: big enough for pyarrow's threads, small enough for bounded memory
DEFAULT_CHUNK_BYTES = 64 << 20


@dataclass(frozen=True)
class Partition:
    """A line-aligned byte range ``[start, end)`` of *path*; ``index`` is its position in the file."""

    path: str
    start: int
    end: int
    index: int = 0

    @property
    def nbytes(self) -> int:
        """Size of the range in bytes."""
        return self.end - self.start


def byte_ranges(
    path: str | os.PathLike[str], chunk_bytes: int = DEFAULT_CHUNK_BYTES, *, start: int = 0
) -> list[Partition]:
    r"""Split *path* (from byte *start*, e.g. after a header line) into line-aligned partitions.

    Each boundary is moved forward to just after the next ``\n``, so a partition holds whole lines
    (a CSV field with an embedded newline inside quotes would be cut: the readers that use this refuse
    such files with a clear error, and JMeter, k6 and NDJSON do not write them).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes(b"h\n" + b"aaaa\n" * 10)
    >>> [(r.start, r.end) for r in byte_ranges(p, 12, start=2)]
    [(2, 17), (17, 32), (32, 47), (47, 52)]
    """
    if chunk_bytes < 1:
        raise InputError("chunk_bytes must be positive", key="chunk_bytes", found=chunk_bytes)
    p = Path(path)
    size = p.stat().st_size
    out: list[Partition] = []
    with p.open("rb") as fh:
        pos = start
        while pos < size:
            cut = min(pos + chunk_bytes, size)
            if cut < size:
                fh.seek(cut)
                while True:
                    block = fh.read(1 << 16)
                    if not block:
                        cut = size
                        break
                    nl = block.find(b"\n")
                    if nl >= 0:
                        cut += nl + 1
                        break
                    cut += len(block)
            out.append(Partition(str(p), pos, cut, len(out)))
            pos = cut
    return out


def get_client(client: Any = None) -> Any:
    """A ``dask.distributed.Client``: *client* itself, a new one for a scheduler address, or the current one.

    Raises
    ------
    InputError
        When dask is not installed (``pip install 'perfnb[dask]'``) or no client is given or running.
    """
    try:
        from distributed import Client
        from distributed import get_client as current
    except ImportError as err:
        raise InputError(
            "engine='dask' needs dask.distributed",
            hint="pip install 'perfnb[dask]'",
        ) from err
    if client is None:
        try:
            return current()
        except ValueError as err:
            raise InputError(
                "engine='dask' needs a cluster: pass client=Client(...) or a scheduler address",
                key="client",
                hint="e.g. client='tcp://scheduler:8786', or distributed.LocalCluster() for one machine",
            ) from err
    if isinstance(client, str):
        return Client(client)
    if isinstance(client, Client):
        return client
    raise InputError(
        f"client is a {type(client).__name__}",
        key="client",
        expected="a dask.distributed.Client or a scheduler address",
    )


def local_client(n_workers: int | None = None, **kwargs: Any) -> Any:
    """A ``Client`` of a new ``LocalCluster`` on this machine: worker processes, dashboard on a free port.

    Workers get glibc's ``MALLOC_TRIM_THRESHOLD_`` at 64 MiB instead of distributed's 64 KiB, which
    slows the parsing of many small objects (JSON, CSV) by about 40 %.
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as err:
        raise InputError(
            "engine='dask' needs dask.distributed", hint="pip install 'perfnb[dask]'"
        ) from err
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 64 << 20}):
        cluster = LocalCluster(
            n_workers=n_workers,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            **kwargs,
        )
    return Client(cluster)


def client_for(engine: str, scheduler: str = "") -> Any:
    """The Dask client a notebook's ``engine``/``dask_scheduler`` parameters ask for, or ``None``.

    ``engine="dask"``: a client of *scheduler* (``tcp://host:8786``), or of a new local cluster when it
    is empty; any other engine: ``None`` (the readers take ``client=None``).
    """
    check_engine(engine)
    if engine != "dask":
        return None
    if not scheduler:
        return local_client()
    try:
        from distributed import Client
    except ImportError as err:
        raise InputError(
            "engine='dask' needs dask.distributed", hint="pip install 'perfnb[dask]'"
        ) from err
    return Client(scheduler)


def progress_bar(total: int, *, desc: str, enabled: bool | None, unit: str = "B") -> Any:
    """A tqdm bar (notebook widget or terminal), or a no-op when *enabled* is false.

    ``enabled=None`` means automatic: shown for inputs of 256 MB or more.
    """
    if enabled is None:
        enabled = unit == "B" and total >= 256 << 20
    if not enabled:
        return _NoBar()
    try:
        import ipywidgets  # noqa: F401 - tqdm.auto needs it for a notebook widget
        from tqdm.auto import tqdm
    except ImportError:
        try:
            from tqdm import tqdm  # text bar on stderr (terminals, papermill, CI logs)
        except ImportError:  # pragma: no cover - tqdm comes with papermill
            return _NoBar()
    return tqdm(
        total=total, desc=desc, unit=unit, unit_scale=True, unit_divisor=1024, file=sys.stderr
    )


class _NoBar:
    def update(self, n: int = 1) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""


def map_partitions(
    func: Callable[..., T],
    parts: Sequence[Partition],
    merge: Callable[[T, T], T],
    *,
    engine: str = "stream",
    client: Any = None,
    progress: bool | None = None,
    desc: str = "reading",
    threads: int = 2,
    args: Sequence[Any] | None = None,
    **kwargs: Any,
) -> T:
    """``merge`` of ``func(part, **kwargs)`` over *parts*, one after another or on a Dask cluster.

    With *args* (one per partition), ``func(part, arg, **kwargs)`` (per-partition settings travel with
    their own task only).

    The merge must be associative and commutative (results of the dask engine arrive in completion
    order). Errors raised by *func* on a worker reach the caller unchanged (perfnb errors pickle).
    The stream engine keeps *threads* partitions in flight (memory: that many partitions at once).
    """
    if not parts:
        raise InputError("nothing to read: no partitions")
    check_engine(engine)
    bar = progress_bar(sum(p.nbytes for p in parts), desc=desc, enabled=progress)
    try:
        if engine == "dask":
            from distributed import as_completed

            c = get_client(client)
            mapped = [list(parts)] if args is None else [list(parts), list(args)]
            futures = c.map(func, *mapped, pure=False, **kwargs)
            size = {f.key: p.nbytes for f, p in zip(futures, parts, strict=True)}
            acc: Any = None
            for fut in as_completed(futures):
                part_result = fut.result()
                acc = part_result if acc is None else merge(acc, part_result)
                bar.update(size[fut.key])
                fut.release()
            return acc  # type: ignore[no-any-return]
        extra: list[tuple[Any, ...]] = [()] * len(parts) if args is None else [(a,) for a in args]
        if threads <= 1 or len(parts) == 1:
            return reduce(
                merge, (_step(func, p, e, bar, kwargs) for p, e in zip(parts, extra, strict=True))
            )
        # a small window of partitions in flight: pyarrow's parsing and numpy's counting release the
        # GIL, so reading partition i+1 overlaps aggregating partition i; memory stays bounded
        from concurrent.futures import ThreadPoolExecutor

        acc2: Any = None
        with ThreadPoolExecutor(max_workers=threads) as pool:
            pending = [
                pool.submit(_step, func, p, e, bar, kwargs)
                for p, e in zip(parts[:threads], extra, strict=False)
            ]
            nxt = threads
            while pending:
                done = pending.pop(0).result()
                acc2 = done if acc2 is None else merge(acc2, done)
                if nxt < len(parts):
                    pending.append(pool.submit(_step, func, parts[nxt], extra[nxt], bar, kwargs))
                    nxt += 1
        return acc2  # type: ignore[no-any-return]
    finally:
        bar.close()


def _step(
    func: Callable[..., T],
    part: Partition,
    extra: tuple[Any, ...],
    bar: Any,
    kwargs: dict[str, Any],
) -> T:
    out = func(part, *extra, **kwargs)
    bar.update(part.nbytes)
    return out
