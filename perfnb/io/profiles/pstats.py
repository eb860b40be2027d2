"""Reader and writer for cProfile / ``profile`` pstats dumps (marshal), merged like ``pstats.Stats.add``.

(The module name matches the standard library's ``pstats``; that is safe under absolute imports, as long as
nobody runs this file as a script.)

The dump is ``{(file, line, name): (cc, nc, tt, ct, callers)}`` where each callers value is
``(nc, cc, tt, ct)`` (note the swapped first two fields), an ``int`` (pure-Python ``profile``, CPython 3.15
sampled pstats) or a tuple whose length is a multiple of 4. pyinstrument writes ``-1`` for call counts; they
become missing values. The reader does not use :class:`pstats.Stats` (it rejects ``Path`` objects and the
3.15 ``__sampled__`` marker), but ``self_time_s`` sums exactly to ``pstats.Stats(path).total_tt``.
"""

from __future__ import annotations

import marshal
import os
import re
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from perfnb.errors import EmptyInputError, FormatError, InputError, truncate
from perfnb.io._common import expand_paths, guard_reader, read_bytes, register_format
from perfnb.model.profile import (
    PROFILE_CALLS,
    PROFILE_FUNCTIONS,
    PROFILE_STACKS,
    Profile,
    normalize_key,
    profile_run_label,
)

__all__ = ["read_pstats", "sniff_pstats", "write_pstats"]

_Key = tuple[str, int, str]


def sniff_pstats(path: Path, head: bytes) -> bool:
    """A marshalled dict whose first key is a tuple (Python 2 or 3), or an empty dict."""
    if len(head) < 2 or head[0] & 0x7F != 0x7B:
        return False
    if head[1] == 0x30:
        return True
    return len(head) >= 3 and head[1] & 0x7F in (0x28, 0x29) and head[2] in (1, 3)


def _load(path: Path) -> dict[Any, Any]:
    try:
        data = read_bytes(path, text=False)
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror}", path=path) from err
    if not data.strip():
        raise EmptyInputError("file is empty", path=path, expected="a pstats dump")
    problem = _claimed_sizes(data)
    if problem:
        raise FormatError(
            f"not a pstats dump: {problem}",
            path=path,
            expected="a file written by cProfile/profile dump_stats()",
            hint="it may be damaged; marshal would allocate the claimed size before noticing",
        )
    try:
        stats = marshal.loads(data)  # noqa: S302 - pstats dumps are marshal; only data types
    except (ValueError, EOFError, TypeError) as err:
        hint = "for folded stacks use read_folded(), for JSON profiles read_profile()"
        if data[:1] == b"{" and data[1:2] == b"(":
            hint = "it looks like a Python 2 dump (marshal version 2), which no Python 3 can read"
        elif data[:1] in (b"{", b"\xfb") and b"profiler" in data[:4096]:
            hint = (
                "a `python -m profile` dump holds a code object in a key; only the Python "
                "version that wrote it can read it"
            )
        elif data[:1] in (b"{", b"\xfb"):
            hint = "it may be truncated or written by another Python version"
        raise FormatError(
            f"not a pstats dump (marshal could not read it: {err})",
            path=path,
            expected="a file written by cProfile/profile dump_stats()",
            hint=hint,
        ) from err
    if not isinstance(stats, dict):
        raise FormatError(
            f"not a pstats dump (it holds a {type(stats).__name__})",
            path=path,
            expected="a marshalled dict of function statistics",
        )
    return stats


# marshal type codes (Python/marshal.c), without the FLAG_REF bit 0x80
_CONTAINERS = frozenset(b"([<>")
_NO_PAYLOAD = frozenset(b"0NFTS.")
_FIXED = {ord("i"): 4, ord("g"): 8, ord("y"): 16, ord("r"): 4}
_SIZED = frozenset(b"stuaA")
_CANDIDATE = re.compile(rb"(?=([(\[<>\xa8\xdb\xbc\xbel\xec])(.{4}))", re.DOTALL)


def _claimed_sizes(data: bytes) -> str | None:
    """A container (tuple, list, set) or long claiming more elements than the bytes that follow, or None.

    ``marshal.loads`` allocates (and zero-fills) a claimed tuple before reading its items: 9 bytes
    claiming 2³¹ items take a minute and 16 GB. A quick byte search finds the type codes followed by
    an impossible size; only then is the stream walked exactly, so a string that merely contains such
    bytes is not mistaken for one.
    """
    n = len(data)
    suspect = False
    for m in _CANDIDATE.finditer(data):
        size = int.from_bytes(m.group(2), "little", signed=True)
        if size < 0 or size > n - m.start():
            suspect = True
            break
    return _walk_marshal(data) if suspect else None


