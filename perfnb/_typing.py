"""Type aliases shared across perfnb (pyinstrument's ``PathOrStr``)."""

from __future__ import annotations

import os
from typing import Literal, TypeAlias

PathLike: TypeAlias = "str | os.PathLike[str]"
OnBadLines: TypeAlias = Literal["error", "warn", "skip"]

__all__ = ["OnBadLines", "PathLike"]
