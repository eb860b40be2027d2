"""Plan figures: the plan tree (boxes coloured by self time, row-estimate warnings) and self time by node.

Entry points: :func:`plot_plan_tree`, :func:`plot_self_time`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from perfnb.analysis.plans import node_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from perfnb.model.plan import Plan

__all__ = ["plot_plan_tree", "plot_self_time"]


def _layout(parent: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """X (leaf order, parents centred over children) and y (depth) per node, nodes in pre-order."""
    n = len(parent)
    children: list[list[int]] = [[] for _ in range(n)]
    for i, p in enumerate(parent):
        if p >= 0:
            children[p].append(i)
    x = np.zeros(n)
    y = np.zeros(n)
    next_leaf = 0.0
    # iterative post-order
    stack: list[tuple[int, bool]] = [(0, False)] if n else []
    depth = np.zeros(n)
    while stack:
        i, done = stack.pop()
        if done:
            if children[i]:
                x[i] = float(np.mean([x[c] for c in children[i]]))
            else:
                x[i] = next_leaf
                next_leaf += 1.0
            continue
        stack.append((i, True))
        for c in reversed(children[i]):
            depth[c] = depth[i] + 1
            stack.append((c, False))
    y[:] = -depth
    return x, y


def plot_plan_tree(
    plan: Plan, *, ax: Axes | None = None, max_nodes: int = 60, warn_factor: float = 10.0
) -> Axes:
    """Draw the plan as a tree: one box per node, coloured by self-time share, ⚠ on row misestimates.

    Parameters
    ----------
    plan
        A loaded plan.
    ax
        Axes to draw on; a new figure sized to the tree otherwise.
    max_nodes
        Only the first *max_nodes* nodes (pre-order) are drawn, to keep huge plans legible.
    warn_factor
        Estimate factor from which a node is marked with a warning.

    Returns
    -------
    Axes
        One text box (``ax.texts``) per drawn node, one line per edge.

    Examples
    --------
    >>> import perfnb
    >>> ax = plot_plan_tree(perfnb.read_plan("data/samples/plans/hash_spill.json"))
    >>> len(ax.texts)
    5
    """
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    df = plan.nodes.head(max_nodes)
    parent = [(-1 if p != p else int(p)) for p in df["parent_id"].astype("float64")]
    parent = [p if p < len(df) else -1 for p in parent]
    x, y = _layout(parent)
    if ax is None:
        width = max(6.0, 3.4 * (x.max() + 1 if len(x) else 1))
        height = max(3.0, 1.3 * (-(y.min()) + 1 if len(y) else 1))
        _, ax = plt.subplots(figsize=(min(width, 24.0), min(height, 30.0)))
    cmap = colormaps["OrRd"]
    ratios = df["self_ratio"].astype("float64").fillna(0.0).to_numpy()
    for i, p in enumerate(parent):
        if p >= 0:
            ax.plot([x[p], x[i]], [y[p], y[i]], color="0.6", linewidth=1, zorder=1)
    for i, row in enumerate(df.to_dict("records")):
        st = row["self_time_s"]
        ms = "" if st != st else f"\n{st * 1e3:.2f} ms ({ratios[i]:.0%})"
        f = row["estimate_factor"]
        warn = ""
        if f == f and f >= warn_factor:
            warn = f"\n⚠ rows ×{f:,.0f} {row['estimate_direction']}"
        sub = row["subplan_name"]
        head = f"[{sub}]\n" if isinstance(sub, str) and sub else ""
        label = node_label(row)
        if len(label) > 28:
            label = label.replace(" on ", "\non ", 1)
        ax.text(
            x[i],
            y[i],
            f"{head}{label}{ms}{warn}",
            ha="center",
            va="center",
            fontsize=7,
            zorder=2,
            bbox={
                "boxstyle": "round,pad=0.4",
                "facecolor": cmap(0.1 + 0.8 * float(ratios[i])),
                "edgecolor": "red" if warn else "0.3",
                "linewidth": 2 if warn else 1,
            },
        )
    ax.set_xlim(x.min() - 0.8 if len(x) else -1, x.max() + 0.8 if len(x) else 1)
    ax.set_ylim(y.min() - 0.6 if len(y) else -1, 0.6)
    ax.set_axis_off()
    ax.set_title(f"Plan {plan.run}: boxes coloured by self-time share")
    return ax


def plot_self_time(plan: Plan, *, ax: Axes | None = None, n: int = 15) -> Axes:
    """Horizontal bars of self time (ms) for the *n* nodes with the most, largest on top.

    Examples
    --------
    >>> import perfnb
    >>> ax = plot_self_time(perfnb.read_plan("data/samples/plans/hash_spill.json"))
    >>> len(ax.patches)
    5
    """
    import matplotlib.pyplot as plt

    df = plan.nodes.sort_values("self_time_s", ascending=False).head(n).iloc[::-1]
    labels = [f"{r['node_id']}: {node_label(r)}" for r in df.to_dict("records")]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, max(2.0, 0.4 * len(df) + 1)))
    values = df["self_time_s"].astype("float64").fillna(0.0).to_numpy() * 1e3
    err = df["self_time_uncertainty_s"].astype("float64").fillna(0.0).to_numpy() * 1e3
    ax.barh(labels, values, xerr=err if err.any() else None, color="tab:orange")
    ax.set_xlabel("self time (ms)")
    ax.set_title(f"Self time by node — {plan.run}")
    return ax
