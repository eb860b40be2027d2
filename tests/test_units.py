from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfnb import units
from perfnb.errors import InputError


def test_conversions_keep_container_types() -> None:
    s = units.ms_to_s(pd.Series([1000.0, 250.0]))
    assert isinstance(s, pd.Series)
    assert s.tolist() == [1.0, 0.25]
    a = units.us_to_s(np.array([1_000_000]))
    assert isinstance(a, np.ndarray)
    assert a[0] == pytest.approx(1.0)
    assert units.ns_to_s(1e9) == pytest.approx(1.0)
    assert units.blocks_to_bytes(3) == 3 * 8192
    assert units.percent_to_ratio(80) == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("1.5 s", 1.5),
        ("2m3.5s", 123.5),
        ("12.3µs", 12.3e-6),
        ("1h", 3600.0),
        ("7ns", 7e-9),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert units.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "fast", "12 parsecs", "1m30"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InputError, match="not a duration"):
        units.parse_duration(text)


def test_unknown_unit() -> None:
    with pytest.raises(InputError, match="unknown duration unit 'fortnight'"):
        units.to_seconds(1, "fortnight")


def test_parse_size() -> None:
    assert units.parse_size("1 GiB") == 1024**3
    with pytest.raises(InputError):
        units.parse_size("a lot")
