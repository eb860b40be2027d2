"""Profile figures: top-N bars, icicle (flame) charts, differential views, time by category.

:func:`snakeviz` serves a profile with snakeviz for interactive use in JupyterLab.

Static matplotlib figures are what shared reports use; snakeviz needs a live server (it stops with the
kernel), draws trees from pstats edges by an estimate (snakeviz#112), and loads its JS from a CDN first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Patch

from perfnb.analysis.profiles import (
    ProfileDiff,
    call_tree,
    classify,
    hotspots,
    label,
    time_by_category,
)
from perfnb.model.profile import Profile

__all__ = [
    "CATEGORY_COLORS",
    "SnakevizServer",
    "plot_diff",
    "plot_diff_icicle",
    "plot_icicle",
    "plot_time_by_category",
    "plot_top_functions",
    "snakeviz",
]

CATEGORY_COLORS = {
    "own": "#d95f02",
    "library": "#7570b3",
    "builtin": "#1b9e77",
    "waiting": "#999999",
    "unknown": "#e6ab02",
}


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=size)
    return new


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def plot_top_functions(
    data: Profile | pd.DataFrame, *, ax: Axes | None = None, n: int = 15, by: str = "self_time_s"
) -> Axes:
    """Horizontal bars of the top *n* functions by *by*, coloured by category (own/library/builtin/waiting)."""
    top = hotspots(data, by=by, n=n) if isinstance(data, Profile) else data.head(n)
    ax = _ax(ax, (9, 0.35 * max(len(top), 3) + 1.2))
    colors = [CATEGORY_COLORS.get(str(c), "#666666") for c in top["category"]]
    y = np.arange(len(top))[::-1]
    ax.barh(y, top[by], color=colors)
    ax.set_yticks(y, [_short(str(s)) for s in top["label"]], fontsize=8)
    ax.set_xlabel("self time (s)" if by == "self_time_s" else "inclusive time (s)")
    ax.set_title(
        f"Top {len(top)} functions by {'self' if by == 'self_time_s' else 'inclusive'} time"
    )
    present = [c for c in CATEGORY_COLORS if c in set(map(str, top["category"]))]
    ax.legend(
        handles=[Patch(color=CATEGORY_COLORS[c], label=c) for c in present],
        fontsize=8,
        loc="lower right",
    )
    return ax


def _draw_tree(ax: Axes, tree: pd.DataFrame, colors: list[Any], title: str) -> Axes:
    ax.barh(
        tree["depth"],
        tree["total_time_s"],
        left=tree["start_s"],
        height=0.95,
        color=colors,
        edgecolor="white",
        linewidth=0.4,
        align="edge",
    )
    total = float((tree.loc[tree["depth"] == 0, "total_time_s"]).sum()) or 1.0
    for rec in tree.to_dict("records"):
        row = SimpleNamespace(**{str(k): v for k, v in rec.items()})
        if row.total_time_s / total > 0.06:
            chars = int(110 * row.total_time_s / total)
            ax.text(
                row.start_s + total * 0.003,
                row.depth + 0.47,
                _short(str(row.function), chars),
                va="center",
                fontsize=7,
                clip_on=True,
            )
    ax.set_xlim(0, total)
    ax.set_ylim(max(int(tree["depth"].max()) + 1, 1) if len(tree) else 1, 0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("stack depth")
    ax.set_title(title)
    return ax


def plot_icicle(
    profile: Profile, *, ax: Axes | None = None, max_depth: int = 14, min_ratio: float = 0.005
) -> Axes:
    """Icicle chart (a flame graph, root on top) coloured by category; widths are inclusive time.

    pstats trees are estimates built from edges (the title says so); stack data is exact.
    """
    tree = call_tree(profile, max_depth=max_depth, min_ratio=min_ratio)
    ax = _ax(ax, (12, 0.4 * max_depth + 1.5))
    funcs = classify(profile.functions)
    cats = funcs["category"].astype(str).tolist()
    by_name = dict(zip(funcs["function"].astype(str), cats, strict=True))
    by_label = {
        label(str(f), str(p)): c
        for f, p, c in zip(funcs["function"], funcs["file"], cats, strict=True)
    }
    colors = [
        CATEGORY_COLORS.get(by_label.get(str(lb)) or by_name.get(str(n), "unknown"), "#cccccc")
        for lb, n in zip(tree["function"], tree["name"], strict=True)
    ]
    est = " (estimated from pstats edges)" if len(tree) and bool(tree["estimated"].iloc[0]) else ""
    return _draw_tree(ax, tree, colors, f"Icicle chart of {profile.run}{est}")


def plot_diff(diff: ProfileDiff, *, ax: Axes | None = None, n: int = 15) -> Axes:
    """Bars of the *n* biggest self-time changes: red slower, blue faster, green new, grey removed."""
    t = diff.table.head(n)
    ax = _ax(ax, (9, 0.35 * max(len(t), 3) + 1.2))
    pal = {"new": "#4daf4a", "removed": "#999999"}
    colors = [
        pal.get(str(s), "#d7301f" if d > 0 else "#2c7fb8")
        for s, d in zip(t["status"], t["delta_s"], strict=True)
    ]
    y = np.arange(len(t))[::-1]
    ax.barh(y, t["delta_s"], color=colors)
    labels = [f"{_short(str(f), 45)} [{c}]" for f, c in zip(t["function"], t["cause"], strict=True)]
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"self time change (s), normalize={diff.normalize}")
    ax.set_title(f"Biggest changes {diff.before.run} → {diff.after.run}")
    ax.legend(
        handles=[
            Patch(color="#d7301f", label="slower"),
            Patch(color="#2c7fb8", label="faster"),
            Patch(color="#4daf4a", label="new"),
            Patch(color="#999999", label="removed"),
        ],
        fontsize=8,
        loc="lower right",
    )
    return ax


def plot_diff_icicle(
    diff: ProfileDiff, *, ax: Axes | None = None, max_depth: int = 14, min_ratio: float = 0.005
) -> Axes:
    """Differential icicle: shaped like *after*, coloured by each function's self-time change.

    Red is slower, blue faster, green new.
    """
    tree = call_tree(diff.after, max_depth=max_depth, min_ratio=min_ratio)
    ax = _ax(ax, (12, 0.4 * max_depth + 1.5))
    t = diff.table
    delta = t.groupby("function")["delta_s"].sum().to_dict()
    new = set(t.loc[t["status"] == "new", "function"])
    lim = max(float(t["delta_s"].abs().max()) if len(t) else 0.0, 1e-9)
    cmap = plt.get_cmap("RdBu_r")
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    colors = ["#4daf4a" if n in new else cmap(norm(delta.get(str(n), 0.0))) for n in tree["name"]]
    est = " (estimated from pstats edges)" if len(tree) and bool(tree["estimated"].iloc[0]) else ""
    _draw_tree(ax, tree, colors, f"Differential icicle {diff.before.run} → {diff.after.run}{est}")
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    ax.figure.colorbar(sm, ax=ax, label="self time change (s)", fraction=0.03)
    return ax


def plot_time_by_category(profile: Profile, *, ax: Axes | None = None) -> Axes:
    """Bars of self time per category (waiting split by kind)."""
    g = time_by_category(profile)
    ax = _ax(ax, (7, 0.4 * max(len(g), 3) + 1))
    names = [
        f"{c} ({w})" if w else str(c) for c, w in zip(g["category"], g["wait_kind"], strict=True)
    ]
    y = np.arange(len(g))[::-1]
    ax.barh(y, g["self_ratio"], color=[CATEGORY_COLORS.get(str(c), "#666") for c in g["category"]])
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("share of profiled time")
    ax.set_title("Where the time goes")
    return ax


@dataclass
class SnakevizServer:
    """A running snakeviz server (``stop()`` ends it; displayed in Jupyter as an iframe)."""

    url: str
    process: subprocess.Popen[bytes]
    path: Path

    def stop(self) -> None:
        """Terminate the server."""
        self.process.terminate()
        self.process.wait(timeout=10)

    def _repr_html_(self) -> str:
        from perfnb._html import esc

        return f'<iframe src="{esc(self.url)}" width="100%" height="600" frameborder="0"></iframe>'


def snakeviz(profile: Profile, *, port: int = 0, open_browser: bool = False) -> SnakevizServer:
    """Serve *profile* with snakeviz on 127.0.0.1 and return the server (display it in JupyterLab).

    Limits: the browser must reach the kernel's host and port (not Binder/Colab behind HTTPS); the server
    lives until :meth:`SnakevizServer.stop` or the kernel ends, so saved notebooks show a dead frame; sampled
    profiles are written with sample counts as call counts; snakeviz's per-path timings are estimates.
    Static reports should use :func:`plot_icicle` instead.
    """
    path = Path(tempfile.mkdtemp(prefix="perfnb-snakeviz-")) / f"{profile.run or 'profile'}.prof"
    profile.to_pstats(path)
    if port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
    cmd = [sys.executable, "-m", "snakeviz", "-H", "127.0.0.1", "-p", str(port)]
    if not open_browser:
        cmd.append("-s")
    proc = subprocess.Popen(
        [*cmd, os.fspath(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    from urllib.parse import quote

    return SnakevizServer(f"http://127.0.0.1:{port}/snakeviz/{quote(os.fspath(path))}", proc, path)
