"""Readers: one module per tool or format, each exposing ``read_<format>()`` and registering its formats.

``perfnb.read(path)`` (from :mod:`perfnb.io._common`) sniffs a file by content and dispatches. Importing this
package imports every reader module, which registers its formats; add one import line per module below.
"""

from __future__ import annotations

# the helpers every reader shares: one rule for files, folders, globs and lists
from perfnb.io._common import expand_paths, read, split_paths

__all__ = ["expand_paths", "read", "split_paths"]

# --- reader modules (one import per line; each registers its formats) ---
from perfnb.io import (
    _common,  # noqa: F401
    auto_explain,  # noqa: F401
    crux,  # noqa: F401
    explain,  # noqa: F401
    gatling,  # noqa: F401
    grafana,  # noqa: F401
    jmeter,  # noqa: F401
    k6,  # noqa: F401
    lighthouse,  # noqa: F401
    loadtests,  # noqa: F401
    locust,  # noqa: F401
    memcached,  # noqa: F401
    pg_stat_statements,  # noqa: F401
    profiles,  # noqa: F401
    prometheus,  # noqa: F401
    redis,  # noqa: F401
    rum,  # noqa: F401
    tidy_metrics,  # noqa: F401
)
