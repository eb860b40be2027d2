"""Exact float64 sums that merge in any order: the arithmetic behind :mod:`perfnb.analysis.metric_buckets`.

Every finite float64 ``x`` is an integer multiple of ``2**-1074``, so ``x·2**1074`` is an integer of at most
2098 bits. :func:`limbs` cuts it into three signed 32-bit chunks at fixed positions (*limbs*) of that binary
grid; chunks of many values at the same limb add up exactly in int64 (up to 2**31 values), with numpy, and
partial sums from any split of the data, merged in any order, are the same integers. :func:`exact_sums`
turns the limbs back into the correctly rounded sum and mean with Python integers (``int / int`` rounds
correctly). Infinities and NaN are counted apart by the caller.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = ["SCALE", "exact_sums", "limbs"]

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]

#: every finite float64 is an integer multiple of 2**-SCALE
SCALE = 1074


def limbs(values: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
    """Row index, limb position and signed chunk of every finite non-zero value, exactly.

    A float64 with biased exponent ``E`` and significand ``m`` (implicit bit added when ``E > 0``) is
    ``m·2**(max(E, 1) - 1075)``, so ``x·2**1074 = m << p`` with ``p = max(E - 1, 0)``. ``m << (p % 32)``
    has at most 84 bits: three 32-bit chunks at limbs ``p // 32 .. p // 32 + 2``. Zero, NaN and ±Inf
    give no chunks.

    Examples
    --------
    >>> rows, limb, acc = limbs(np.array([1.0, -1.0, 0.5]))
    >>> int(sum(int(a) << (32 * int(k)) for k, a in zip(limb, acc))) == (1 << SCALE) // 2
    True
    """
    idx = np.flatnonzero(np.isfinite(values) & (values != 0))
    bits = values[idx].view(np.uint64)
    ebits = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    mant = bits & np.uint64((1 << 52) - 1)
    mant = np.where(ebits > 0, mant | np.uint64(1 << 52), mant)
    p = np.maximum(ebits - 1, 0)
    k = p >> 5
    r = (p & 31).astype(np.uint64)
    m32 = np.uint64(0xFFFFFFFF)
    t = (mant & m32) << r  # < 2**63
    c0 = t & m32
    u = ((mant >> np.uint64(32)) << r) + (t >> np.uint64(32))  # < 2**53
    c1 = u & m32
    c2 = u >> np.uint64(32)
    sign = np.where((bits >> np.uint64(63)) > 0, -1, 1).astype(np.int64)
    rows = np.concatenate([idx, idx, idx])
    limb = np.concatenate([k, k + 1, k + 2])
    acc = np.concatenate([c0, c1, c2]).astype(np.int64) * np.concatenate([sign, sign, sign])
    keep = acc != 0
    return rows[keep], limb[keep], acc[keep]


def exact_sums(
    rows: IntArray,
    limb: IntArray,
    acc: IntArray,
    count: IntArray,
    posinf: IntArray,
    neginf: IntArray,
    need: npt.NDArray[np.bool_] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Correctly rounded sum and mean of each group from its limbs (only groups in *need* when given).

    Parameters
    ----------
    rows, limb, acc
        For each limb row: its group, limb position, and the int64 sum of its chunks.
    count, posinf, neginf
        Per group: values that are not NaN, and how many of them are +Inf and -Inf.

    Returns
    -------
    tuple of ndarray
        Sums and means; NaN for groups without values (or not in *need*), ±Inf/NaN for infinities.
        Python integers cost about 1 µs a group.

    Examples
    --------
    >>> v = np.array([1e16, 1.0, -1e16, 1.0])
    >>> r, k, a = limbs(v)
    >>> one = np.array([4]), np.array([0]), np.array([0])
    >>> exact_sums(np.zeros(len(r), np.int64), k, a, *one)  # float addition in order gives 1.0
    (array([2.]), array([0.5]))
    """
    n = len(count)
    need = np.ones(n, bool) if need is None else need
    sums, means = np.full(n, np.nan), np.full(n, np.nan)
    sel = need[rows] if len(rows) else np.zeros(0, bool)
    totals: dict[int, int] = {}
    for r, k, a in zip(rows[sel].tolist(), limb[sel].tolist(), acc[sel].tolist(), strict=True):
        totals[r] = totals.get(r, 0) + (a << (32 * k))
    one = 1 << SCALE
    for r, c, pi, ni in zip(
        np.flatnonzero(need).tolist(),
        count[need].tolist(),
        posinf[need].tolist(),
        neginf[need].tolist(),
        strict=True,
    ):
        if c == 0:
            continue
        if pi or ni:
            sums[r] = means[r] = np.nan if pi and ni else (np.inf if pi else -np.inf)
            continue
        num = totals.get(r, 0)
        for out, den in ((sums, one), (means, c * one)):
            try:
                out[r] = num / den  # int / int is correctly rounded in Python
            except OverflowError:
                out[r] = np.inf if num > 0 else -np.inf
    return sums, means
