"""The extended bad-input harness: numeric edges, encodings, gzip, deep nesting, huge lines, CR-only line
ends, NUL runs and special files (FIFO, folder, sparse file, /dev/zero), each case in a subprocess under a
CPU-time limit, a wall-clock limit and an address-space cap (``tests/fuzz_targets/_runner.py``).

A case passes when the reader returns or raises a :class:`perfnb.errors.PerfnbError`; any other exception
(``MemoryError`` included), a timeout or a killed process fails it. The default run takes a seeded,
bounded sample that covers every mutation kind (well under a minute); ``PERFNB_FUZZ_FULL=1`` runs every
case (a few minutes), ``PERFNB_FUZZ_SEED`` picks another sample. The same runner is a script:
``python -m tests.fuzz_targets._runner [--only FORMAT] [--mutation KIND]``.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.fuzz_targets._base import all_targets
from tests.fuzz_targets._mutants import MUTATIONS, SPECIAL, Case
from tests.fuzz_targets._runner import FAILURES, full_cases, run

TIMEOUT_S = 20.0  # CPU seconds per case; a blocked case gets 60 s of wall time
MEM_MB = 1536
SAMPLE = 60


def _selected() -> list[Case]:
    everything = full_cases()
    if os.environ.get("PERFNB_FUZZ_FULL") == "1":
        return everything
    rnd = random.Random(int(os.environ.get("PERFNB_FUZZ_SEED", "20261203")))
    by_kind: dict[str, list[Case]] = {}
    for c in everything:
        by_kind.setdefault(c.mutation, []).append(c)
    chosen = [rnd.choice(cases) for _, cases in sorted(by_kind.items())]  # every kind once
    rest = [c for c in everything if c not in chosen]
    chosen += rnd.sample(rest, min(len(rest), max(0, SAMPLE - len(chosen))))
    return chosen


def test_every_mutation_kind_is_generated() -> None:
    kinds = {c.mutation for c in full_cases()}
    assert kinds == {*MUTATIONS, *SPECIAL}


@pytest.mark.skipif(not all_targets(), reason="no fuzz targets")
def test_readers_fail_cleanly_within_time_and_memory() -> None:
    selected = _selected()
    failures = [
        out
        for out in run(selected, timeout_s=TIMEOUT_S, mem_mb=MEM_MB)
        if out["status"] in FAILURES
    ]
    lines = [
        f"{o['format']} {o['mutation']} ({o['id']}): {o['status']} {o.get('error', '')} "
        f"{o.get('msg', '')[:200]} at {o.get('where', '')}"
        for o in failures
    ]
    assert not failures, f"{len(failures)} of {len(selected)} cases failed:\n" + "\n".join(lines)