def _walk_marshal(data: bytes) -> str | None:
    n = len(data)
    pos = 0
    todo = [1]  # items left at each open level; -1 for a dict (ends at a NULL code)
    while todo:
        if todo[-1] == 0:
            todo.pop()
            continue
        if pos >= n:
            return None  # truncated: marshal says so
        code = data[pos] & 0x7F
        at = pos
        pos += 1
        if todo[-1] > 0:
            todo[-1] -= 1
        if code == ord("0"):
            if todo[-1] == -1:
                todo.pop()
            continue
        if code in _NO_PAYLOAD:
            continue
        if code in _FIXED:
            pos += _FIXED[code]
            continue
        if code in (ord("z"), ord("Z")):
            pos += 1 + (data[pos] if pos < n else 0)
            continue
        if code == ord("{"):
            todo.append(-1)
            continue
        if code == ord(")"):
            if pos < n:
                todo.append(data[pos])
            pos += 1
            continue
        if pos + 4 > n:
            return None
        size = int.from_bytes(data[pos : pos + 4], "little", signed=True)
        pos += 4
        left = n - pos
        if code in _CONTAINERS or code == ord("l"):
            need = abs(size) * (2 if code == ord("l") else 1)
            if (size < 0 and code != ord("l")) or need > left:
                kind = {"(": "tuple", "[": "list", "<": "set", ">": "frozenset", "l": "long"}
                return (
                    f"a {kind[chr(code)]} at byte {at} claims {abs(size):,} "
                    f"{'digits' if code == ord('l') else 'items'} but only {left:,} bytes follow"
                )
            if code == ord("l"):
                pos += need
            else:
                todo.append(size)
            continue
        if code in _SIZED:
            pos += max(size, 0)
            continue
        return None  # a code object or other type: marshal decides
    return None


def _key(raw: Any, path: Path) -> _Key:
    if (
        not isinstance(raw, tuple)
        or len(raw) != 3
        or not isinstance(raw[0], str)
        or not isinstance(raw[1], int)
    ):
        raise FormatError(
            "bad function key {found}",
            path=path,
            found=raw,
            expected="(file, line, name) tuples",
        )
    name = raw[2] if isinstance(raw[2], str) else repr(raw[2])
    return (raw[0], raw[1], name)


def _merge(paths: Sequence[Path]) -> tuple[dict[_Key, list[Any]], dict[str, Any]]:
    merged: dict[_Key, list[Any]] = {}
    meta: dict[str, Any] = {"paths": [str(p) for p in paths], "int_callers": False}
    for path in paths:
        stats = _load(path)
        for raw_key, value in stats.items():
            if raw_key == ("__sampled__",):
                meta["sampled"] = True
                continue
            key = _key(raw_key, path)
            if not isinstance(value, tuple) or len(value) != 5 or not isinstance(value[4], dict):
                raise FormatError(
                    "bad statistics {found}",
                    path=path,
                    key=f"{key!r}",
                    found=value,
                    expected="(cc, nc, tt, ct, callers)",
                )
            cc, nc, tt, ct, callers = value
            if not all(isinstance(v, int | float) for v in (cc, nc, tt, ct)):
                raise FormatError(
                    "non-numeric statistics {found}", path=path, key=f"{key!r}", found=value
                )
            entry = merged.get(key)
            if entry is None:
                entry = merged[key] = [0, 0, 0.0, 0.0, {}]
            entry[0] += cc
            entry[1] += nc
            entry[2] += tt
            entry[3] += ct
            edges: dict[_Key, list[float]] = entry[4]
            for raw_caller, ev in callers.items():
                caller = _key(raw_caller, path)
                acc = edges.get(caller)
                if acc is None:
                    acc = edges[caller] = [0.0, 0.0, 0.0, 0.0]
                if isinstance(ev, int | float):
                    meta["int_callers"] = True
                    acc[0] += ev
                    acc[1] = acc[2] = acc[3] = float("nan")
                elif (
                    isinstance(ev, tuple)
                    and ev
                    and len(ev) % 4 == 0
                    and all(isinstance(x, int | float) for x in ev)
                ):
                    for i in range(0, len(ev), 4):
                        acc[0] += ev[i]
                        acc[1] += ev[i + 1]
                        acc[2] += ev[i + 2]
                        acc[3] += ev[i + 3]
                else:
                    raise FormatError(
                        "bad caller statistics {found}",
                        path=path,
                        key=f"{key!r} <- {caller!r}",
                        found=ev,
                        expected="(nc, cc, tt, ct) or a call count",
                    )
    return merged, meta


