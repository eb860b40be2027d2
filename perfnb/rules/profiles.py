"""Profile rules (PR0xx): dominant functions, hot spots, tiny calls, recursion, waiting, regressions.

PR001 one function dominates self time; PR002 the hot-spot summary; PR003 tiny calls made millions of
times; PR004 recursion hot spots; PR005 time dominated by waiting; PR006 regressions between two runs;
PR007 the CPU hot spot of your own code.

Rules apply to :class:`~perfnb.io.profiles.Profile` (``perfnb.check(profile)``) and, for PR006, to
:class:`~perfnb.analysis.profiles.ProfileDiff` (``perfnb.check(perfnb.compare_profiles(a, b))``).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pandas as pd

from perfnb.analysis.profiles import ProfileDiff, classify, hotspots, label, time_by_category
from perfnb.analysis.waits import is_wait_primitive, waiters
from perfnb.findings import Finding, Rule, Severity, Thresholds, rule, threshold
from perfnb.io.profiles._model import Profile

__all__: list[str] = []

threshold(
    "profile_dominant_self_ratio",
    0.25,
    "Share of total self time in one function that is worth a finding.",
    unit="ratio",
)
threshold(
    "profile_many_calls_min", 1_000_000, "Call count from which a tiny function is 'many calls'."
)
threshold(
    "profile_tiny_call_max_s", 2e-6, "Self time per call below which a call is 'tiny'.", unit="s"
)
threshold(
    "profile_min_impact_ratio",
    0.05,
    "Share of total time a pattern must cost before it is reported (PR003, PR004).",
    unit="ratio",
)
threshold(
    "profile_waiting_max_ratio",
    0.3,
    "Share of self time spent waiting (I/O, locks, DB, sleep, select) worth a finding.",
    unit="ratio",
)
threshold(
    "profile_regression_min_ratio",
    0.01,
    "Growth of one function's self time, as a share of the baseline total, that is a regression.",
    unit="ratio",
)


def _rows(df: pd.DataFrame) -> list[SimpleNamespace]:
    """Rows as attribute namespaces with ``Any`` values (typed access for mypy)."""
    return [SimpleNamespace(**{str(k): v for k, v in rec.items()}) for rec in df.to_dict("records")]


_KIND = {
    "own": "CPU in your code",
    "library": "CPU in a library/stdlib",
    "builtin": "builtin/C code",
    "waiting": "waiting",
    "unknown": "unknown code",
}


def _what(category: str, wait_kind: str) -> str:
    return f"waiting ({wait_kind})" if category == "waiting" else _KIND.get(category, category)


@rule(
    "PR001",
    "dominant-function",
    applies_to=Profile,
    severity=Severity.warning,
    thresholds=("profile_dominant_self_ratio",),
)
def dominant_function(r: Rule, profile: Profile, th: Thresholds) -> Iterator[Finding]:
    """One function holds a large share of all self time.

    Why: a single function dominating the profile is the cheapest place to win. Fix: look at its
    algorithm, its per-call cost and how often it is called (see PR003). False positives: a function that
    only waits (``time.sleep`` in a scheduler) — PR005 says so; an event loop's ``select``.
    """
    limit = th["profile_dominant_self_ratio"]
    for row in _rows(hotspots(profile, n=5)):
        if row.self_ratio < limit:
            continue
        if is_wait_primitive(str(row.origin), str(row.wait_kind)):
            yield from _waiting_primitive(r, profile, row)
            continue
        yield r.finding(
            title=f"{row.label} takes {row.self_ratio:.0%} of self time "
            f"({_what(str(row.category), str(row.wait_kind))})",
            location=str(row.label),
            evidence={
                "self_ratio": row.self_ratio,
                "self_time_s": row.self_time_s,
                "calls": row.calls,
                "category": str(row.category),
            },
            recommendation="Optimise this function first: reduce its per-call cost or how often it "
            "is called; if it waits, overlap or remove the wait.",
            run=profile.run,
        )


_WAIT_FIX = {
    "lock": "Find what holds it: a pool or queue smaller than the concurrency (size the pool to the "
    "number of workers, return connections sooner, hold them for less work), or a lock held across slow "
    "work (shorten the critical section).",
    "sleep": "Remove or shorten the sleep, or replace polling with a notification.",
    "select": "This is an event loop or client waiting for I/O: look at what it waits for (the "
    "server's latency), not at the loop.",
    "io": "Reduce round trips (batch, pipeline, reuse connections) or overlap them (threads/async).",
    "db": "Reduce database round trips (batch, join, cache) and check the slow queries.",
}


def _waiting_primitive(r: Rule, profile: Profile, row: SimpleNamespace) -> Iterator[Finding]:
    """PR001 for a wait primitive: name the code that waits and what it waits on (issue 16.4)."""
    w = waiters(profile, str(row.function), str(row.file))
    kind = str(row.wait_kind)
    if w.empty:
        who, on, where = "code that the profile does not name", "", str(row.label)
    else:
        top = _rows(w)[0]
        who, on, where = str(top.label), str(top.waits_on), str(top.label)
        if len(w) > 1:
            who += f" (and {len(w) - 1} more)"
    yield r.finding(
        title=f"{who} waits on {on or kind}: {row.self_ratio:.0%} of self time is spent in "
        f"{row.label}",
        location=where,
        evidence={
            "primitive": str(row.label),
            "wait_kind": kind,
            "self_ratio": row.self_ratio,
            "self_time_s": row.self_time_s,
            "waiters": w[["label", "via", "time_s", "ratio", "waits_on", "exact"]],
        },
        recommendation=_WAIT_FIX.get(kind, "Overlap or remove the wait.")
        + " The primitive itself cannot be made faster.",
        run=profile.run,
    )


@rule("PR002", "hot-spots", applies_to=Profile, severity=Severity.info)
def hot_spots(r: Rule, profile: Profile, th: Thresholds) -> Iterator[Finding]:
    """Summary of the top hot spots by self time and what kind of time each is.

    Kinds: CPU in your code, in a library/stdlib, in builtins/C, or waiting (I/O, locks, DB driver,
    select/poll, sleep). Always reported (info) so that a report names where time goes.
    """
    top = hotspots(profile, n=5)
    if top.empty:
        return
    parts = []
    for row in _rows(top):
        what = _what(str(row.category), str(row.wait_kind))
        if is_wait_primitive(str(row.origin), str(row.wait_kind)):
            w = waiters(profile, str(row.function), str(row.file), n=1)
            if len(w):
                what += f" in {w['label'].iloc[0]}"
        parts.append(f"{row.label} {row.self_ratio:.0%} ({what})")
    cats = time_by_category(profile)
    yield r.finding(
        title="Top hot spots: " + "; ".join(parts[:3]),
        location=str(top["label"].iloc[0]),
        evidence={
            "hotspots": top[["label", "self_time_s", "self_ratio", "category", "wait_kind"]],
            "time_by_category": cats,
            "total_time_s": profile.total_time_s,
        },
        recommendation="Start with the first hot spot; waiting time needs concurrency or fewer "
        "round trips, CPU time needs less work per call or fewer calls.",
        run=profile.run,
    )


@rule(
    "PR003",
    "many-tiny-calls",
    applies_to=Profile,
    severity=Severity.warning,
    thresholds=("profile_many_calls_min", "profile_tiny_call_max_s", "profile_min_impact_ratio"),
)
def many_tiny_calls(r: Rule, profile: Profile, th: Thresholds) -> Iterator[Finding]:
    """A function called millions of times with a tiny cost per call.

    Why: per-call overhead (and cProfile's own overhead) dominates; batching, caching, vectorising or
    hoisting the call out of a loop wins. Needs call counts (pstats). False positive: cProfile inflates
    such functions; confirm with a sampling profiler.
    """
    f = profile.functions
    calls = f["calls"].astype("Float64").astype("float64")
    per_call = f["self_time_s"] / calls.where(calls > 0)
    mask = (
        (calls >= th["profile_many_calls_min"])
        & (per_call <= th["profile_tiny_call_max_s"])
        & (f["self_ratio"] >= th["profile_min_impact_ratio"])
    )
    for i in f.index[mask.fillna(False)]:
        where = label(str(f.at[i, "function"]), str(f.at[i, "file"]), f.at[i, "line"])
        ratio = float(str(f.at[i, "self_ratio"]))
        yield r.finding(
            title=f"{where} is called {int(calls[i]):,} times at {per_call[i] * 1e9:.0f} ns per call "
            f"({ratio:.0%} of time)",
            location=where,
            evidence={
                "calls": int(calls[i]),
                "self_per_call_s": per_call[i],
                "self_ratio": f.at[i, "self_ratio"],
            },
            recommendation="Batch, cache or vectorise the work, or move the call out of the inner loop.",
            run=profile.run,
        )


@rule(
    "PR004",
    "recursion-hot-spot",
    applies_to=Profile,
    severity=Severity.info,
    thresholds=("profile_min_impact_ratio",),
)
def recursion_hot_spot(r: Rule, profile: Profile, th: Thresholds) -> Iterator[Finding]:
    """A recursive function (calls > primitive calls) with a large inclusive share.

    Why: deep recursion multiplies call overhead; memoisation or an iterative form often helps. Only
    your own or a library's functions are reported: the standard library's re-entry (``exec``, importlib
    and ``<frozen importlib._bootstrap>`` frames, ``copy.deepcopy``) is not something to memoise. False
    positives: on CPython 3.12+ interleaved threads make non-recursive functions look recursive.
    """
    f = profile.functions
    nc = f["calls"].astype("Float64").astype("float64")
    cc = f["primitive_calls"].astype("Float64").astype("float64")
    mask = (nc >= 10 * cc) & (cc > 0) & (f["total_ratio"] >= th["profile_min_impact_ratio"])
    mask &= ~f["function"].astype(str).str.contains(
        "exec|_find_and_load|_call_with_frames", regex=True
    )
    # importlib/frozen bootstrap and other stdlib or builtin re-entry is not the user's to memoise
    mask &= classify(f)["origin"].astype(str).isin(["own", "library"]).to_numpy()
    for i in f.index[mask.fillna(False)]:
        where = label(str(f.at[i, "function"]), str(f.at[i, "file"]), f.at[i, "line"])
        tratio = float(str(f.at[i, "total_ratio"]))
        yield r.finding(
            title=f"{where} recurses: {int(nc[i]):,} calls for {int(cc[i]):,} outer calls, "
            f"{tratio:.0%} of time",
            location=where,
            evidence={
                "calls": int(nc[i]),
                "primitive_calls": int(cc[i]),
                "total_ratio": f.at[i, "total_ratio"],
            },
            recommendation="Memoise repeated sub-problems or rewrite iteratively.",
            run=profile.run,
        )


@rule(
    "PR005",
    "waiting-dominates",
    applies_to=Profile,
    severity=Severity.warning,
    thresholds=("profile_waiting_max_ratio",),
)
def waiting_dominates(r: Rule, profile: Profile, th: Thresholds) -> Iterator[Finding]:
    """A large share of the profiled time is waiting: I/O, locks, DB driver, select/poll or sleep.

    Why: CPU optimisation will not help; the fix is concurrency, fewer round trips, batching, or removing
    sleeps. Classification is by name (``perfnb.analysis.profiles.classify``); sampling profilers without
    native frames attribute C-level waits to the calling Python line, so waiting may be under-counted.
    """
    cats = time_by_category(profile)
    wait = cats[cats["category"] == "waiting"]
    share = float(wait["self_ratio"].sum())
    if share < th["profile_waiting_max_ratio"]:
        return
    parts = ", ".join(f"{row.wait_kind} {row.self_ratio:.0%}" for row in wait.itertuples())
    yield r.finding(
        title=f"{share:.0%} of the time is waiting ({parts})",
        location=str(wait["wait_kind"].iloc[0]),
        evidence={
            "waiting_ratio": share,
            "by_kind": wait[["wait_kind", "self_time_s", "self_ratio"]],
        },
        recommendation="Overlap waits (threads/async), batch round trips, add timeouts, remove sleeps.",
        run=profile.run,
    )


@rule(
    "PR006",
    "profile-regression",
    applies_to=ProfileDiff,
    severity=Severity.warning,
    thresholds=("profile_regression_min_ratio",),
)
def profile_regression(r: Rule, diff: ProfileDiff, th: Thresholds) -> Iterator[Finding]:
    """A function's self time grew (or a new function appeared) by a share of the baseline total.

    The cause says whether calls or per-call time changed (exact for pstats). False positives: runs that
    did different amounts of work; compare with ``normalize="total"`` then.
    """
    base = diff.before.total_time_s or 1.0
    limit = th["profile_regression_min_ratio"] * base
    for row in _rows(diff.regressions(10)):
        if row.delta_s < limit:
            continue
        where = label(str(row.function), str(row.file))
        yield r.finding(
            title=f"{where}: +{row.delta_s:.3f} s self time ({row.cause})",
            location=where,
            evidence={
                "self_before_s": row.self_before_s,
                "self_after_s": row.self_after_s,
                "calls_before": row.calls_before,
                "calls_after": row.calls_after,
                "calls_effect_s": row.calls_effect_s,
                "per_call_effect_s": row.per_call_effect_s,
            },
            recommendation="Check the change that touched this function; "
            + (
                "it is called more often."
                if row.cause == "call count"
                else "each call got slower."
                if row.cause == "per-call time"
                else "it is new in this run."
                if row.cause == "new"
                else "look at both call count and per-call time."
            ),
            run=diff.after.run,
        )


threshold(
    "profile_own_hot_min_ratio",
    0.05,
    "Share of self time from which the top function of your own code is reported (PR007).",
    unit="ratio",
)


@rule(
    "PR007",
    "own-code-hot-spot",
    applies_to=Profile,
    severity=Severity.warning,
    thresholds=("profile_own_hot_min_ratio", "profile_dominant_self_ratio"),
)
def own_code_hot_spot(r: Rule, profile: Profile, th: Thresholds) -> Iterator[Finding]:
    """The function of your own code with the most self time (CPU you can change directly).

    Why: when waits dominate a profile (locks in a threaded server, a DB driver), the CPU hot spot in your
    code is easy to miss, yet it is the part you can optimise without touching infrastructure. Not
    reported when PR001 already names it. False positives: "own" means "not stdlib, site-packages or a
    builtin"; sampling profilers shorten library paths, so a library may look like your code.
    """
    f = classify(profile.functions)
    own = f[(f["category"] == "own") & (f["self_ratio"] >= th["profile_own_hot_min_ratio"])]
    if own.empty:
        return
    row = _rows(own.sort_values("self_time_s", ascending=False).head(1))[0]
    if row.self_ratio >= th["profile_dominant_self_ratio"]:
        return
    where = label(str(row.function), str(row.file), row.line)
    yield r.finding(
        title=f"{where} is the CPU hot spot of your code: {row.self_ratio:.0%} of self time",
        location=where,
        evidence={"self_ratio": row.self_ratio, "self_time_s": row.self_time_s, "calls": row.calls},
        recommendation="Profile this function's lines (line_profiler) and reduce its work per call "
        "or its number of calls.",
        run=profile.run,
    )
