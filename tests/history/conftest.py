"""Fixtures of the history tests: nightly runs derived from a real Locust run.

``data/samples/loadtests/steady/run_requests.csv`` was written by a real Locust run against a local server
(``data/generate/loadtests.py``). Each "night" here is a transformation of that real data, never invented
numbers (:func:`perfnb.history.demo.derive_night`): a 25-second window of its requests starting one
second later than the previous night's (so the nights differ the way overlapping samples of one run do),
moved by whole days so the nights are a day apart, and, for the slow nights, ``/api/cart``'s response
times multiplied by 1.4 (the step to detect).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from perfnb.history.demo import derive_night
from tests.conftest import SAMPLES

STEADY = SAMPLES / "loadtests" / "steady" / "run_requests.csv"
SLOW_LABEL = "/api/cart"


@pytest.fixture
def make_nights(tmp_path: Path) -> Callable[[int, int], list[Path]]:
    """``make_nights(n, first_slow)``: n night folders, nights ≥ first_slow slower on /api/cart."""
    source = pd.read_csv(STEADY)

    def make(n: int, first_slow: int) -> list[Path]:
        return [
            derive_night(
                source, i, tmp_path / "nights", slow_label=SLOW_LABEL if i >= first_slow else ""
            )
            for i in range(n)
        ]

    return make


@pytest.fixture(autouse=True)
def no_ci_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The history reads the CI's commit variables; tests must not see the developer's or CI's."""
    from perfnb.history.store import COMMIT_ENV_VARS

    for name in COMMIT_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
