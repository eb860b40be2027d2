"""Reader for folded ("collapsed") stacks: ``root;…;leaf count`` lines.

Producers: py-spy ``record --format raw`` (frames ``name (file:line)``), Linux perf through
``stackcollapse-perf.pl`` (frame-type suffixes ``_[k]`` kernel, ``_[j]`` JIT, ``_[i]`` inlined, ``_[w]``
…, kept in the ``annotation`` column), async-profiler ``collapsed`` output, CPython 3.15 Tachyon collapsed
output. The count may be fractional (flamegraph.pl accepts it); a differential line ``stack c1 c2`` keeps
``c2`` and is counted in ``meta["differential_lines"]``. CRLF and UTF-16/UTF-8 BOMs are handled; ``#`` and
``//`` comment lines are skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from perfnb.errors import EmptyInputError
from perfnb.io._common import (
    BadLines,
    OnBadLines,
    ensure_path,
    guard_reader,
    read_text,
    register_format,
)
from perfnb.io.profiles._fast import from_stack_strings
from perfnb.model.profile import Frame, Profile, profile_run_label

__all__ = ["read_folded", "sniff_folded"]

_LINE = re.compile(rb"^(?:[^\t,]*[^\s,])? (\d+(?:\.\d*)?)(?: \d+(?:\.\d*)?)?\r?$")
_PYSPY = re.compile(r"^(.*) \(([^()]*?)(?::(\d+))?\)$")
_NO_FRAMES = "[no Python frames]"
_ANNOT = re.compile(r"_\[[a-z0-9]{1,3}\]$")


def sniff_folded(path: Path, head: bytes) -> bool:
    """Most non-comment lines end in `` <number>`` and the text has a ``;`` or only such lines."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            head = head.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return False
    if head[:1] in (b"{", b"[", b"\xfb") or head[:5].lower() in (b"<?xml", b"<!doc", b"<html"):
        return False
    lines = [ln for ln in head.splitlines()[:50] if ln.strip() and not ln.startswith((b"#", b"//"))]
    if len(lines) > 1 and not head.endswith(b"\n"):
        lines = lines[:-1]
    if not lines:
        return False
    good = sum(1 for ln in lines if _LINE.match(ln))
    if good < max(1, int(0.8 * len(lines))):
        return False
    return len(lines) == good or any(b";" in ln for ln in lines)


def _frame(text: str) -> Frame:
    ann = ""
    m = _ANNOT.search(text)
    if m is not None:
        ann = m.group()
        text = text[: m.start()]
    p = _PYSPY.match(text)
    if p is not None:
        return Frame(p.group(1), p.group(2), int(p.group(3) or 0), ann)
    return Frame(text, "", 0, ann)


@register_format(
    "folded",
    description="folded/collapsed stacks (py-spy raw, perf stackcollapse, async-profiler)",
    kind="profile",
    sniff=sniff_folded,
    priority=70,
)
@guard_reader
def read_folded(
    path: str | os.PathLike[str],
    *,
    run: str | None = None,
    sample_interval_s: float = 0.01,
    encoding: str | None = None,
    on_bad_lines: OnBadLines = "error",
) -> Profile:
    """Read a folded-stacks file.

    Parameters
    ----------
    path
        The file.
    run
        Run label; default the file stem.
    sample_interval_s
        Seconds per sample, to turn counts into ``self_time_s`` (py-spy's default rate is 100 Hz, so
        0.01; pass ``1/rate`` for ``py-spy record -r rate``). Ratios do not depend on it.
    encoding
        Text encoding; default: BOM, else UTF-8.
    on_bad_lines
        ``"error"`` (default), ``"warn"`` or ``"skip"`` lines that are not ``stack count``.

    Returns
    -------
    Profile
        With ``stacks``, ``functions`` (sampled: ``calls`` missing) and ``calls`` edges.
    """
    p = ensure_path(path)
    text = read_text(p, encoding=encoding)
    bad = BadLines(on_bad_lines, path=p)
    weights: dict[str, float] = {}
    get = weights.get
    diff_lines = 0
    empty = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        stack, _, count = raw.rpartition(" ")
        try:
            value = float(count)
        except ValueError:
            value = -1.0
        first = stack[:1]
        if first in ("#", "/", " ", "\t") or not stack or stack[-1] in " 0123456789":
            if raw.lstrip().startswith(("#", "//")) or not raw.strip():
                continue  # comments and blank lines
            stack = stack.strip()
            head, sep, maybe = stack.rpartition(" ")
            if sep and head and maybe.replace(".", "", 1).isdigit():
                stack = head.strip()  # differential 'stack c1 c2': keep c2
                diff_lines += 1
            if not stack and value >= 0 and raw[:1] == " ":
                stack = _NO_FRAMES  # py-spy: a sample without Python frames
                empty += 1
        if not stack or not value >= 0 or value == float("inf"):
            bad.add(lineno, "not a folded stack line", expected="'frame;frame;… count'", found=raw)
            continue
        weights[stack] = get(stack, 0.0) + value
    if not weights:
        raise EmptyInputError("no stack lines", path=p, expected="'frame;frame;… count' lines")
    # hand over Arrow strings and free the text and the Python strings first: they are most of the
    # memory of a large file (a 400 MB file peaked at 3.2 GB while all three copies were alive)
    counts = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
    stacks = pa.array(list(weights), type=pa.large_string())
    del text, weights, get
    prof = from_stack_strings(
        stacks,
        counts,
        _frame,
        source="folded",
        run=profile_run_label(p, run),
        time_per_unit_s=sample_interval_s,
        sampled=True,
        path=p,
    )
    prof.meta["sample_interval_s"] = sample_interval_s
    prof.meta["differential_lines"] = diff_lines
    prof.meta["samples_without_frames"] = empty
    bad.finish(prof.functions)
    prof.meta["skipped_rows"] = bad.count
    return prof
