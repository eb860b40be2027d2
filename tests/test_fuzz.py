"""The shared bad-input harness: every reader, fed mutations of its real samples, raises only perfnb errors.

Targets come from ``tests/fuzz_targets/*.py`` (each defines ``TARGETS``). For each target hypothesis
generates truncations, random bytes, byte flips/insertions/deletions and line-level mutations (drop, repeat,
swap, cut a line in half) of the real sample files; the reader must either return or raise a
:class:`perfnb.errors.PerfnbError` — never a bare ``KeyError``, ``JSONDecodeError`` or pandas ``ParserError``
— and each example must finish within a bounded time (an alarm, not a timing assertion: a hang fails).
Both ``perfnb.read`` (sniffing) and the format's own reader are exercised.
"""

from __future__ import annotations

import signal
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import perfnb
from perfnb.errors import PerfnbError, PerfnbWarning
from perfnb.io._common import FORMATS
from tests.fuzz_targets._base import FuzzTarget, all_targets

EXAMPLE_LIMIT_S = 20


TARGETS = all_targets()


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def _raise(signum: int, frame: object) -> None:
        raise TimeoutError(f"reader did not finish within {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _mutate(data: bytes, choice: int, pos: float, length: int, payload: bytes, text: bool) -> bytes:
    n = len(data)
    i = min(int(pos * n), n)
    kind = choice % (8 if text else 5)
    if kind == 0:  # truncate
        return data[:i]
    if kind == 1:  # random bytes instead of the file
        return payload
    if kind == 2:  # flip bytes
        out = bytearray(data)
        for k, b in enumerate(payload[:length] or b"\xff"):
            if i + k < n:
                out[i + k] ^= b or 0x5A
        return bytes(out)
    if kind == 3:  # insert
        return data[:i] + payload + data[i:]
    if kind == 4:  # delete a span
        return data[:i] + data[i + length :]
    lines = data.split(b"\n")
    j = min(int(pos * len(lines)), len(lines) - 1)
    if kind == 5:  # drop a line
        del lines[j]
    elif kind == 6:  # cut a line in half
        lines[j] = lines[j][: len(lines[j]) // 2]
    else:  # repeat a line
        lines.insert(j, lines[j])
    return b"\n".join(lines)


def _call(fn: object, path: Path, **kwargs: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfnbWarning)
        try:
            with _time_limit(EXAMPLE_LIMIT_S):
                fn(path, **kwargs)  # type: ignore[operator]
        except PerfnbError:
            pass


@pytest.mark.skipif(not TARGETS, reason="no reader has registered a fuzz target yet")
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.format}")
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sample_index=st.integers(min_value=0, max_value=1000),
    choice=st.integers(min_value=0, max_value=1000),
    pos=st.floats(min_value=0, max_value=1),
    length=st.integers(min_value=1, max_value=64),
    payload=st.binary(min_size=0, max_size=256),
)
def test_reader_survives_mutations(
    target: FuzzTarget,
    tmp_path_factory: pytest.TempPathFactory,
    sample_index: int,
    choice: int,
    pos: float,
    length: int,
    payload: bytes,
) -> None:
    samples = [s for s in target.samples if s.is_file()]
    if not samples:
        pytest.skip(f"{target.format}: no sample files present")
    sample = samples[sample_index % len(samples)]
    data = _mutate(sample.read_bytes(), choice, pos, length, payload, target.text)
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / (sample.name if not target.suffix else f"sample{target.suffix}")
    path.write_bytes(data)
    _call(target.reader, path, **target.kwargs)
    _call(perfnb.read, path)


def test_every_format_has_a_fuzz_target() -> None:
    fuzzed = {t.format for t in TARGETS}
    missing = sorted(name for name in FORMATS if name not in fuzzed)
    assert not missing, f"formats without a fuzz target in tests/fuzz_targets/: {missing}"


def test_fuzz_targets_have_real_samples() -> None:
    from tests.conftest import CORPUS

    for t in TARGETS:
        assert t.samples, f"{t.format}: no sample files declared"
        if not CORPUS.is_dir() and all(CORPUS in s.parents for s in t.samples):
            continue  # tools that cannot run here (JMeter, k6, Gatling): samples from the shared corpus
        assert any(s.is_file() for s in t.samples), f"{t.format}: none of {t.samples} exists"
