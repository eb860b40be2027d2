from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfnb import units
from perfnb.errors import InputError


def test_conversions_keep_container_types() -> None:
    s = units.us_to_s(pd.Series([1_000_000.0, 250_000.0]))
    assert isinstance(s, pd.Series)
    assert s.tolist() == [1.0, 0.25]
    a = units.us_to_s(np.array([1_000_000]))
    assert isinstance(a, np.ndarray)
    assert a[0] == pytest.approx(1.0)


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
