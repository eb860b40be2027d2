"""Mutation kinds of the extended fuzz harness (tests/test_fuzz_extended.py).

The hypothesis harness (tests/test_fuzz.py) flips bytes and edits lines; these kinds target what it never
found: numeric edge values (``1e999``, ``Infinity``, ``NaN``, 40-digit integers, out-of-range epochs,
negative durations), encodings (UTF-8 BOM, UTF-16 with and without BOM, latin-1, an unknown XML encoding),
gzip (whole, truncated, named ``.gz`` or not), deep nesting, huge lines (200 kB fields), CR-only line ends,
and special files (a FIFO, a folder, a sparse file, a symlink to ``/dev/zero``).

Every mutant is derived from a real sample file of a target, deterministically from ``(seed, case
number)``. :func:`cases` lists them; :func:`materialize` writes one into a folder.
"""

from __future__ import annotations

import gzip
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])")

EDGE_VALUES = (
    b"1e999",
    b"-1e999",
    b"Infinity",
    b"-Infinity",
    b"NaN",
    b"nan",
    b"inf",
    b"1" + b"0" * 39,
    b"-" + b"9" * 40,
    b"9223372036854775808",
    b"1e308",
    b"4.9e-324",
    b"-351",
    b"-0",
    b"99999999999999999",
    b"253402300800000",
    b"0x1F",
    b"1_000",
    b"",
)

SPARSE_BYTES = 768 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    """One extended fuzz case: a target (by index), one of its samples, a mutation and its seed."""

    target: int
    sample: str
    mutation: str
    seed: int

    @property
    def id(self) -> str:
        return f"t{self.target}:{Path(self.sample).name}:{self.mutation}:{self.seed}"


def _numeric(data: bytes, rnd: random.Random) -> bytes:
    spans = [m.span() for m in NUMBER.finditer(data[:2_000_000])]
    if not spans:
        return data + b"\n" + rnd.choice(EDGE_VALUES)
    value = rnd.choice(EDGE_VALUES)
    if rnd.random() < 0.3:  # every number on one line
        a, _ = rnd.choice(spans)
        start = data.rfind(b"\n", 0, a) + 1
        end = data.find(b"\n", a)
        end = len(data) if end < 0 else end
        line = NUMBER.sub(lambda _m: value, data[start:end])
        return data[:start] + line + data[end:]
    a, b = rnd.choice(spans)
    return data[:a] + value + data[b:]


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _encoding(codec: str, bom: bool) -> Callable[[bytes, random.Random], bytes]:
    def mutate(data: bytes, rnd: random.Random) -> bytes:
        text = _text(data)
        if text is None:
            return data
        if codec == "latin-1":  # a non-ASCII label, written by a tool set to latin-1
            lines = text.split("\n")
            j = rnd.randrange(len(lines))
            lines[j] = lines[j].replace("a", "\u00e9", 1) or "\u00e9"
            return "\n".join(lines).encode("latin-1", "replace")
        out = text.encode(codec)
        if bom:
            out = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[
                codec
            ] + out
        return out

    return mutate


def _xml_encoding(data: bytes, rnd: random.Random) -> bytes:
    name = rnd.choice([b"x-unknown-42", b"ebcdic-cp-us", b"utf-7", b"UTF-16"])
    if data.lstrip().startswith(b"<?xml"):
        return re.sub(rb'encoding="[^"]*"', b'encoding="' + name + b'"', data, count=1)
    return b'<?xml version="1.0" encoding="' + name + b'"?>\n' + data


def _gzip(data: bytes, rnd: random.Random) -> bytes:
    return gzip.compress(data, mtime=0)


def _gzip_truncated(data: bytes, rnd: random.Random) -> bytes:
    z = gzip.compress(data, mtime=0)
    return z[: max(10, int(len(z) * rnd.uniform(0.2, 0.9)))]


