"""Load-test figures: percentiles over time, throughput vs users (USL), errors, latency CDF.

Percentiles over time carry the user count; the CDF overlays a baseline run when one is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from perfnb.analysis.capacity import Capacity
    from perfnb.io.loadtest import LoadTest

__all__ = [
    "plot_errors",
    "plot_latency_cdf",
    "plot_percentiles_over_time",
    "plot_throughput_vs_users",
]


def _ax(ax: Axes | None, size: tuple[float, float] = (8, 4)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=size)
    return new


def plot_percentiles_over_time(lt: LoadTest, *, ax: Axes | None = None, freq: str = "5s") -> Axes:
    """p50/p95/p99 (Total) over time, with the user count on a second axis."""
    ax = _ax(ax)
    iv = lt.intervals(freq) if lt.has_requests else lt.intervals()
    tot = iv[iv["label"] == "Total"]
    kind = str(tot["percentile_kind"].iloc[0]) if len(tot) else ""
    for col in ("p50_s", "p95_s", "p99_s"):
        if tot[col].notna().any():
            ax.plot(tot["timestamp"], tot[col], label=col.replace("_s", ""))
    ax.set_ylabel("response time (s)")
    ax.set_title(f"Response-time percentiles over time ({kind})")
    if tot["users"].notna().any():
        ax2 = ax.twinx()
        ax2.step(
            tot["timestamp"],
            tot["users"].astype("float64"),
            where="post",
            color="grey",
            alpha=0.6,
            label="users",
        )
        ax2.set_ylabel("users")
    ax.legend(loc="upper left")
    return ax


def plot_throughput_vs_users(cap: Capacity, *, ax: Axes | None = None) -> Axes:
    """Measured throughput per user level with the fitted USL curve."""
    ax = _ax(ax)
    lv = cap.levels
    ax.plot(lv["users"], lv["throughput_per_s"], "o", label="measured")
    if np.isfinite(cap.lam):
        n = np.linspace(1, float(lv["users"].max()), 200)  # the curve only where levels were run
        ax.plot(n, cap.curve(n), "-", label=f"USL σ={cap.sigma:.3f} κ={cap.kappa:.4f}")
        if np.isfinite(cap.peak_users):
            ax.axvline(cap.peak_users, ls="--", color="grey", label=f"N*={cap.peak_users:.0f}")
    if cap.knee_users is not None:
        ax.axvline(cap.knee_users, ls=":", color="red", label=f"knee={cap.knee_users}")
    ax.set_xlabel("users")
    ax.set_ylabel("throughput (req/s)")
    ax.set_title("Throughput versus users")
    ax.legend()
    return ax


def plot_errors(lt: LoadTest, *, ax: Axes | None = None, top: int = 10) -> Axes:
    """Horizontal bars: error count per label/status (top *top*)."""
    ax = _ax(ax)
    e = lt.errors()
    if len(e):
        g = (
            e.assign(key=e["label"].astype(str) + " " + e["status"].astype(str))
            .groupby("key")["count"]
            .sum()
        )
        g = g.sort_values().tail(top)
        ax.barh(list(g.index), g.to_numpy())
    else:
        ax.text(0.5, 0.5, "no errors", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("errors")
    ax.set_title("Error breakdown")
    return ax


def plot_latency_cdf(
    lt: LoadTest, *, ax: Axes | None = None, baseline: LoadTest | None = None, labels: bool = True
) -> Axes:
    """Empirical CDF of response times per label (and Total); with *baseline*, Total of both overlaid."""
    ax = _ax(ax)

    def cdf(values: Any, **kw: Any) -> None:
        v = np.sort(np.asarray(values, dtype="float64"))
        if v.size:
            ax.plot(v, np.arange(1, v.size + 1) / v.size, **kw)

    def hist_cdf(h: Any, **kw: Any) -> None:  # aggregated inputs: the CDF of the histogram
        nz = np.flatnonzero(h.counts)
        if nz.size:
            ax.step(h.values()[nz], np.cumsum(h.counts[nz]) / h.count, where="post", **kw)

    if lt.aggregate is not None and not lt.has_requests:
        hists = lt.histograms(lt.aggregate.sub_buckets)
        if labels and baseline is None:
            for label_name, h in hists.items():
                if label_name != "Total":
                    hist_cdf(h, label=label_name, lw=1)
        hist_cdf(hists["Total"], label=f"Total ({lt.run})", lw=2, color="black")
    elif lt.requests is not None:
        req = lt.requests[~lt.requests["is_controller"]]
        if labels and baseline is None:
            for name, g in req.groupby("label", observed=True):
                cdf(g["response_time_s"], label=str(name), lw=1)
        cdf(req["response_time_s"], label=f"Total ({lt.run})", lw=2, color="black")
    elif lt.stats is not None and len(lt.stats):
        # stats-only runs (Locust without per-request rows): join the tool's own percentiles
        cols = [("min_s", 0.0), ("p50_s", 0.5), ("p90_s", 0.9), ("p95_s", 0.95), ("p99_s", 0.99),
                ("max_s", 1.0)]  # fmt: skip
        for rec in lt.stats.to_dict("records"):
            name = str(rec["label"])
            if name != "Total" and (not labels or baseline is not None):
                continue
            pts = [
                (float(rec[c]), p) for c, p in cols if c in rec and rec[c] == rec[c] and rec[c] > 0
            ]
            if pts:
                xs, ps = zip(*pts, strict=True)
                total = name == "Total"
                ax.plot(xs, ps, marker="o", ms=3, lw=2 if total else 1,
                        color="black" if total else None,
                        label=f"{name} (tool percentiles)")  # fmt: skip
    if baseline is not None and baseline.requests is not None:
        cdf(
            baseline.requests["response_time_s"],
            label=f"Total ({baseline.run}, baseline)",
            lw=2,
            ls="--",
        )
    elif baseline is not None and baseline.aggregate is not None:
        base = baseline.histograms(baseline.aggregate.sub_buckets)["Total"]
        hist_cdf(base, label=f"Total ({baseline.run}, baseline)", lw=2, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("response time (s)")
    ax.set_ylabel("fraction of requests")
    ax.set_title("Latency distribution (CDF)")
    ax.legend(fontsize="small")
    return ax
