"""Profile analyses: classification of time, hotspots, call trees, and ``compare_profiles``.

Everything here takes a :class:`~perfnb.io.profiles.Profile` (or its ``functions`` frame) and returns frames.

* :func:`classify` adds ``origin`` (own / stdlib / library / builtin / native / unknown), ``wait_kind``
  (sleep / select / lock / io / db or ``""``) and ``category`` (own, library, builtin, waiting, unknown).
  Waiting is recognised by name on the frame that holds the self time (a C builtin such as
  ``<built-in method time.sleep>`` in pstats, or the innermost Python frame in sampled data, e.g.
  ``threading.py wait``); it is a heuristic and says so.
* :func:`hotspots`, :func:`time_by_category`.
* :func:`call_tree`: exact for stack data; for pstats an explicit approximation built from edges (snakeviz's
  method: a child's share under a parent is the edge's cumulative time summed over all paths, scaled to fit
  the parent), flagged ``estimated=True``.
* :func:`compare_profiles` / :class:`ProfileDiff`: functions matched on normalized keys (paths shortened,
  addresses and line numbers dropped), new/removed listed, and each self-time change split exactly into
  ``calls_effect_s = (c1 − c0)·p0`` and ``per_call_effect_s = c1·(p1 − p0)`` where counts are known.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from perfnb.analysis._diff import Diff
from perfnb.io.profiles._model import Profile, normalize_file

__all__ = [
    "ProfileDiff",
    "call_tree",
    "classify",
    "compare_profiles",
    "hotspots",
    "label",
    "time_by_category",
]

_WAIT = (
    ("sleep", re.compile(r"(?:\btime\.sleep\b|^sleep$|<built-in method sleep>)")),
    ("select", re.compile(r"(?:\bselect\b|\bpoll\b|epoll|kqueue|\bselectors?\b)")),
    (
        "lock",
        re.compile(
            r"(?:'acquire' of '_thread|_thread\.lock|RLock|_wait_for_tstate_lock|"
            r"threading\.py:(?:wait|acquire|join)|queue\.py:get|Condition|Semaphore|Event\.wait)"
        ),
    ),
    (
        "db",
        re.compile(
            r"(?:psycopg|pymysql|MySQLdb|asyncpg|sqlite3\.|cx_Oracle|oracledb|pymongo|"
            r"redis/connection|_pq\b|libpq)"
        ),
    ),
    (
        "io",
        re.compile(
            r"(?:_socket\.socket|\bsocket\.py:|ssl\.py:|'(?:recv|recv_into|send|sendall|connect|"
            r"accept|read|readinto|readline|write|flush)' of|\bposix\.(?:fsync|read|write|open|"
            r"stat|unlink)|_io\.open|\bio\.open|getaddrinfo|urlopen)"
        ),
    ),
)
_STDLIB = re.compile(r"(?:/lib/python\d+(?:\.\d+)?/|python\d+\.zip|\\Lib\\|^<frozen )")
_STDLIB_NAMES = frozenset(getattr(sys, "stdlib_module_names", ())) - {"__main__"}
_LIB = re.compile(r"(?:site-packages|dist-packages)[/\\]")
# a Windows CPython's standard library: C:\Python311\lib\json\decoder.py ("Lib" or "lib"); the next
# component must be a standard-library module so that a project's own lib\ folder stays "own"
_WIN_LIB = re.compile(r"[/\\][Ll][Ii][Bb][/\\]([A-Za-z_]\w*)(?:\.py[cw]?)?(?:[/\\]|$)")


def _origin(function: str, file: str, annotation: str) -> str:
    if annotation in ("_[k]", "_[w]") or (not file and annotation):
        return "native"
    if file in ("~", "") and function.startswith("<"):
        return "builtin"
    if file == "" and not function.startswith("<"):
        return "unknown"
    if _LIB.search(file):
        return "library"
    if _STDLIB.search(file):
        return "stdlib"
    win = _WIN_LIB.search(file)
    if win is not None and win.group(1) in _STDLIB_NAMES:
        return "stdlib"
    if not file.startswith(("/", "\\")) and ":" not in file[:3]:
        # sampling profilers shorten stdlib paths to "json/encoder.py", "threading.py"
        top = file.replace("\\", "/").split("/", 1)[0].removesuffix(".py")
        if top in _STDLIB_NAMES:
            return "stdlib"
    if file.startswith("<"):
        return "own" if file.startswith(("<ipython", "<string")) else "stdlib"
    return "own"


def classify(functions: pd.DataFrame) -> pd.DataFrame:
    """The functions table plus ``origin``, ``wait_kind`` and ``category`` columns.

    Examples
    --------
    >>> df = pd.DataFrame({"function": ["<built-in method time.sleep>", "f"], "file": ["~", "app.py"]})
    >>> classify(df)[["origin", "wait_kind", "category"]].to_numpy().tolist()
    [['builtin', 'sleep', 'waiting'], ['own', '', 'own']]
    """
    out = functions.copy()
    fn = out["function"].astype("string").fillna("").tolist()
    fi = out["file"].astype("string").fillna("").tolist()
    ann = (
        out["annotation"].astype("string").fillna("").tolist()
        if "annotation" in out
        else [""] * len(out)
    )
    origins, waits = [], []
    for f, p, a in zip(fn, fi, ann, strict=True):
        origins.append(_origin(f, p, a))
        text = f"{normalize_file(p)}:{f}" if p not in ("", "~") else f
        kind = ""
        for name, rx in _WAIT:
            if rx.search(text):
                kind = name
                break
        waits.append(kind)
    cat_of = {
        "own": "own",
        "stdlib": "library",
        "library": "library",
        "builtin": "builtin",
        "native": "builtin",
        "unknown": "unknown",
    }
    out["origin"] = pd.Categorical(origins)
    out["wait_kind"] = pd.Categorical(waits)
    out["category"] = pd.Categorical(
        ["waiting" if w else cat_of[o] for o, w in zip(origins, waits, strict=True)],
        categories=["own", "library", "builtin", "waiting", "unknown"],
    )
    return out


def label(function: str, file: str, line: object = None) -> str:
    """A short display label: ``name (dir/file.py:12)`` or ``{builtin}``.

    Examples
    --------
    >>> label("<built-in method time.sleep>", "~")
    '<built-in method time.sleep>'
    >>> label("parse", "/srv/app/io/parse.py", 12)
    'parse (io/parse.py:12)'
    """
    if file in ("~", ""):
        return function
    where = normalize_file(file)
    if line is not None and str(line) not in ("<NA>", "nan", "None") and int(str(line)) > 0:
        where = f"{where}:{line}"
    return f"{function} ({where})"


def hotspots(profile: Profile, *, by: str = "self_time_s", n: int = 20) -> pd.DataFrame:
    """The top *n* functions by *by* (``self_time_s`` or ``total_time_s``), classified, with per-call times."""
    if by not in ("self_time_s", "total_time_s"):
        raise ValueError(f"by={by!r}; expected 'self_time_s' or 'total_time_s'")
    f = classify(profile.functions)
    top = f.sort_values(by, ascending=False, kind="stable").head(n).reset_index(drop=True)
    calls = top["calls"].astype("Float64").astype("float64")
    pcalls = top["primitive_calls"].astype("Float64").astype("float64")
    top["self_per_call_s"] = top["self_time_s"] / calls.where(calls > 0)
    top["total_per_call_s"] = top["total_time_s"] / pcalls.where(pcalls > 0)
    top["label"] = [
        label(str(a), str(b), c)
        for a, b, c in zip(top["function"], top["file"], top["line"], strict=True)
    ]
    return top


def time_by_category(profile: Profile) -> pd.DataFrame:
    """Self time per ``category`` (and ``wait_kind``), with its share of the total."""
    f = classify(profile.functions)
    g = (
        f.groupby(["category", "wait_kind"], observed=True)["self_time_s"]
        .sum()
        .reset_index()
        .sort_values("self_time_s", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    total = profile.total_time_s if profile.total_time_s > 0 else 1.0
    g["self_ratio"] = g["self_time_s"] / total
    g["category"] = g["category"].astype("string")
    g["wait_kind"] = g["wait_kind"].astype("string")
    return g


def call_tree(
    profile: Profile, *, max_depth: int = 12, min_ratio: float = 0.002, thread: str | None = None
) -> pd.DataFrame:
    """An icicle layout: one row per node with ``depth``, ``start_s``, ``total_time_s``, ``self_time_s``.

    ``function`` is a display label, ``name`` the bare function name (to look up diffs).

    Stack data gives the exact tree (threads side by side unless *thread* is given). pstats data gives
    an **estimate** from the edges (``estimated`` is true): see the module docstring.
    """
    rows: list[tuple[int, int, int, str, str, float, float, float]] = []
    total = profile.total_time_s
    cut = total * min_ratio
    if profile.has_stacks:
        s = profile.stacks
        if thread is not None:
            s = s[s["thread"] == thread]
        trie: dict[tuple[str, ...], list[float]] = {}
        for stack, t in zip(s["stack"].tolist(), s["time_s"].tolist(), strict=True):
            frames = tuple(stack.split(";")) if stack else ()
            for d in range(1, min(len(frames), max_depth) + 1):
                node = trie.setdefault(frames[:d], [0.0, 0.0])
                node[0] += t
            if 0 < len(frames) <= max_depth:
                trie[frames][1] += t
        ids: dict[tuple[str, ...], int] = {}
        offset: dict[tuple[str, ...], float] = {(): 0.0}
        for path in sorted(trie, key=lambda p: (len(p), -trie[p][0])):
            tot, own = trie[path]
            parent = path[:-1]
            if tot < cut or parent not in offset:
                continue
            start = offset[parent]
            offset[parent] = start + tot
            offset[path] = start
            ids[path] = len(ids)
            rows.append(
                (ids[path], ids.get(parent, -1), len(path) - 1, path[-1], path[-1], start, tot, own)
            )
        estimated = False
    else:
        f = profile.functions
        c = profile.calls
        name = {
            (a, b): label(str(a), str(b)) for a, b in zip(f["function"], f["file"], strict=True)
        }
        tot_of = dict(
            zip(zip(f["function"], f["file"], strict=True), f["total_time_s"], strict=True)
        )
        self_of = dict(
            zip(zip(f["function"], f["file"], strict=True), f["self_time_s"], strict=True)
        )
        children: dict[tuple[str, str], list[tuple[tuple[str, str], float]]] = {}
        has_caller = set()
        for a, b, x, y, t in zip(
            c["caller"],
            c["caller_file"],
            c["callee"],
            c["callee_file"],
            c["total_time_s"],
            strict=True,
        ):
            children.setdefault((a, b), []).append(((x, y), 0.0 if pd.isna(t) else float(t)))
            has_caller.add((x, y))
        roots = [k for k in tot_of if k not in has_caller and "disable" not in k[0]]
        if not roots:
            roots = [max(tot_of, key=lambda k: tot_of[k])]
        roots.sort(key=lambda k: -tot_of[k])
        start = 0.0
        todo: list[tuple[tuple[str, str], int, int, float, float, tuple[tuple[str, str], ...]]] = []
        for r in roots:
            if tot_of[r] >= cut:
                todo.append((r, -1, 0, start, float(tot_of[r]), (r,)))
                start += float(tot_of[r])
        while todo:
            key, parent_id, depth, x0, width, chain = todo.pop()
            nid = len(rows)
            kids = [(k, t) for k, t in children.get(key, []) if k not in chain and t > 0]
            ksum = sum(t for _, t in kids)
            scale = min(1.0, width / ksum) if ksum > 0 else 1.0
            own = max(width - ksum * scale, 0.0)
            rows.append(
                (
                    nid,
                    parent_id,
                    depth,
                    name.get(key, key[0]),
                    key[0],
                    x0,
                    width,
                    min(own, float(self_of.get(key, own))),
                )
            )
            if depth + 1 >= max_depth:
                continue
            x = x0
            for k, t in sorted(kids, key=lambda kt: -kt[1]):
                w = t * scale
                if w >= cut:
                    todo.append((k, nid, depth + 1, x, w, (*chain, k)))
                x += w
        estimated = True
    df = pd.DataFrame(
        rows,
        columns=[
            "node_id",
            "parent_id",
            "depth",
            "function",
            "name",
            "start_s",
            "total_time_s",
            "self_time_s",
        ],
    )
    df["estimated"] = estimated
    return df


@dataclass(repr=False)
class ProfileDiff(Diff):
    """The result of :func:`compare_profiles`: a per-function table plus the two profiles.

    Shares the :class:`~perfnb.analysis._diff.Diff` protocol. The verdict is ``regression`` when the
    total or one function's self time grew by more than ``min_effect_ratio`` of the baseline total
    (1 %, PR006's default), ``improvement`` when the total fell by as much, else ``no significant change``.
    One profile per side has no spread, so there is no confidence interval.
    """

    kind: ClassVar[str] = "profile"
    table: pd.DataFrame
    before: Profile
    after: Profile
    normalize: str
    min_effect_ratio: float = 0.01

    @property
    def baseline_run(self) -> str:
        """Run label of the baseline profile."""
        return str(self.before.run)

    @property
    def candidate_run(self) -> str:
        """Run label of the candidate profile."""
        return str(self.after.run)

    @property
    def method(self) -> str:  # type: ignore[override]
        """How the functions were compared."""
        how = "shares of total time" if self.normalize == "total" else "seconds as measured"
        return f"self time per function, {how}; one profile per side, no confidence interval"

    @property
    def verdict(self) -> str:
        """``regression``, ``improvement`` or ``no significant change`` (see the class docstring)."""
        t0, t1 = self.before.total_time_s, self.after.total_time_s
        if not t0:
            return "inconclusive"
        limit = self.min_effect_ratio * t0
        grew = self.table["delta_s"].max() if len(self.table) else 0.0
        if (self.normalize == "none" and t1 - t0 > limit) or grew > limit:
            return "regression"
        if self.normalize == "none" and t0 - t1 > limit:
            return "improvement"
        return "no significant change"

    @property
    def headline(self) -> str:
        """Total time before → after and the function whose self time grew most."""
        t0, t1 = self.before.total_time_s, self.after.total_time_s
        text = f"total {t0:.3f} s → {t1:.3f} s" + (f" ({(t1 - t0) / t0:+.0%})" if t0 else "")
        reg = self.regressions(1)
        if len(reg) and reg.iloc[0]["delta_s"] > 0:
            r = reg.iloc[0]
            text += f"; most grown: {r['function']} ({r['file']}) {r['delta_s']:+.3f} s"
        return text

    def __repr__(self) -> str:
        st = self.table["status"].value_counts()
        return (
            f"<ProfileDiff {self.before.run!r} → {self.after.run!r}: "
            f"{self.before.total_time_s:.3f} s → {self.after.total_time_s:.3f} s, "
            f"{int(st.get('new', 0))} new, {int(st.get('removed', 0))} removed>"
        )

    @property
    def new(self) -> pd.DataFrame:
        """Functions only in *after*."""
        return self.table[self.table["status"] == "new"].reset_index(drop=True)

    @property
    def removed(self) -> pd.DataFrame:
        """Functions only in *before*."""
        return self.table[self.table["status"] == "removed"].reset_index(drop=True)

    def regressions(self, n: int = 10) -> pd.DataFrame:
        """The *n* biggest self-time increases (after normalization)."""
        t = self.table[self.table["delta_s"] > 0]
        return t.sort_values("delta_s", ascending=False).head(n).reset_index(drop=True)

    def improvements(self, n: int = 10) -> pd.DataFrame:
        """The *n* biggest self-time decreases (after normalization)."""
        t = self.table[self.table["delta_s"] < 0]
        return t.sort_values("delta_s").head(n).reset_index(drop=True)


def _by_key(f: pd.DataFrame, match_lines: bool) -> pd.DataFrame:
    key = f["key"].astype(str)
    if match_lines:
        key = key + ":" + f["line"].astype("string").fillna("")
    g = f.assign(_k=key).groupby("_k", sort=False)
    return pd.DataFrame(
        {
            "function": g["function"].first().astype(str),
            "file": g["file"].first().astype(str),
            "self_s": g["self_time_s"].sum(),
            "total_s": g["total_time_s"].sum(),
            "calls": g["calls"].sum(min_count=1).astype("Float64").astype("float64"),
            "self_ratio": g["self_ratio"].sum(),
        }
    )


def _pair_qualified(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, str]:
    """Pair bare keys with qualified ones across the two sides.

    An unmatched bare key (pstats: ``file:decode``) maps to the one qualified key of the same file and
    name on the other side (``file:JSONDecoder.decode``), in both directions; ambiguous names stay apart.
    """

    def base(key: str) -> str:
        file, _, name = key.rpartition(":")
        return key if name.startswith("<") else f"{file}:{name.rsplit('.', 1)[-1]}"

    out: dict[str, str] = {}
    for src, dst in ((a, b), (b, a)):
        gone = [k for k in src.index if k not in dst.index and k == base(k)]
        cands: dict[str, list[str]] = {}
        for k in dst.index:
            if k not in src.index and base(k) != k:
                cands.setdefault(base(k), []).append(k)
        for k in gone:
            if len(cands.get(k, ())) == 1:
                out[k if src is a else cands[k][0]] = cands[k][0] if src is a else k
    return out


def _pair_moved(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, str]:
    """Unmatched before-keys → after-keys with the same bare name, when the name is unique on both sides."""
    gone = [k for k in a.index if k not in b.index]
    came = [k for k in b.index if k not in a.index]

    def bare(key: str) -> str:
        name = key.rsplit(":", 1)[-1]
        return name if name.startswith("<") else name.rsplit(".", 1)[-1]

    def unique(keys: list[str]) -> dict[str, str]:
        seen: dict[str, list[str]] = {}
        for k in keys:
            seen.setdefault(bare(k), []).append(k)
        return {n: ks[0] for n, ks in seen.items() if len(ks) == 1}

    g, c = unique(gone), unique(came)
    return {g[n]: c[n] for n in g.keys() & c.keys() if not n.startswith("<") or n == "<module>"}


def compare_profiles(
    before: Profile,
    after: Profile,
    *,
    normalize: Literal["none", "total"] = "none",
    match_lines: bool = False,
    match_moved: bool = True,
    min_delta_s: float = 0.0,
) -> ProfileDiff:
    """Compare two profiles function by function, biggest changes first.

    Parameters
    ----------
    before, after
        The baseline and the candidate.
    normalize
        ``"none"``: compare seconds as measured (right when both runs did the same work). ``"total"``:
        scale *before* to *after*'s total time, i.e. compare shares of total (right for time-bounded
        runs or different sampling rates). The choice is stored in ``table.attrs["perfnb"]``.
    match_lines
        Also match on line numbers (off by default: lines move when code is edited).
    match_moved
        Pair a function that vanished from one file with the only function of the same name that appeared
        in another (a renamed script or module); such rows have ``moved_from`` set.
    min_delta_s
        Changes smaller than this (in absolute seconds) are labelled ``unchanged``.

    Returns
    -------
    ProfileDiff
        ``table`` columns: ``key, function, file, status (new/removed/changed/unchanged), self_before_s,
        self_after_s, delta_s, delta_ratio, total_before_s, total_after_s, calls_before, calls_after,
        per_call_before_s, per_call_after_s, calls_effect_s, per_call_effect_s, cause``.
    """
    if normalize not in ("none", "total"):
        raise ValueError(f"normalize={normalize!r}; expected 'none' or 'total'")
    a = _by_key(before.functions, match_lines)
    b = _by_key(after.functions, match_lines)
    qual = _pair_qualified(a, b)
    if qual:
        a = a.rename(index=qual)
    moved = _pair_moved(a, b) if match_moved else {}
    if moved:
        a = a.rename(index=moved)
    scale = 1.0
    if normalize == "total" and before.total_time_s > 0:
        scale = after.total_time_s / before.total_time_s
    t = a.merge(b, how="outer", left_index=True, right_index=True, suffixes=("_a", "_b"))
    status = np.where(
        t["self_s_a"].isna(), "new", np.where(t["self_s_b"].isna(), "removed", "changed")
    )
    s0 = t["self_s_a"].fillna(0.0) * scale
    s1 = t["self_s_b"].fillna(0.0)
    c0, c1 = t["calls_a"], t["calls_b"]
    p0 = s0 / c0.where(c0 > 0)
    p1 = s1 / c1.where(c1 > 0)
    out = pd.DataFrame(
        {
            "key": t.index.astype(str),
            "function": t["function_b"].fillna(t["function_a"]).astype(str),
            "file": t["file_b"].fillna(t["file_a"]).astype(str),
            "status": status,
            "self_before_s": s0.to_numpy(),
            "self_after_s": s1.to_numpy(),
            "delta_s": (s1 - s0).to_numpy(),
            "delta_ratio": ((s1 - s0) / s0.where(s0 > 0)).to_numpy(),
            "total_before_s": (t["total_s_a"] * scale).to_numpy(),
            "total_after_s": t["total_s_b"].to_numpy(),
            "share_before_ratio": t["self_ratio_a"].to_numpy(),
            "share_after_ratio": t["self_ratio_b"].to_numpy(),
            "calls_before": c0.to_numpy(),
            "calls_after": c1.to_numpy(),
            "per_call_before_s": p0.to_numpy(),
            "per_call_after_s": p1.to_numpy(),
            "calls_effect_s": ((c1 - c0) * p0).to_numpy(),
            "per_call_effect_s": (c1 * (p1 - p0)).to_numpy(),
        }
    )
    out["moved_from"] = [next((k for k, v in moved.items() if v == key), "") for key in out["key"]]
    small = (out["status"] == "changed") & (out["delta_s"].abs() <= min_delta_s)
    out.loc[small, "status"] = "unchanged"
    ce, pe = out["calls_effect_s"].abs(), out["per_call_effect_s"].abs()
    cause = np.where(
        out["status"].isin(["new", "removed"]),
        out["status"],
        np.where(
            ce.isna() | pe.isna(),
            "time",
            np.where(ce > 2 * pe, "call count", np.where(pe > 2 * ce, "per-call time", "both")),
        ),
    )
    out["cause"] = cause
    out["status"] = pd.Categorical(out["status"], ["changed", "new", "removed", "unchanged"])
    out = out.reindex(out["delta_s"].abs().sort_values(ascending=False, kind="stable").index)
    out = out.reset_index(drop=True)
    out.attrs["perfnb"] = {
        "normalize": normalize,
        "scale": scale,
        "match_lines": match_lines,
        "before_total_s": before.total_time_s,
        "after_total_s": after.total_time_s,
    }
    return ProfileDiff(out, before, after, normalize)
