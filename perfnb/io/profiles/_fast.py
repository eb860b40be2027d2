"""Vectorised stacks → tables for large folded files (pyarrow string kernels + numpy bincounts).

:func:`from_stack_strings` gives the same tables as :func:`perfnb.model.profile.from_stacks` but never
creates a Python object per frame: stacks are split with ``pyarrow.compute.split_pattern``, frames are
dictionary-encoded (only the distinct frame strings are parsed in Python), and self, total and edge times
are ``numpy.bincount`` sums. A function's total counts once per stack even under recursion (duplicate
``(stack, function)`` codes are dropped after a sort, as are duplicate edges within a stack).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from perfnb.errors import EmptyInputError
from perfnb.model.profile import (
    PROFILE_CALLS,
    PROFILE_FUNCTIONS,
    PROFILE_STACKS,
    Frame,
    Profile,
    normalize_key,
)

__all__ = ["from_stack_strings"]


def _starts(sorted_codes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Mask of the first element of each run of equal values in a sorted array."""
    mask = np.ones(len(sorted_codes), dtype=bool)
    if len(sorted_codes) > 1:
        mask[1:] = sorted_codes[1:] != sorted_codes[:-1]
    return mask


def _dense_ids(
    codes: np.ndarray[Any, Any], size: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Sorted distinct codes and each code's index in them (a lookup table when *size* is small)."""
    if size <= 1 << 24:
        present = np.flatnonzero(np.bincount(codes, minlength=size))
        table = np.empty(size, dtype=np.int64)
        table[present] = np.arange(len(present))
        return present, table[codes]
    uniq, inv = np.unique(codes, return_inverse=True)
    return uniq, inv


def from_stack_strings(
    stacks: list[str] | pa.Array,
    weights: np.ndarray[Any, Any],
    parse: Callable[[str], Frame],
    *,
    source: str,
    run: str,
    time_per_unit_s: float,
    sampled: bool,
    path: Path | None = None,
) -> Profile:
    """Build a :class:`Profile` from distinct ``;``-joined stacks (root first) and their weights."""
    grand = float(weights.sum())
    if not stacks or grand <= 0:
        raise EmptyInputError("profile holds no samples", path=path, expected="at least one stack")
    arr = (
        stacks.cast(pa.large_string())
        if isinstance(stacks, pa.Array)
        else pa.array(stacks, type=pa.large_string())
    )
    split = pc.split_pattern(arr, ";")
    flat = pc.list_flatten(split)
    parent = np.asarray(pc.list_parent_indices(split), dtype=np.int64)
    enc = pc.dictionary_encode(flat)
    codes = np.asarray(enc.indices, dtype=np.int64)
    texts: list[str] = enc.dictionary.to_pylist()
    del (
        split,
        flat,
        enc,
    )  # every frame of every stack as Arrow strings: free them before the numpy work
    keep = np.ones(len(codes), dtype=bool)
    if "" in texts:  # perf writes 'a;b; N' for an empty leaf
        keep = codes != texts.index("")
        codes, parent = codes[keep], parent[keep]
    # distinct frame strings → functions keyed by (function, file)
    fid: dict[tuple[str, str], int] = {}
    fline: list[int] = []
    fann: list[str | None] = []
    of_frame = np.zeros(len(texts), dtype=np.int64)
    for i, t in enumerate(texts):
        fr = parse(t)
        k = (fr.function, fr.file)
        j = fid.get(k)
        if j is None:
            j = fid[k] = len(fline)
            fline.append(fr.line)
            fann.append(fr.annotation or None)
        elif fr.line and (fline[j] == 0 or fr.line < fline[j]):
            fline[j] = fr.line
        of_frame[i] = j
    nf = len(fline)
    func = of_frame[codes]
    w = weights[parent]
    n = len(func)
    last = np.ones(n, dtype=bool)
    if n > 1:
        last[:-1] = parent[1:] != parent[:-1]
    self_w = np.bincount(func[last], weights=w[last], minlength=nf)
    # total: count each function once per stack (sort (stack, function) codes, keep the first of each)
    packed = np.sort(parent * nf + func)
    packed = packed[_starts(packed)]
    total_w = np.bincount(packed % nf, weights=weights[packed // nf], minlength=nf)
    # edges: adjacent frames of one stack; each edge once per stack for its total
    same = parent[1:] == parent[:-1] if n > 1 else np.zeros(0, dtype=bool)
    code = func[:-1][same] * nf + func[1:][same]
    ep, eleaf = parent[1:][same], last[1:][same]
    nf2 = max(nf * nf, 1)
    if nf2 * max(len(stacks), 1) < 2**62:
        k2 = np.sort(ep * nf2 + code)
        k2 = k2[_starts(k2)]
        ecode, estack = k2 % nf2, k2 // nf2
    else:  # astronomically many functions: hash instead of packing into one integer
        both = pd.DataFrame({"s": ep, "c": code}).drop_duplicates()
        ecode, estack = both["c"].to_numpy(), both["s"].to_numpy()
    uniq, inv = _dense_ids(ecode, nf2)
    ne = len(uniq)
    etotal = np.bincount(inv, weights=weights[estack], minlength=ne)
    leaf_code = code[eleaf]
    eself = np.bincount(np.searchsorted(uniq, leaf_code), weights=weights[ep[eleaf]], minlength=ne)
    keys = list(fid)
    names = [k[0] for k in keys]
    files = [k[1] for k in keys]
    nkeys = [normalize_key(a, b) for a, b in keys]
    scale = time_per_unit_s
    nan = float("nan")
    line_arr = pd.array([x or None for x in fline], dtype="Int64")
    functions = pd.DataFrame(
        {
            "function": names,
            "file": files,
            "line": line_arr,
            "calls": pd.array([None] * nf, dtype="Int64"),
            "primitive_calls": pd.array([None] * nf, dtype="Int64"),
            "self_time_s": self_w * scale,
            "total_time_s": total_w * scale,
            "self_ratio": self_w / grand,
            "total_ratio": total_w / grand,
            "self_samples": self_w if sampled else nan,
            "total_samples": total_w if sampled else nan,
            "key": nkeys,
            "annotation": fann,
            "source": source,
            "run": run,
        }
    )
    uniq_a = uniq.astype(np.int64)
    ci, ce = uniq_a // max(nf, 1), uniq_a % max(nf, 1)
    names_a, files_a = np.asarray(names, dtype=object), np.asarray(files, dtype=object)
    nk_a = np.asarray(nkeys, dtype=object)
    calls = pd.DataFrame(
        {
            "caller": names_a[ci],
            "caller_file": files_a[ci],
            "caller_line": line_arr[ci],
            "callee": names_a[ce],
            "callee_file": files_a[ce],
            "callee_line": line_arr[ce],
            "calls": pd.array([None] * ne, dtype="Int64"),
            "primitive_calls": pd.array([None] * ne, dtype="Int64"),
            "self_time_s": eself * scale,
            "total_time_s": etotal * scale,
            "caller_key": nk_a[ci],
            "callee_key": nk_a[ce],
            "source": source,
            "run": run,
        }
    )
    ns = len(stacks)
    leaf_func = np.full(ns, -1, dtype=np.int64)
    leaf_func[parent[last]] = func[last]
    leaf_names = pa.array([*names, ""]).take(pa.array(np.where(leaf_func < 0, nf, leaf_func)))
    stacks_df = pd.DataFrame(
        {
            "thread": pd.Categorical.from_codes(
                np.zeros(ns, dtype=np.int8), categories=pd.Index([""])
            ),
            "stack": pd.arrays.ArrowStringArray(arr),
            "leaf": pd.arrays.ArrowStringArray(leaf_names.cast(pa.large_string())),
            "depth": np.bincount(parent, minlength=ns).astype(np.int64),
            "samples": weights if sampled else np.full(ns, nan),
            "time_s": weights * scale,
            "source": source,
            "run": run,
        }
    )
    return Profile(
        functions=PROFILE_FUNCTIONS.conform(functions),
        calls=PROFILE_CALLS.conform(calls),
        stacks=PROFILE_STACKS.conform(stacks_df),
        source=source,
        run=run,
        total_time_s=grand * scale,
        meta={"path": str(path) if path else None, "sampled": sampled},
    )
