"""Interactive flame graphs (Plotly icicles) for every profile format, and their differential view.

Entry points: :func:`plot_flame` (top-down or bottom-up), :func:`plot_flame_diff` (red slower, blue
faster), :func:`flame_nodes` (the pruned tree as a frame), :func:`write_flame` (one HTML file, for
``perfnb flame``).

The icicle is Plotly's: click a frame to zoom into it, click the top bar to zoom out, hover for self and
inclusive time, share, calls and ``file:line``. A search box above it highlights the frames whose name or
location contains the text. Widths are inclusive time. Stacks come from
:func:`perfnb.io.profiles.writers.weighted_stacks`: measured for stack formats, estimated from caller→callee
edges for pstats (the title says so).

Pruning keeps files small and large profiles drawable: frames under ``min_ratio`` of the total, and every
frame past the ``max_nodes`` largest, are folded into their caller (the caller keeps its width; the folded
part shows as a gap), and the subtitle states how many frames and how much time were folded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from perfnb.analysis.profiles import ProfileDiff, classify
from perfnb.io.profiles.writers import weighted_stacks
from perfnb.model.profile import Profile, normalize_file, normalize_key
from perfnb.plot._icicle import _tree
from perfnb.plot.interactive import base_layout, esc, write_html

__all__ = [
    "CATEGORY_COLORS",
    "flame_nodes",
    "plot_flame",
    "plot_flame_diff",
    "write_flame",
]

#: the columns of the call-tree tables behind the flame graphs (top-down, bottom-up and differential)
TREE_COLUMNS = ["node_id", "parent_id", "depth", "function", "file", "line", "calls", "category",
                "total_time_s", "self_time_s"]  # fmt: skip

CATEGORY_COLORS = {
    "own": "#f28e2b",
    "library": "#9c8ede",
    "builtin": "#59a14f",
    "waiting": "#bab0ac",
    "unknown": "#edc948",
}


def _fmt_s(x: float) -> str:
    if x >= 1:
        return f"{x:.3g} s"
    if x >= 1e-3:
        return f"{x * 1e3:.3g} ms"
    return f"{x * 1e6:.3g} µs"


def _function_info(profile: Profile) -> dict[str, dict[str, Any]]:
    f = classify(profile.functions)
    info: dict[str, dict[str, Any]] = {}
    for fn, file, line, calls, cat in zip(
        f["function"].astype(str),
        f["file"].fillna("").astype(str),
        f["line"].astype("Float64").fillna(0).astype("int64"),
        f["calls"].astype("Float64").fillna(np.nan).astype(float).tolist(),
        f["category"].astype(str),
        strict=True,
    ):
        d = info.setdefault(fn, {"file": file, "line": int(line), "calls": 0.0, "cat": cat, "n": 0})
        d["n"] += 1
        d["calls"] += calls  # NaN for sampled profiles, which count no calls
    return info


def flame_nodes(
    profile: Profile,
    *,
    direction: Literal["top-down", "bottom-up"] = "top-down",
    min_ratio: float = 0.001,
    max_nodes: int = 3000,
) -> pd.DataFrame:
    """The pruned icicle tree as a frame, root row ``all`` first.

    Columns ``node_id, parent_id, depth, function, file, line, calls, category, total_time_s,
    self_time_s``; ``attrs["perfnb"]`` holds the pruning.

    Bottom-up puts each function where time was *spent* at the top and its callers below it: a node's
    ``total_time_s`` is the time spent in the top function when called through this chain.
    """
    if direction not in ("top-down", "bottom-up"):
        raise ValueError(f"direction={direction!r}; expected 'top-down' or 'bottom-up'")
    st = weighted_stacks(profile)
    rows = st.rows if direction == "top-down" else [(t, p[::-1], w) for t, p, w in st.rows]
    many = len({r[0] for r in rows}) > 1
    tree = _tree(rows, threads=many, min_ratio=min_ratio, max_nodes=max_nodes)
    info = _function_info(profile)
    recs = []
    for node in tree.nodes:
        nid, pid, path = node.node_id, node.parent_id, node.path
        if not path:
            recs.append((nid, pid, 0, "all", "", 0, np.nan, "unknown", node.total, node.own))
            continue
        k = path[-1]
        if isinstance(k, tuple):  # a thread level
            recs.append(
                (
                    nid,
                    pid,
                    len(path),
                    f"thread {k[1]}",
                    "",
                    0,
                    np.nan,
                    "unknown",
                    node.total,
                    node.own,
                )
            )
            continue
        fr = st.frames[k]
        d = info.get(fr.function, {})
        line = fr.line or int(d.get("line", 0))
        calls = d.get("calls", np.nan) if d.get("n", 0) == 1 else np.nan
        own = (
            node.own if direction == "top-down" else (node.total if len(path) == 1 + many else 0.0)
        )
        recs.append(
            (
                nid,
                pid,
                len(path),
                fr.function,
                fr.file or d.get("file", ""),
                line,
                calls,
                d.get("cat", "unknown"),
                node.total,
                own,
            )
        )
    out = pd.DataFrame(
        recs,
        columns=TREE_COLUMNS,
    )
    out.attrs["perfnb"] = {
        "direction": direction,
        "estimated": st.estimated,
        "min_ratio": min_ratio,
        "max_nodes": max_nodes,
        "folded_frames": tree.folded_n,
        "folded_time_s": tree.folded_s,
        "total_time_s": tree.total,
    }
    return out


def _hover(t: pd.DataFrame, total: float, extra: list[str] | None = None) -> list[str]:
    out = []
    cols = zip(
        t["function"].astype(str).tolist(),
        t["file"].astype(str).tolist(),
        [int(x) for x in t["line"].tolist()],
        [float(x) for x in t["calls"].tolist()],
        [float(x) for x in t["total_time_s"].tolist()],
        [float(x) for x in t["self_time_s"].tolist()],
        strict=True,
    )
    for i, (fn, file, line, calls, tot, own) in enumerate(cols):
        where = normalize_file(file) if file not in ("", "~") else "(builtin)"
        if line:
            where += f":{line}"
        lines = [
            f"<b>{esc(fn)}</b>",
            esc(where),
            f"inclusive {_fmt_s(tot)} ({tot / total:.1%})",
            f"self {_fmt_s(own)}",
        ]
        if calls == calls:  # not NaN: deterministic profiles count calls
            lines.append(f"calls {int(calls):,}")
        if extra:
            lines.append(extra[i])
        out.append("<br>".join(lines))
    return out


def _pruning_note(meta: dict[str, Any]) -> str:
    parts = []
    if meta["estimated"]:
        parts.append("call paths estimated from pstats caller→callee edges")
    if meta["folded_frames"]:
        parts.append(
            f"{meta['folded_frames']:,} call paths under {meta['min_ratio']:.1%} of the total "
            f"(or past the {meta['max_nodes']:,} widest) folded into their caller: "
            f"{_fmt_s(meta['folded_time_s'])} not drawn"
        )
    return "; ".join(parts)


def _icicle(
    t: pd.DataFrame,
    colors: list[str] | list[float],
    hover: list[str],
    *,
    title: str,
    note: str,
    maxdepth: int,
    colorbar: dict[str, Any] | None,
) -> go.Figure:
    labels = [esc(f, 60) for f in t["function"]]
    marker: dict[str, Any] = {"colors": colors, "line": {"width": 0.5, "color": "white"}}
    if colorbar is not None:
        marker.update(colorbar)
    fig = go.Figure(
        go.Icicle(
            ids=[str(i) for i in t["node_id"]],
            parents=["" if p < 0 else str(p) for p in t["parent_id"]],
            labels=labels,
            values=np.round(t["total_time_s"].to_numpy(), 9),
            branchvalues="total",
            marker=marker,
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            texttemplate="%{label}",
            tiling={"orientation": "v"},
            maxdepth=maxdepth,
            sort=False,
            pathbar={"visible": True, "thickness": 20},
        )
    )
    depth = int(min(t["depth"].max(), maxdepth)) if len(t) else 1
    lines = [esc(part.strip(), 400) for part in note.split(";") if part.strip()]
    full = title + "".join(f"<br><sup>{ln}</sup>" for ln in lines)
    top = 64 + 22 * len(lines)
    base_layout(
        fig, title=full, height=max(360, 26 * depth + 80 + top), meta={"perfnb_search": True}
    )
    fig.update_layout(uniformtext={"minsize": 10, "mode": "hide"}, margin={"t": top})
    return fig


def plot_flame(
    profile: Profile,
    *,
    direction: Literal["top-down", "bottom-up"] = "top-down",
    min_ratio: float = 0.001,
    max_nodes: int = 3000,
    maxdepth: int = 14,
) -> go.Figure:
    """An interactive icicle (flame graph, root on top) of *profile*, coloured by kind of code.

    Parameters
    ----------
    direction
        ``"top-down"``: callers above callees. ``"bottom-up"``: the functions where time was spent on
        top, their callers below (who calls the hot function).
    min_ratio, max_nodes
        Pruning (stated in the subtitle): frames under this share of the total, or past the widest
        *max_nodes*, are folded into their caller.
    maxdepth
        Levels shown at once; click a frame to see deeper.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``icicle`` trace; widths are inclusive seconds.
    """
    t = flame_nodes(profile, direction=direction, min_ratio=min_ratio, max_nodes=max_nodes)
    meta = t.attrs["perfnb"]
    total = meta["total_time_s"] or 1.0
    colors = [CATEGORY_COLORS.get(str(c), "#cccccc") for c in t["category"]]
    colors[0] = "#dddddd"
    kind = "callers of each hot function (bottom-up)" if direction == "bottom-up" else "top-down"
    title = f"Flame graph of {esc(profile.run, 80)}: {kind}, width = inclusive time (s)"
    legend = " · ".join(f"{k}" for k in CATEGORY_COLORS)
    note = _pruning_note(meta)
    note = f"colour: {legend} code (orange own, purple library, green builtin, grey waiting)" + (
        f"; {note}" if note else ""
    )
    return _icicle(
        t, colors, _hover(t, total), title=title, note=note, maxdepth=maxdepth, colorbar=None
    )


def _key_rows(profile: Profile) -> tuple[list[tuple[str, tuple[Any, ...], float]], Any]:
    st = weighted_stacks(profile)
    keys = [normalize_key(fr.function, fr.file) for fr in st.frames]
    return [("", tuple(keys[i] for i in p), w) for _, p, w in st.rows], st


def plot_flame_diff(
    diff: ProfileDiff,
    *,
    min_ratio: float = 0.001,
    max_nodes: int = 3000,
    maxdepth: int = 14,
) -> go.Figure:
    """Differential icicle: shaped like *after*, each frame coloured by its inclusive-time change.

    Frames are matched on their call path of ``file:function`` keys (:func:`normalize_key`: paths
    shortened, addresses dropped, lines ignored), so sampled and deterministic profiles, and runs from
    different machines, compare. Red is slower, blue faster; with ``diff.normalize == "total"`` *before*
    is scaled to *after*'s total first. Paths only in *before* have no width here; the subtitle counts them.
    """
    rows_b, _ = _key_rows(diff.before)
    rows_a, st_a = _key_rows(diff.after)
    scale = 1.0
    if diff.normalize == "total" and diff.before.total_time_s > 0:
        scale = diff.after.total_time_s / diff.before.total_time_s
    ta = _tree(rows_a, threads=False, min_ratio=min_ratio, max_nodes=max_nodes)
    tb = _tree(
        rows_b,
        threads=False,
        min_ratio=0.0,
        max_nodes=len(ta.nodes),
        only={n.path for n in ta.nodes},
    )
    before_of = {n.path: n.total * scale for n in tb.nodes}
    folded_n, folded_s = ta.folded_n, ta.folded_s

    key_info: dict[str, tuple[str, str, int]] = {}
    for fr in st_a.frames:
        key_info.setdefault(normalize_key(fr.function, fr.file), (fr.function, fr.file, fr.line))
    recs, deltas, extra = [], [], []
    for node in ta.nodes:
        nid, pid, path = node.node_id, node.parent_id, node.path
        fn, file, line = key_info.get(path[-1], (str(path[-1]), "", 0)) if path else ("all", "", 0)
        b = before_of.get(path, 0.0)
        d = node.total - b
        deltas.append(d)
        pct = f" ({d / b:+.0%})" if b > 0 else " (new path)"
        extra.append(f"before {_fmt_s(b)} → after {_fmt_s(node.total)}: {d:+.4g} s{pct}")
        recs.append((nid, pid, len(path), fn, file, line, np.nan, "", node.total, node.own))
    t = pd.DataFrame(
        recs,
        columns=TREE_COLUMNS,
    )
    gone = max(
        tb.total * scale
        - sum(before_of.get(n.path, 0.0) for n in ta.nodes if len(n.path) == 1)
        - tb.nodes[0].own * scale,
        0.0,
    )
    lim = max(max((abs(x) for x in deltas[1:]), default=0.0), 1e-9)
    meta = {
        "estimated": not (diff.before.has_stacks and diff.after.has_stacks),
        "folded_frames": folded_n,
        "folded_time_s": folded_s,
        "min_ratio": min_ratio,
        "max_nodes": max_nodes,
    }
    note = _pruning_note(meta)
    norm = "before scaled to after's total" if scale != 1.0 else "seconds as measured"
    note = (
        f"red slower, blue faster (Δ inclusive time, {norm}); frames matched by file:function"
        + (f"; top-level paths not in after: {_fmt_s(gone)} of before" if gone > 0 else "")
        + (f"; {note}" if note else "")
    )
    title = (
        f"Differential flame graph {esc(diff.before.run, 60)} → {esc(diff.after.run, 60)}: "
        "width = inclusive time after (s)"
    )
    colorbar = {
        "colorscale": "RdBu_r",
        "cmid": 0.0,
        "cmin": -lim,
        "cmax": lim,
        "showscale": True,
        "colorbar": {"title": {"text": "Δ inclusive (s)"}, "thickness": 12},
    }
    total = ta.total or 1.0
    return _icicle(
        t,
        [round(x, 9) for x in deltas],
        _hover(t, total, extra),
        title=title,
        note=note,
        maxdepth=maxdepth,
        colorbar=colorbar,
    )


def write_flame(
    profile: Profile,
    path: str | Path,
    *,
    baseline: Profile | None = None,
    min_ratio: float = 0.001,
    max_nodes: int = 3000,
) -> Path:
    """Write top-down and bottom-up flame graphs (and the differential one, given *baseline*) to *path*."""
    from perfnb.analysis.profiles import compare_profiles

    figs = [
        plot_flame(profile, min_ratio=min_ratio, max_nodes=max_nodes),
        plot_flame(profile, direction="bottom-up", min_ratio=min_ratio, max_nodes=max_nodes),
    ]
    if baseline is not None:
        figs.append(
            plot_flame_diff(
                compare_profiles(baseline, profile), min_ratio=min_ratio, max_nodes=max_nodes
            )
        )
    intro = (
        f"{profile.run}: {len(profile.functions):,} functions, {_fmt_s(profile.total_time_s)} "
        f"profiled ({profile.source}). Click a frame to zoom, the bar above to zoom out."
    )
    return write_html(figs, path, title=f"Flame graph: {profile.run}", intro=intro)
