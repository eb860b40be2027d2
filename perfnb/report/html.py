"""Small HTML builders for reports, every one escaping the text it did not generate.

They live in the core module :mod:`perfnb._html` (so findings, plots and models can use them without
importing the report layer) and are re-exported here for report code.
"""

from __future__ import annotations

from perfnb._html import esc, findings_table, key_values

__all__ = ["esc", "findings_table", "key_values"]
