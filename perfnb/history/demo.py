"""A demo history derived from the bundled real Locust run (for the ``history_trends`` notebook and tests).

``data/samples/loadtests/steady/run_requests.csv`` was written by a real Locust run. Each "night" is a
transformation of it, never invented numbers: a 25-second window of its requests starting one second
later than the previous night's (nights differ the way overlapping samples of one run do), moved by whole
days, and for the slow nights one label's response times multiplied by a factor (the step to find).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from perfnb.history.store import History

__all__ = ["DEMO_SOURCE", "demo_history", "derive_night"]


def _data_root() -> Path:
    here = Path(__file__).resolve().parent.parent  # perfnb/
    checkout = here.parent / "data"
    return checkout if checkout.is_dir() else here / "_root" / "data"


#: The real Locust run the demo nights are derived from.
DEMO_SOURCE = _data_root() / "samples" / "loadtests" / "steady" / "run_requests.csv"


def derive_night(
    source: pd.DataFrame,
    i: int,
    folder: str | os.PathLike[str],
    *,
    slow_label: str = "",
    factor: float = 1.4,
) -> Path:
    """Write night *i* (``<folder>/night<i>/requests.csv``) from the real requests in *source*."""
    t0 = source["timestamp"].min()
    part = source[(source["timestamp"] >= t0 + i) & (source["timestamp"] < t0 + i + 25)].copy()
    part["timestamp"] += i * 86400
    if slow_label:
        m = part["name"] == slow_label
        part.loc[m, "response_time_ms"] = (part.loc[m, "response_time_ms"] * factor).round(2)
    out = Path(folder) / f"night{i:02d}"
    out.mkdir(parents=True, exist_ok=True)
    part.to_csv(out / "requests.csv", index=False)
    return out


def demo_history(
    folder: str | os.PathLike[str],
    *,
    nights: int = 11,
    first_slow: int = 6,
    slow_label: str = "/api/cart",
    source: str | os.PathLike[str] = DEMO_SOURCE,
) -> History:
    """Record *nights* nights derived from the real run into ``<folder>/history.sqlite`` (system ``demo``).

    From night *first_slow* on, *slow_label* is 1.4 × slower: the history holds one real-looking step.
    """
    frame = pd.read_csv(source)
    history = History(Path(folder) / "history.sqlite")
    for i in range(nights):
        night = derive_night(
            frame, i, Path(folder) / "nights", slow_label=slow_label if i >= first_slow else ""
        )
        history.record({"loadtest": str(night)}, system="demo", commit=f"demo{i:02d}")
    return history
