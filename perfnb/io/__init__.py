"""Readers: one module per tool or format, each exposing ``read_<format>()`` and registering its formats.

``perfnb.read(path)`` (from :mod:`perfnb.io._common`) sniffs a file by content and dispatches. Importing this
package imports every reader module, which registers its formats; add one import line per module below.
"""

from __future__ import annotations

from perfnb.io import _common  # noqa: F401

# --- reader modules (one import per line; each registers its formats) ---
