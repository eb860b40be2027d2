"""Who waits: from a lock or wait primitive up to the code that called it.

When the frame with the most self time is a wait primitive (``<method 'acquire' of '_thread.lock'
objects>``, ``select``/``poll``/``epoll``, ``socket.recv``, ``time.sleep``, ``Condition.wait``,
``queue.get`` …), "optimise this function" is wrong advice: the primitive only measures how long somebody
waited. :func:`waiters` follows the call edges (exact per edge for pstats; per stack for sampled data)
from the primitive up through standard-library and builtin wrappers (``threading.Condition.wait``,
``queue.Queue.get``, ``contextlib``) to the first frame of your own code — or, when no own frame is
reached, the first library frame — and says what it waits on (a queue, i.e. an exhausted pool; a lock;
another thread; the network; the database; a sleep).

pstats stores an aggregate caller→callee graph, not call paths: above the primitive's direct callers the
wait time is spread over a wrapper's callers in proportion to the edges' cumulative times, an estimate
that is exact whenever the wrapper has one caller (the common case for a pool's ``get``).
"""

from __future__ import annotations

import re
from collections import defaultdict

import pandas as pd

from perfnb.analysis.profiles import classify, label
from perfnb.io.profiles._model import Profile

__all__ = ["is_wait_primitive", "waiters"]

_PASS_THROUGH = ("stdlib", "builtin", "native")
_MAX_DEPTH = 12
_QUEUE = re.compile(r"\b(?:Queue\.)?get \((?:\S*/)?queue\.py")
_JOIN = re.compile(r"_wait_for_tstate_lock|\bjoin \((?:\S*/)?threading\.py")
_COND = re.compile(r"Condition\.wait|\bwait \((?:\S*/)?threading\.py")


def is_wait_primitive(origin: str, wait_kind: str) -> bool:
    """A waiting frame of the standard library, a builtin or native code (not a user's or a driver's).

    >>> is_wait_primitive("builtin", "lock"), is_wait_primitive("own", "lock")
    (True, False)
    """
    return bool(wait_kind) and origin in _PASS_THROUGH


def _waits_on(kind: str, chain: list[str]) -> str:
    """What a chain of display labels (primitive first) waits on."""
    text = " ".join(chain)
    if kind == "lock":
        if _QUEUE.search(text):
            return "a free item in a queue.Queue (a pool or work queue that is empty)"
        if _JOIN.search(text):
            return "another thread to finish (Thread.join)"
        if "Event.wait" in text:
            return "a threading.Event to be set"
        if _COND.search(text):
            return "a threading.Condition to be notified"
        return "a lock held by another thread"
    return {
        "sleep": "a sleep (time.sleep)",
        "select": "I/O readiness (select/poll/epoll)",
        "io": "network or file I/O",
        "db": "the database (driver round trips)",
    }.get(kind, "something")


def waiters(profile: Profile, function: str, file: str, *, n: int = 3) -> pd.DataFrame:
    """The code that waits in the primitive ``(function, file)``, biggest wait first.

    Parameters
    ----------
    profile
        A loaded profile (pstats or sampled).
    function, file
        The primitive, as in ``profile.functions``.
    n
        How many waiters to return.

    Returns
    -------
    DataFrame
        ``waiter, waiter_file, waiter_line, label, via, time_s, ratio, waits_on, exact``: ``time_s`` is
        the primitive's self time attributed to the waiter, ``ratio`` its share of the primitive's self
        time, ``via`` the wrappers in between (innermost first), ``exact`` false when a wrapper with
        several callers was split in proportion to its edges (pstats).
    """
    f = classify(profile.functions)
    key_cols = list(zip(f["function"].astype(str), f["file"].astype(str), strict=True))
    origin = dict(zip(key_cols, f["origin"].astype(str), strict=True))
    kind_of = dict(zip(key_cols, f["wait_kind"].astype(str), strict=True))
    line_of = dict(zip(key_cols, f["line"], strict=True))
    self_of = dict(zip(key_cols, f["self_time_s"].astype(float), strict=True))
    c = profile.calls
    callers: dict[tuple[str, str], list[tuple[tuple[str, str], float, float]]] = defaultdict(list)
    for a, af, b, bf, st, tt in zip(
        c["caller"].astype(str),
        c["caller_file"].astype(str),
        c["callee"].astype(str),
        c["callee_file"].astype(str),
        c["self_time_s"].astype(float).fillna(0.0),
        c["total_time_s"].astype(float).fillna(0.0),
        strict=True,
    ):
        callers[(b, bf)].append(((a, af), st, tt))
    prim = (function, file)
    total = self_of.get(prim, 0.0)
    kind = kind_of.get(prim, "")
    found: dict[tuple[str, str], float] = defaultdict(float)
    via_of: dict[tuple[str, str], list[str]] = {}
    best: dict[tuple[str, str], float] = {}
    inexact: set[tuple[str, str]] = set()
    first = [(k, st) for k, st, _tt in callers.get(prim, []) if st > 0]
    norm = sum(st for _k, st in first) or 1.0
    # (frame, time attributed, wrappers below it, exact so far, first library frame on the path)
    Item = tuple[tuple[str, str], float, list[str], bool, "tuple[str, str] | None"]
    todo: list[Item] = [(k, total * st / norm, [label(*prim)], True, None) for k, st in first]
    while todo:
        frame, t, chain, exact, lib = todo.pop()
        org = origin.get(frame, "unknown")
        if lib is None and org not in _PASS_THROUGH and org != "own":
            lib = frame  # the answer if this path never reaches your own code
        ups = [(k, tt) for k, _st, tt in callers.get(frame, []) if tt > 0 and k != frame]
        if org == "own" or len(chain) > _MAX_DEPTH or not ups:
            target = frame if org == "own" or lib is None else lib
            found[target] += t
            if t > best.get(target, -1.0):  # show the path that carries the most wait
                best[target], via_of[target] = t, chain
            if not exact:
                inexact.add(target)
            continue
        norm_up = sum(tt for _k, tt in ups)
        nxt = [*chain, label(*frame)] if lib is None else chain
        for k, tt in ups:
            todo.append((k, t * tt / norm_up, nxt, exact and len(ups) == 1, lib))
    rows = []
    for (wf, wfile), t in found.items():
        via = via_of[(wf, wfile)]
        rows.append(
            {
                "waiter": wf,
                "waiter_file": wfile,
                "waiter_line": line_of.get((wf, wfile)),
                "label": label(wf, wfile, line_of.get((wf, wfile))),
                "via": " ← ".join(via),
                "time_s": t,
                "ratio": t / total if total > 0 else float("nan"),
                "waits_on": _waits_on(kind, via),
                "exact": (wf, wfile) not in inexact,
            }
        )
    cols = ["waiter", "waiter_file", "waiter_line", "label", "via", "time_s", "ratio", "waits_on"]
    out = pd.DataFrame(rows, columns=[*cols, "exact"])
    return out.sort_values("time_s", ascending=False, kind="stable").head(n).reset_index(drop=True)
