"""Type aliases shared across perfnb's layers (core: importable from models, readers and analyses)."""

from __future__ import annotations

from typing import Literal, TypeAlias

#: How a reader treats rows it cannot read (pandas' ``on_bad_lines``); :class:`perfnb.io._common.BadLines`.
OnBadLines: TypeAlias = Literal["error", "warn", "skip"]

__all__ = ["OnBadLines"]