def _count(v: float) -> int | None:
    return None if v < 0 or v != v else int(v)


def _name(v: Any) -> str:
    return v if type(v) is str else repr(v)


def _tables(
    stats: dict[Any, Any], path: Path, label: str, meta: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """One pass over the (raw or merged) stats dict: the functions and calls frames, and total_tt."""
    fn: list[str] = []
    ff: list[str] = []
    fl: list[int] = []
    fcc: list[float] = []
    fnc: list[float] = []
    ftt: list[float] = []
    fct: list[float] = []
    e_caller: list[tuple[Any, Any, Any]] = []
    e_callee: list[int] = []
    e_nc: list[float] = []
    e_cc: list[float] = []
    e_tt: list[float] = []
    e_ct: list[float] = []
    nan = float("nan")
    key: Any = None
    try:
        for key, value in stats.items():
            if key == ("__sampled__",):
                meta["sampled"] = True
                continue
            file, line, name = key
            cc, nc, tt, ct, callers = value
            i = len(fn)
            fn.append(_name(name))
            ff.append(file)
            fl.append(line)
            fcc.append(cc)
            fnc.append(nc)
            ftt.append(tt)
            fct.append(ct)
            for ck, ev in callers.items():
                if type(ev) in (tuple, list):
                    if len(ev) == 4:
                        enc, ecc, ett, ect = ev
                    elif ev and len(ev) % 4 == 0:
                        enc, ecc, ett, ect = (sum(ev[j::4]) for j in range(4))
                    else:
                        raise ValueError(f"caller statistics {ev!r}")
                elif type(ev) in (int, float):
                    meta["int_callers"] = True
                    enc, ecc, ett, ect = ev, nan, nan, nan
                else:
                    raise ValueError(f"caller statistics {ev!r}")
                if len(ck) != 3:
                    raise ValueError(f"caller key {ck!r}")
                e_caller.append(ck)
                e_callee.append(i)
                e_nc.append(enc)
                e_cc.append(ecc)
                e_tt.append(ett)
                e_ct.append(ect)
        total_tt = sum(ftt)
        arrays = [np.asarray(x, dtype="float64") for x in (fcc, fnc, ftt, fct)]
        earrays = [np.asarray(x, dtype="float64") for x in (e_nc, e_cc, e_tt, e_ct)]
        lines = np.asarray(fl, dtype="int64")
        if not all(isinstance(x, str) for x in ff):
            raise TypeError("file names must be strings")
    except (TypeError, ValueError, AttributeError) as err:
        raise FormatError(
            f"not a pstats dump: bad statistics ({err})",
            path=path,
            key=None if key is None else truncate(key),
            expected="{(file, line, name): (cc, nc, tt, ct, {caller: (nc, cc, tt, ct)})}",
        ) from err
    cc_a, nc_a, tt_a, ct_a = arrays
    denom = total_tt if total_tt > 0 else 1.0
    nkeys = [normalize_key(n, f) for n, f in zip(fn, ff, strict=True)]
    functions = pd.DataFrame(
        {
            "function": fn,
            "file": ff,
            "line": _int_array(lines),
            "calls": _int_array(nc_a),
            "primitive_calls": _int_array(cc_a),
            "self_time_s": tt_a,
            "total_time_s": ct_a,
            "self_ratio": tt_a / denom,
            "total_ratio": ct_a / denom,
            "self_samples": nan,
            "total_samples": nan,
            "key": nkeys,
            "source": "pstats",
            "run": label,
        }
    )
    idx = np.asarray(e_callee, dtype="int64")
    cfile = [str(c[0]) for c in e_caller]
    cname = [_name(c[2]) for c in e_caller]
    cline = np.asarray([c[1] if type(c[1]) is int else 0 for c in e_caller], dtype="int64")
    fn_a = np.asarray(fn, dtype=object)
    ff_a = np.asarray(ff, dtype=object)
    nk_a = np.asarray(nkeys, dtype=object)
    enc_a, ecc_a, ett_a, ect_a = earrays
    calls = pd.DataFrame(
        {
            "caller": cname,
            "caller_file": cfile,
            "caller_line": _int_array(cline),
            "callee": fn_a[idx],
            "callee_file": ff_a[idx],
            "callee_line": _int_array(lines[idx]),
            "calls": _int_array(enc_a),
            "primitive_calls": _int_array(ecc_a),
            "self_time_s": ett_a,
            "total_time_s": ect_a,
            "caller_key": [normalize_key(n, f) for n, f in zip(cname, cfile, strict=True)],
            "callee_key": nk_a[idx],
            "source": "pstats",
            "run": label,
        }
    )
    meta["total_calls"] = int(np.clip(nc_a, 0, None).sum())
    meta["primitive_calls"] = int(np.clip(cc_a, 0, None).sum())
    if (nc_a < 0).any():
        meta["producer"] = "pyinstrument (call counts unknown)"
    elif meta.get("int_callers"):
        meta["producer"] = "profile (pure Python) or sampled pstats"
    else:
        meta["producer"] = "cProfile"
    return functions, calls, float(total_tt)


def _int_array(values: np.ndarray[Any, Any]) -> pd.arrays.IntegerArray:
    """Counts as nullable Int64: negative (pyinstrument's -1), NaN and 0 lines become missing."""
    v = np.asarray(values, dtype="float64")
    mask = ~(v >= 0)
    return pd.arrays.IntegerArray(np.where(mask, 0, v).astype("int64"), mask)


@register_format(
    "pstats",
    description="cProfile/profile pstats dump (marshal)",
    kind="profile",
    sniff=sniff_pstats,
    priority=20,
)
@guard_reader
def read_pstats(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    run: str | None = None,
) -> Profile:
    """Read one or several pstats dumps (several are summed like ``pstats.Stats.add``).

    Parameters
    ----------
    path
        A dump, a folder of ``*.prof``/``*.pstats`` files, a glob, or a list of them.
    run
        Run label; default the (first) file's stem.

    Returns
    -------
    Profile
        ``functions`` and ``calls`` filled, ``stacks`` empty (pstats keeps no call paths).

    Raises
    ------
    FormatError
        If a file is not a pstats dump (with a hint when it was written by Python 2 or ``profile``).
    EmptyInputError
        If the dumps hold no functions.
    """
    paths = expand_paths(path, formats={"pstats"})
    if len(paths) == 1:
        stats: dict[Any, Any] = _load(paths[0])
        meta: dict[str, Any] = {"paths": [str(paths[0])], "int_callers": False}
    else:
        stats, meta = _merge(paths)
    label = profile_run_label(paths[0], run)
    functions, calls, total_tt = _tables(stats, paths[0], label, meta)
    if functions.empty:
        raise EmptyInputError("pstats dump holds no functions", path=paths[0])
    return Profile(
        functions=PROFILE_FUNCTIONS.conform(functions),
        calls=PROFILE_CALLS.conform(calls),
        stacks=PROFILE_STACKS.empty(),
        source="pstats",
        run=label,
        total_time_s=total_tt,
        meta=meta,
    )


def write_pstats(profile: Profile, path: str | os.PathLike[str]) -> Path:
    """Write *profile* as a cProfile-shaped marshal dump that ``pstats``/snakeviz can open.

    Sampled profiles have no call counts; their sample counts are written as counts instead.
    """
    f = profile.functions
    calls = f["calls"].fillna(f["self_samples"].fillna(1).round().astype("int64").clip(lower=1))
    pcalls = f["primitive_calls"].fillna(calls)
    stats: dict[_Key, tuple[Any, ...]] = {}
    index: dict[tuple[str, str], _Key] = {}
    for fn, fi, ln, nc, cc, tt, ct in zip(
        f["function"],
        f["file"],
        f["line"],
        calls,
        pcalls,
        f["self_time_s"],
        f["total_time_s"],
        strict=True,
    ):
        key = (str(fi), 0 if pd.isna(ln) else int(ln), str(fn))
        index[(str(fn), str(fi))] = key
        stats[key] = (int(cc), int(nc), float(tt), float(ct), {})
    for rec in profile.calls.to_dict("records"):
        row = SimpleNamespace(**{str(k): v for k, v in rec.items()})
        callee = index.get((str(row.callee), str(row.callee_file)))
        caller = index.get((str(row.caller), str(row.caller_file)))
        if callee is None or caller is None:
            continue
        nc = 1 if pd.isna(row.calls) else int(row.calls)
        cc = nc if pd.isna(row.primitive_calls) else int(row.primitive_calls)
        tt = 0.0 if pd.isna(row.self_time_s) else float(row.self_time_s)
        ct = 0.0 if pd.isna(row.total_time_s) else float(row.total_time_s)
        stats[callee][4][caller] = (nc, cc, tt, ct)
    out = Path(path)
    with out.open("wb") as fh:
        marshal.dump(stats, fh)
    return out
