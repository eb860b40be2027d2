"""Bundled sample paths (``samples:demo/locust``) and making input paths absolute.

Notebook defaults name bundled samples with a ``samples:`` prefix (CONVENTIONS C.9) so that "Run All" in
JupyterLab works wherever the kernel runs: the prefix maps to the package's data root (``data/samples`` of
a checkout, or the copy installed with the wheel), never to the working directory. :func:`resolve` also
makes every other local path absolute, so a path reaches a kernel or a Dask worker the same way whatever
folder it was typed in. It sits in the core layer (no perfnb imports) so every layer may call it.

Entry points: :func:`resolve`, :func:`resolve_many`, :func:`data_root`, :data:`PREFIX`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PREFIX", "data_root", "is_sample", "resolve", "resolve_many"]

#: The prefix that names a bundled sample.
PREFIX = "samples:"


def data_root() -> Path:
    """The folder the ``samples:`` prefix points at: ``data/samples`` of the checkout or the wheel."""
    here = Path(__file__).resolve().parent  # perfnb/
    checkout = here.parent / "data" / "samples"
    if checkout.is_dir() and (here.parent / "pyproject.toml").is_file():
        return checkout
    return here / "_root" / "data" / "samples"


def is_sample(value: object) -> bool:
    """Whether *value* names a bundled sample (``samples:…``) or a path under the data root."""
    if not isinstance(value, str | os.PathLike):
        return False
    text = os.fspath(value).strip()
    if text.startswith(PREFIX):
        return True
    if not text or "://" in text:
        return False
    try:
        Path(text).resolve().relative_to(data_root())
    except ValueError:
        return False
    return True


def resolve(value: str | os.PathLike[str], *, cwd: str | os.PathLike[str] | None = None) -> str:
    """Make one path parameter absolute: ``samples:X`` → data root / X; URLs and ``""`` unchanged.

    Comma-separated lists (``metrics_path="a.json, b/*.json"``) are resolved item by item.

    Examples
    --------
    >>> resolve("samples:demo/locust").endswith("demo/locust")
    True
    >>> resolve("")
    ''
    """
    text = os.fspath(value).strip()
    if not text or "://" in text:
        return text
    if "," in text:
        return ",".join(resolve(part, cwd=cwd) for part in text.split(",") if part.strip())
    if text.startswith(PREFIX):
        return str(data_root() / text[len(PREFIX) :].lstrip("/"))
    base = Path(cwd) if cwd is not None else Path.cwd()
    return str((base / Path(text).expanduser()).resolve())


def resolve_many(*values: str) -> tuple[str, ...]:
    """:func:`resolve` each value, for a notebook's ``a, b = perfnb.samples.resolve_many(a, b)``."""
    return tuple(resolve(v) for v in values)
