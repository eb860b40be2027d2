"""Formatting in one place: every number a report shows, with its unit, and every table as a Styler.

Units come from the schema's naming convention (CONVENTIONS C.4: the unit is the column's suffix):
``_s`` durations print as µs/ms/s, ``_bytes`` as B/KiB/MiB/GiB, ``_ratio`` as percentages, ``_per_s`` as
rates, columns named ``*score*`` as Lighthouse's 0–100, integer counts with thousands separators, and
missing values (NaN, None, ``<NA>``, NaT) as an em dash. No float ever shows more than four decimals.

Entry points: :func:`fmt_value` (one value, by column name), :func:`style` (a DataFrame or Series as a
pandas :class:`~pandas.io.formats.style.Styler` with those formats, index hidden when it carries nothing,
wide tables cut to the columns that matter), :func:`to_html`, and :func:`install`, which a notebook calls
once so that every DataFrame, Series, mapping or string it displays goes through :func:`style`.
"""

from __future__ import annotations

import datetime as dt
import enum
import html
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MISSING", "fmt_duration", "fmt_value", "install", "style", "to_html"]

#: How a missing value is shown.
MISSING = "—"
#: Columns shown at most in a report table (the rest stay in the notebook's frame).
MAX_COLUMNS = 9
#: Rows shown at most.
MAX_ROWS = 60


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def _plain(value: float) -> str:
    """A unitless number: integers with separators, at most four decimals, never scientific."""
    if not math.isfinite(value):
        return MISSING if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 10:
        return f"{value:,.1f}"
    if a >= 0.01:
        return f"{value:.3g}"
    text = f"{value:.4f}"
    return text if float(text) != 0 else ("< 0.0001" if value > 0 else "> −0.0001")


def fmt_duration(seconds: float) -> str:
    """A duration: ``850 µs``, ``12.3 ms``, ``1.25 s``, ``1,234 s``.

    Examples
    --------
    >>> fmt_duration(0.0123), fmt_duration(2.5), fmt_duration(0.0000004)
    ('12.3 ms', '2.5 s', '0.4 µs')
    """
    if not math.isfinite(seconds):
        return MISSING
    a = abs(seconds)
    if a == 0:
        return "0 s"
    if a < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if a < 1:
        return f"{seconds * 1e3:.3g} ms"
    if a < 100:
        return f"{seconds:.3g} s"
    return f"{seconds:,.0f} s"


def _bytes(value: float) -> str:
    a = abs(value)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if a >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value:,.0f} B"


def _unit_of(column: str) -> str:
    name = column.lower()
    if name.endswith(("_bytes", "_bytes_per_s")) or name in ("bytes", "size"):
        return "bytes"
    if name.endswith("_per_s"):
        return "rate"
    if name.endswith("_ratio") or name in ("ratio", "share"):
        return "ratio"
    if "score" in name:
        return "score"
    if name.endswith("_s") or name in ("seconds", "duration"):
        return "s"
    return ""


def fmt_value(value: Any, column: str = "") -> str:
    """*value* as text, formatted for the unit that *column*'s name declares (plain text, not escaped).

    Examples
    --------
    >>> fmt_value(0.1234, "self_ratio"), fmt_value(8439000, "size_bytes"), fmt_value(0.93, "score")
    ('12.3 %', '8.0 MiB', '93')
    >>> fmt_value(float("nan"), "p95_s"), fmt_value(1234567, "calls"), fmt_value(0.0101, "p95_s")
    ('—', '1,234,567', '10.1 ms')
    """
    if isinstance(value, Mapping):
        return ", ".join(f"{_label(str(k))}: {fmt_value(v, str(k))}" for k, v in value.items())
    if isinstance(value, pd.DataFrame):
        return f"a table of {len(value):,} rows"
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        items = list(value)
        shown = ", ".join(fmt_value(v, column) for v in items[:5])
        return shown + (f" … ({len(items):,} in all)" if len(items) > 5 else "")
    if _missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        text = ts.strftime("%Y-%m-%d %H:%M:%S")
        return text + (
            " UTC" if ts.tzinfo is not None and ts.utcoffset() == dt.timedelta(0) else ""
        )
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return fmt_duration(pd.Timedelta(value).total_seconds())
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            return _plain(v)
        unit = _unit_of(column)
        if unit == "s":
            return fmt_duration(v)
        if unit == "bytes":
            return _bytes(v)
        if unit == "ratio":
            pct = v * 100
            if abs(pct) >= 10:
                return f"{pct:.1f} %"
            if abs(pct) >= 0.01 or pct == 0:
                return f"{pct:.3g} %"
            return "< 0.01 %" if pct > 0 else "> −0.01 %"
        if unit == "score":
            return f"{v * 100:.0f}" if 0 <= v <= 1 and not float(v).is_integer() else _plain(v)
        if unit == "rate":
            return f"{_plain(v)}/s"
        return _plain(v)
    if isinstance(value, enum.Enum):
        return str(value.name)
    text = str(value)
    if _ISO.match(text):
        try:
            return fmt_value(pd.Timestamp(text))
        except ValueError:
            pass
    return text if len(text) <= 300 else text[:299] + "…"


_ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


_UNITS = ("_bytes_per_s", "_per_s", "_bytes", "_ratio", "_s")


