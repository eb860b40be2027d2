"""Everything about notebooks and reports: running them, rendering HTML, recording results.

Entry points: :func:`perfnb.report.record` (called in the last cell of every notebook),
:func:`perfnb.report.run.run_notebook` (what ``perfnb run`` does), :func:`perfnb.report.render.render_html`.
Nothing in ``perfnb.io`` or ``perfnb.analysis`` depends on this package.
"""

from __future__ import annotations

from perfnb.report.record import read_records, record, time_window

__all__ = ["read_records", "record", "setup_notebook", "style", "time_window"]


def setup_notebook() -> None:
    """Called in each notebook's imports cell: tables display through :func:`style` (units, no NaN)."""
    from perfnb.report.format import install

    install()


def style(data: object, **kwargs: object) -> object:
    """A DataFrame, Series or mapping as a formatted Styler (see :func:`perfnb.report.format.style`)."""
    from perfnb.report.format import style as _style

    return _style(data, **kwargs)  # type: ignore[arg-type]
