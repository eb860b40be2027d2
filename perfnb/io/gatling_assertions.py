r"""Gatling's ``ASSERTION`` records: the assertions a simulation declared, decoded from their base64 form.

Gatling 3.x writes each ``setUp(...).assertions(...)`` entry into ``simulation.log`` as
``ASSERTION\t<base64>``: a boopickle serialisation of ``Assertion(path, target, condition)``
(``io.gatling.shared.model.assertion``). Only the definitions are logged — Gatling evaluates them when it
builds its report — so perfnb decodes them here and evaluates them from the requests
(:func:`perfnb.analysis.verdicts.verdicts`).

The encoding, as boopickle writes it: a composite (sealed-trait) value is its 1-based subtype index in
the order the pickler lists them; a case class is a ``0`` byte (a new, not a back-referenced, object)
followed by its fields; a case object is nothing more than its index; a ``Double`` is 8 bytes little
endian; an ``Int`` (list lengths, string lengths) is boopickle's variable-length integer; a ``String`` its
length then UTF-8 bytes. What cannot be decoded is kept as its base64 text with ``decoded: False``.

Examples
--------
>>> decode_assertion("AAEDAAEFAAAAAAAAwFdAAwAAAAAAAEB/QA==")["text"]
'global.responseTime.percentile(95).lt(500)'
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

__all__ = ["decode_assertion"]

_PATHS = ("global", "forAll", "details")
_TARGETS = ("count", "percent", "time", "requestsPerSec")
_COUNTS = ("allRequests", "successfulRequests", "failedRequests")
_STATS = ("min", "max", "mean", "stdDev", "percentile")
_CONDITIONS = ("lte", "gte", "lt", "gt", "is", "between", "in")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def index(self, names: tuple[str, ...]) -> str:
        i = self.byte()
        if not 1 <= i <= len(names):
            raise ValueError(f"subtype index {i} of {len(names)}")
        return names[i - 1]

    def obj(self) -> None:
        if self.byte() != 0:
            raise ValueError("a back-reference where a new object was expected")

    def double(self) -> float:
        (v,) = struct.unpack_from("<d", self.data, self.pos)
        self.pos += 8
        return float(v)

    def varint(self) -> int:
        b = self.byte()
        if b < 0x80:
            return b
        if b < 0xC0:
            return ((b & 0x3F) << 8) | self.byte()
        raise ValueError("integer too large")

    def string(self) -> str:
        n = self.varint()
        s = self.data[self.pos : self.pos + n].decode("utf-8")
        self.pos += n
        return s


def _num(v: float) -> str:
    return f"{v:g}"


def decode_assertion(payload: str) -> dict[str, Any]:
    """One ``ASSERTION`` payload as a dict (``text`` in Gatling's DSL spelling, ``decoded``).

    Keys: ``text``, ``path``, ``parts``, ``target``, ``metric``, ``stat``, ``percentile``,
    ``condition``, ``values``, ``inclusive``, ``decoded`` (``reason`` when it is ``False``).
    """
    try:
        r = _Reader(base64.b64decode(payload.strip(), validate=True))
        r.obj()  # Assertion
        path = r.index(_PATHS)
        parts: list[str] = []
        if path == "details":
            r.obj()
            parts = [r.string() for _ in range(r.varint())]
        target = r.index(_TARGETS)
        metric, stat, pct = "", "", None
        if target in ("count", "percent"):
            r.obj()
            metric = r.index(_COUNTS)
        elif target == "time":
            r.obj()
            if r.byte() != 1:
                raise ValueError("unknown time metric")
            metric = "responseTime"
            stat = r.index(_STATS)
            if stat == "percentile":
                r.obj()
                pct = r.double()
        cond = r.index(_CONDITIONS)
        r.obj()
        if cond == "between":
            values = [r.double(), r.double()]
            inclusive = bool(r.byte())
        elif cond == "in":
            values = [r.double() for _ in range(r.varint())]
            inclusive = True
        else:
            values, inclusive = [r.double()], True
    except (ValueError, IndexError, struct.error, binascii.Error, UnicodeDecodeError) as err:
        return {"text": payload.strip(), "decoded": False, "reason": str(err)}
    scope = (
        "global"
        if path == "global"
        else "forAll"
        if path == "forAll"
        else ("details(" + ", ".join(repr(x) for x in parts) + ")")
    )
    if target == "time":
        what = f"responseTime.{stat}" + (f"({_num(pct)})" if pct is not None else "")
    elif target == "requestsPerSec":
        what = "requestsPerSec"
    else:
        what = f"{metric}.{target}"
    args = ", ".join(_num(v) for v in values)
    if cond == "between":
        args += f", inclusive = {str(inclusive).lower()}"
    return {
        "text": f"{scope}.{what}.{cond}({args})",
        "path": path,
        "parts": parts,
        "target": target,
        "metric": metric,
        "stat": stat,
        "percentile": pct,
        "condition": cond,
        "values": values,
        "inclusive": inclusive,
        "decoded": True,
    }
