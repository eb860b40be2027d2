"""Everything about notebooks and reports: running them, rendering HTML, recording results.

Entry points: :func:`perfnb.report.record` (called in the last cell of every notebook),
:func:`perfnb.report.run.run_notebook` (what ``perfnb run`` does), :func:`perfnb.report.render.render_html`.
Nothing in ``perfnb.io`` or ``perfnb.analysis`` depends on this package.
"""

from __future__ import annotations

from perfnb.report.record import read_records, record

__all__ = ["read_records", "record"]
