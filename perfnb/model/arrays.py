"""The columnar core of a load test: :class:`RequestArrays`, one entry per request as plain numpy arrays.

Every load-test reader's output can be turned into one (:meth:`RequestArrays.from_frame`), and the
streaming readers produce one per partition; :mod:`perfnb.analysis.aggregate` folds them into mergeable
aggregates (it re-exports these names).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfnb.errors import InputError

__all__ = ["EXACT_MAX_MS", "RequestArrays", "whole_ms"]

#: largest response time (ms) kept at exact 1 ms resolution (2^22 ms ≈ 70 minutes)
EXACT_MAX_MS = 1 << 22


class RequestArrays:
    """The columnar core of a load test: one entry per request, plain numpy arrays.

    ``elapsed_ms`` is set when every response time is a whole number of milliseconds (exact counting
    percentiles apply); ``users``, ``nbytes``, ``sent`` are float arrays with NaN for unknown, or ``None``.
    Readers that have whole milliseconds may give ``start_ms`` and ``elapsed_ms`` only: ``start_ns`` and
    ``rt_s`` are then computed on first use (the summary never needs them).
    """

    def __init__(
        self,
        labels: list[str],
        codes: np.ndarray,
        start_ns: np.ndarray | None = None,
        rt_s: np.ndarray | None = None,
        ok: np.ndarray | None = None,
        elapsed_ms: np.ndarray | None = None,
        nbytes: np.ndarray | None = None,
        sent: np.ndarray | None = None,
        users: np.ndarray | None = None,
        ctrl: np.ndarray | None = None,
        *,
        start_ms: np.ndarray | None = None,
    ) -> None:
        if (start_ns is None and start_ms is None) or (rt_s is None and elapsed_ms is None):
            raise InputError("request arrays need start times and response times")
        self.labels = labels
        self.codes = codes
        self._start_ns = start_ns
        self.start_ms = start_ms
        self._rt_s = rt_s
        self.ok = ok if ok is not None else np.ones(codes.size, dtype=bool)
        self.elapsed_ms = elapsed_ms
        self.nbytes = nbytes
        self.sent = sent
        self.users = users
        self.ctrl = ctrl

    @property
    def start_ns(self) -> np.ndarray:
        """Start times, nanoseconds since the epoch (UTC)."""
        if self._start_ns is None:
            assert self.start_ms is not None  # noqa: S101 - checked in __init__
            self._start_ns = self.start_ms * 1_000_000
        return self._start_ns

    @property
    def rt_s(self) -> np.ndarray:
        """Response times in seconds."""
        if self._rt_s is None:
            assert self.elapsed_ms is not None  # noqa: S101 - checked in __init__
            self._rt_s = self.elapsed_ms / 1000.0
        return self._rt_s

    def __len__(self) -> int:
        return int(self.codes.size)

    @classmethod
    def from_frame(cls, req: pd.DataFrame) -> RequestArrays:
        """The arrays of a ``loadtest_requests`` frame (zero-copy where pandas allows)."""
        label = req["label"]
        if not isinstance(label.dtype, pd.CategoricalDtype):
            label = label.astype("category")
        rt = req["response_time_s"].to_numpy(dtype="float64")

        def opt(col: str) -> np.ndarray | None:
            if col not in req or not req[col].notna().any():
                return None
            return req[col].to_numpy(dtype="float64", na_value=np.nan)

        ctrl = req["is_controller"].to_numpy(dtype=bool) if "is_controller" in req else None
        return cls(
            labels=[str(x) for x in label.cat.categories],
            codes=label.cat.codes.to_numpy().astype("int32", copy=False),
            start_ns=req["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64"),
            rt_s=rt,
            ok=req["success"].to_numpy(dtype=bool),
            elapsed_ms=whole_ms(rt),
            nbytes=opt("bytes"),
            sent=opt("sent_bytes"),
            users=opt("users"),
            ctrl=ctrl if ctrl is not None and ctrl.any() else None,
        )


def whole_ms(rt_s: np.ndarray) -> np.ndarray | None:
    """``rt_s`` in whole milliseconds (int64) when every value is one (and ≤ :data:`EXACT_MAX_MS`), else None."""
    if rt_s.size == 0:
        return np.zeros(0, dtype="int64")
    ms = np.rint(rt_s * 1000.0)
    if not np.isfinite(ms).all() or ms.min() < 0 or ms.max() > EXACT_MAX_MS:
        return None
    if np.abs(ms - rt_s * 1000.0).max() > 1e-6:
        return None
    return ms.astype("int64")