def _deep(data: bytes, rnd: random.Random) -> bytes:
    depth = rnd.choice([5_000, 100_000])
    pos = rnd.randrange(len(data) + 1)
    # after a ':' or '[' in JSON a value goes there; elsewhere it is just odd text
    colon = data.find(b":", pos)
    if colon >= 0 and rnd.random() < 0.7:
        pos = colon + 1
    nest = rnd.choice([b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth])
    return data[:pos] + nest + data[pos:]


def _huge_line(data: bytes, rnd: random.Random) -> bytes:
    filler = rnd.choice([b"x" * 200_000, b"9" * 200_000, b'"' + b"y" * 200_000 + b'"'])
    spans = [m.span() for m in NUMBER.finditer(data[:2_000_000])]
    if spans and rnd.random() < 0.6:
        a, b = rnd.choice(spans)
        return data[:a] + filler + data[b:]
    pos = rnd.randrange(len(data) + 1)
    return data[:pos] + filler + data[pos:]


def _cr_only(data: bytes, rnd: random.Random) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


def _nul_run(data: bytes, rnd: random.Random) -> bytes:
    pos = rnd.randrange(len(data) + 1)
    return data[:pos] + b"\x00" * 1_000_000 + data[pos:]


#: Mutations of the file's bytes. Special files (FIFO, folder, sparse, /dev/zero) are made in
#: :func:`materialize`.
MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "numeric": _numeric,
    "bom_utf8": _encoding("utf-8", True),
    "utf16le_bom": _encoding("utf-16-le", True),
    "utf16be_bom": _encoding("utf-16-be", True),
    "utf16le": _encoding("utf-16-le", False),
    "latin1": _encoding("latin-1", False),
    "xml_encoding": _xml_encoding,
    "gzip": _gzip,
    "gzip_named": _gzip,
    "gzip_truncated": _gzip_truncated,
    "deep_nesting": _deep,
    "huge_line": _huge_line,
    "cr_only": _cr_only,
    "nul_run": _nul_run,
}
SPECIAL = ("fifo", "directory", "sparse", "dev_zero")
TEXT_ONLY = {"numeric", "latin1", "xml_encoding", "huge_line", "cr_only", "deep_nesting"}
#: How many seeds each mutation gets in the full run (deterministic kinds need one).
SEEDS = {
    "numeric": 40,
    "deep_nesting": 4,
    "huge_line": 6,
    "latin1": 3,
    "xml_encoding": 2,
    "gzip_truncated": 2,
    "nul_run": 2,
}


def cases(targets: list[tuple[tuple[Path, ...], bool]], *, seed: int = 0) -> list[Case]:
    """Every case of the full run for *targets* (``(samples, text)`` pairs), in a stable order."""
    out: list[Case] = []
    for t, (samples, text) in enumerate(targets):
        present = [s for s in samples if s.is_file()]
        for s_i, sample in enumerate(present):
            for name in (*MUTATIONS, *SPECIAL):
                if name in TEXT_ONLY and not text:
                    continue
                if name in SPECIAL and s_i > 0:
                    continue  # special files do not depend on the content
                for k in range(SEEDS.get(name, 1)):
                    out.append(Case(t, str(sample), name, seed * 1_000_003 + k))
    return out


def materialize(case: Case, folder: Path, suffix: str = "") -> Path:
    """Write the mutant of *case* into *folder* and return its path (named like the sample)."""
    sample = Path(case.sample)
    name = sample.name if not suffix else f"sample{suffix}"
    if case.mutation == "gzip_named":
        name += ".gz"
    path = folder / name
    if case.mutation == "fifo":
        os.mkfifo(path)
        return path
    if case.mutation == "directory":
        path.mkdir()
        return path
    if case.mutation == "dev_zero":
        path.symlink_to("/dev/zero")
        return path
    data = sample.read_bytes()
    if case.mutation == "sparse":  # the real content, then a hole read back as NUL bytes
        with path.open("wb") as fh:
            fh.write(data)
            fh.truncate(SPARSE_BYTES)
        return path
    rnd = random.Random(case.seed)
    path.write_bytes(MUTATIONS[case.mutation](data, rnd))
    return path
