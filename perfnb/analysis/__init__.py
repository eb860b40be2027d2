"""Analyses: pure functions from DataFrames to DataFrames or scalars; no I/O and no plotting."""

from __future__ import annotations
