"""Unit conversions: the one place where ms, µs, ns, percent and blocks become base units.

perfnb's tables hold durations in float seconds (``*_s``), sizes in bytes (``*_bytes``) and fractions as
ratios 0–1 (``*_ratio``). Readers convert at load time with these helpers and never later, so a reader's
unit assumptions are visible here and in its calls. Every function accepts a scalar, a numpy array or a
pandas Series and returns the same kind.

Entry points: :func:`to_seconds`, :func:`ms_to_s`, :func:`us_to_s`, :func:`ns_to_s`,
:func:`percent_to_ratio`, :func:`blocks_to_bytes`, :func:`parse_duration`, :func:`parse_size`.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar, cast

from perfnb.errors import InputError

__all__ = [
    "DURATION_UNITS",
    "POSTGRES_BLOCK_SIZE",
    "SIZE_UNITS",
    "blocks_to_bytes",
    "ms_to_s",
    "ns_to_s",
    "parse_duration",
    "parse_size",
    "percent_to_ratio",
    "to_seconds",
    "us_to_s",
]

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

#: Bytes per unit. Decimal prefixes are SI, binary prefixes IEC (Grafana writes both).
SIZE_UNITS: dict[str, float] = {
    "b": 1.0,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "tb": 1e12,
    "kib": 1024.0,
    "mib": 1024.0**2,
    "gib": 1024.0**3,
    "tib": 1024.0**4,
}

#: PostgreSQL's default block size (``SHOW block_size``); buffer counts times this are bytes.
POSTGRES_BLOCK_SIZE = 8192


def _scale(value: T, factor: float) -> T:
    scaled: Any = value
    return cast(T, scaled * factor)


def to_seconds(value: T, unit: str) -> T:
    """Convert *value* from *unit* (``"ns"``, ``"us"``, ``"µs"``, ``"ms"``, ``"s"``, ``"min"``, ``"h"``) to seconds.

    Examples
    --------
    >>> to_seconds(1500, "ms")
    1.5
    """
    try:
        factor = DURATION_UNITS[unit]
    except KeyError:
        raise InputError(
            f"unknown duration unit {unit!r}", expected=f"one of {', '.join(DURATION_UNITS)}"
        ) from None
    return _scale(value, factor)


def ms_to_s(value: T) -> T:
    """Milliseconds to seconds (Locust, JMeter, k6, EXPLAIN and Lighthouse write milliseconds).

    Examples
    --------
    >>> ms_to_s(250)
    0.25
    """
    return _scale(value, 1e-3)


def us_to_s(value: T) -> T:
    """Microseconds to seconds (Chrome trace events, speedscope ``microseconds``, py-spy)."""
    return _scale(value, 1e-6)


def ns_to_s(value: T) -> T:
    """Nanoseconds to seconds (Gatling/HdrHistogram, Go's pprof)."""
    return _scale(value, 1e-9)


def percent_to_ratio(value: T) -> T:
    """Percent (0–100) to a ratio (0–1).

    Examples
    --------
    >>> percent_to_ratio(95)
    0.95
    """
    scaled: Any = value
    return cast(T, scaled / 100.0)


def blocks_to_bytes(value: T, block_size: int = POSTGRES_BLOCK_SIZE) -> T:
    """PostgreSQL buffer block counts to bytes.

    Examples
    --------
    >>> blocks_to_bytes(2)
    16384
    """
    return _scale(value, block_size)


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


def parse_size(text: str) -> float:
    """Parse a size such as ``"1.5 MiB"``, ``"300kB"`` or ``"42"`` (bytes) to bytes.

    Examples
    --------
    >>> parse_size("1.5 KiB"), parse_size("2MB"), parse_size("42")
    (1536.0, 2000000.0, 42.0)
    """
    m = re.match(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*$", text)
    if m:
        unit = (m.group(2) or "b").lower()
        if unit in SIZE_UNITS:
            return float(m.group(1)) * SIZE_UNITS[unit]
    raise InputError("not a size", found=text, expected="a number with a unit such as '1.5 MiB'")
