"""Figures: ``plot_<thing>(data, *, ax=None, ...)`` returning the Axes or Figure; never ``show()``."""

from __future__ import annotations