def _label(column: str) -> str:
    """A column or evidence name without its unit suffix (the value carries the unit)."""
    for suffix in _UNITS:
        if column.endswith(suffix) and len(column) > len(suffix):
            return column[: -len(suffix)].replace("_", " ")
    return column.replace("_", " ")


#: measures that matter most in a narrow table, by name fragment (first match ranks first)
_PRIORITY = (
    "p95",
    "p99",
    "throughput",
    "error",
    "apdex",
    "self",
    "total",
    "calls",
    "requests",
    "p50",
)


def _important(df: pd.DataFrame, max_columns: int) -> list[str]:
    """The columns that matter, in their order: those with values; labels, then the key measures."""
    cols = [c for c in df.columns if not df[c].isna().all()] or list(df.columns)
    if len(cols) <= max_columns:
        return cols

    def rank(c: Any) -> tuple[int, int]:
        name = str(c).lower()
        if not pd.api.types.is_numeric_dtype(df[c]):
            return (0, 0)
        hits = [i for i, key in enumerate(_PRIORITY) if key in name]
        return (1, hits[0]) if hits else (2, 0)

    keep = set(sorted(cols, key=lambda c: rank(c))[:max_columns])
    return [c for c in cols if c in keep]


def _cell(value: Any, column: str) -> str:
    if column == "severity" and str(value) in ("info", "warning", "critical"):
        return severity_badge(str(value))
    return html.escape(fmt_value(value, column), quote=True)


#: badge colours, inline so that a findings table is styled in JupyterLab too (no stylesheet there)
_BADGE = {
    "critical": "color:#fff;background:#b00020",
    "warning": "color:#000;background:#ffb300",
    "info": "color:#fff;background:#1565c0",
}


def severity_badge(severity: str) -> str:
    """A severity label styled inline (reports, the index and JupyterLab alike)."""
    s = html.escape(severity, quote=True)
    colours = _BADGE.get(severity, "color:#fff;background:#666")
    return (
        f'<span class="perfnb-sev perfnb-sev-{s}" style="{colours};padding:1px 6px;'
        f'border-radius:3px;font-weight:600;white-space:nowrap">{s}</span>'
    )


def style(
    data: pd.DataFrame | pd.Series | Mapping[str, Any],
    *,
    columns: Sequence[str] | None = None,
    max_columns: int = MAX_COLUMNS,
    max_rows: int = MAX_ROWS,
    caption: str = "",
) -> Any:
    """*data* as a :class:`~pandas.io.formats.style.Styler` with perfnb's formats.

    Parameters
    ----------
    data
        A DataFrame; a Series or a mapping becomes a two-column ``name, value`` table.
    columns
        The columns to show (default: the first *max_columns* that hold values).
    max_rows
        Rows beyond this are left out; the caption says how many.
    caption
        Shown above the table; notes about left-out rows and columns are appended.
    """
    if isinstance(data, pd.Series | Mapping):
        items = data.items()
        frame = pd.DataFrame(
            [(str(k), fmt_value(v, str(k))) for k, v in items], columns=["name", "value"]
        )
        frame["name"] = frame["name"].map(_label)
        frame.attrs = {}
    else:
        frame = data
    notes = []
    shown = list(columns) if columns is not None else _important(frame, max_columns)
    hidden = len(frame.columns) - len(shown)
    if hidden > 0:
        notes.append(f"{hidden} more column(s) in the notebook")
    if len(frame) > max_rows:
        notes.append(f"first {max_rows:,} of {len(frame):,} rows")
        frame = frame.head(max_rows)
    view = frame[shown].copy()
    view.columns = [str(c) for c in view.columns]
    keep_index = not isinstance(view.index, pd.RangeIndex)
    if keep_index:
        view.index = [fmt_value(i) for i in view.index]
    formatters: dict[Any, Any] = {c: (lambda v, c=c: _cell(v, c)) for c in view.columns}
    styler = view.style.format(formatters, na_rep=MISSING)
    if keep_index:
        styler = styler.format_index(lambda v: html.escape(str(v), quote=True), axis=0)
    else:
        styler = styler.hide(axis="index")
    styler = styler.format_index(lambda v: html.escape(_label(str(v)), quote=True), axis=1)
    text = "; ".join(x for x in (caption, *notes) if x)
    if text:
        styler = styler.set_caption(html.escape(text))
    numeric: list[Any] = [c for c in view.columns if pd.api.types.is_numeric_dtype(view[c])]
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    return styler.set_table_attributes('class="perfnb-table"')


def to_html(data: pd.DataFrame | pd.Series | Mapping[str, Any], **kwargs: Any) -> str:
    """:func:`style` rendered to HTML (no ``id`` clashes: pandas gives each table its own uuid)."""
    return str(style(data, **kwargs).to_html())


def _str_html(text: str) -> str:
    return f'<p class="perfnb-note">{html.escape(text)}</p>'


def install() -> None:
    """Show every DataFrame, Series, mapping and string a notebook displays through :func:`style`.

    Called once in each notebook's imports cell; outside IPython it does nothing. Objects with their own
    ``_repr_html_`` (findings, plans, load tests) keep it.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(pd.DataFrame, to_html)
    formatter.for_type(pd.Series, to_html)
    formatter.for_type(dict, to_html)
    formatter.for_type(str, _str_html)
    # a DataFrame's text/plain repr is what JupyterLab's copy-paste shows; keep it
