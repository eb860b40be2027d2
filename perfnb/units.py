"""Unit conversions that more than one module needs: microseconds and written durations to seconds.

perfnb's tables hold durations in float seconds (``*_s``), sizes in bytes (``*_bytes``) and fractions as
ratios 0–1 (``*_ratio``). Readers convert at load time, never later; most conversions are a single
factor next to the field they read (``Actual Total Time`` ms → s in the EXPLAIN reader), and only the
shared ones live here. :func:`us_to_s` accepts a scalar, a numpy array or a pandas Series and returns
the same kind.

Entry points: :func:`us_to_s` (Chrome trace events), :func:`parse_duration` (``"250ms"``, Go-style
``"1m30s"``: Prometheus steps, k6 durations).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar, cast

from perfnb.errors import InputError

__all__ = ["DURATION_UNITS", "parse_duration", "us_to_s"]

T = TypeVar("T")

#: Seconds per unit, for the spellings that tools write.
DURATION_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,  # Greek mu, as some tools (k6) print it
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
}


def _scale(value: T, factor: float) -> T:
    scaled: Any = value
    return cast(T, scaled * factor)


def us_to_s(value: T) -> T:
    """Microseconds to seconds (Chrome trace events, speedscope ``microseconds``, py-spy)."""
    return _scale(value, 1e-6)


_DURATION_RE = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*([a-zA-Zµμ]+)\s*$")
_GO_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Parse a duration such as ``"250ms"``, ``"1.5 s"``, ``"2m3.5s"`` (Go style, as k6 prints) to seconds.

    Raises
    ------
    InputError
        If *text* is not a duration.

    Examples
    --------
    >>> parse_duration("250ms"), parse_duration("1m30s"), parse_duration("12.3µs")
    (0.25, 90.0, 1.23e-05)
    """
    m = _DURATION_RE.match(text)
    if m and m.group(2) in DURATION_UNITS:
        return float(m.group(1)) * DURATION_UNITS[m.group(2)]
    stripped = text.strip()
    parts = _GO_DURATION_RE.findall(stripped)
    if parts and "".join(n + u for n, u in parts) == stripped:
        return float(sum(float(n) * DURATION_UNITS[u] for n, u in parts))
    raise InputError("not a duration", found=text, expected="a number with a unit such as '250ms'")
