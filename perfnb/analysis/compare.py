"""Comparisons of two runs, in one shape: :func:`compare_loadtests`, :func:`compare_plans`, :func:`compare_profiles`.

Each returns a :class:`~perfnb.analysis._diff.Diff` (``LoadTestDiff``, ``PlanDiff``, ``ProfileDiff``):
``.table``, ``.to_frame()``, ``.verdict``, ``.headline``, ``.method`` and ``_repr_html_``. Rules turn a
regression into a finding (``LT007 loadtest-regression``, ``PG030 plan-regression``, ``PR006
profile-regression``), so ``perfnb report --baseline-dir … --fail-on warning`` fails CI on it.

Load tests, per label (and ``Total``): differences candidate − baseline of p50/p95/p99, throughput and
error ratio. Two methods, chosen by what the inputs hold:

* **both runs have per-request data**: percentile bootstrap confidence intervals. The bootstrap resamples
  **time windows** (a block bootstrap: requests within a window are correlated, so resampling single
  requests would give too-narrow intervals) when both runs have at least 8 windows, else single requests.
  Verdict (on p95 unless ``metric=``): ``regression`` when the interval of the relative difference lies
  entirely above ``+min_effect_ratio`` (5 %), ``improvement`` when entirely below ``−min_effect_ratio``.
* **either run has aggregates only** (Locust's stats CSV, a k6 summary export, a stream-aggregated JTL):
  the tools' own per-label numbers are compared directly. There is no confidence interval — the spread of
  the requests is not in those files — so the verdict needs a larger effect (``min_effect_ratio`` defaults
  to 10 % then) and at least ``min_requests`` requests per label on both sides; the ``method`` says so.

Error ratio is judged on its absolute change: a regression when it rose by more than
``error_ratio_min_increase`` (1 percentage point) — and, with a bootstrap, when the interval of that
increase lies above zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from perfnb.analysis._diff import Diff
from perfnb.analysis.plans import plan_change_table
from perfnb.analysis.profiles import ProfileDiff, compare_profiles
from perfnb.errors import InputError

if TYPE_CHECKING:
    from perfnb.io.loadtest import LoadTest
    from perfnb.io.plan_model import Plan

__all__ = [
    "Diff",
    "LoadTestDiff",
    "PlanDiff",
    "ProfileDiff",
    "compare_loadtests",
    "compare_plans",
    "compare_profiles",
]

_QS = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
_NAMES = ["p50_s", "p95_s", "p99_s", "throughput_per_s", "error_ratio"]
_UNITS = {"p50_s": "s", "p95_s": "s", "p99_s": "s", "throughput_per_s": "/s", "error_ratio": ""}


@dataclass(frozen=True, repr=False)
class LoadTestDiff(Diff):
    """Two load-test runs compared per label: the result of :func:`compare_loadtests`.

    ``table`` has one row per (label, metric): ``label``, ``metric`` (``p50_s``, ``p95_s``, ``p99_s``,
    ``throughput_per_s``, ``error_ratio``), ``baseline``, ``candidate``, ``diff``, ``diff_ratio``,
    ``ci_low_ratio``/``ci_high_ratio`` (interval of the relative difference; NaN without a bootstrap),
    ``ci_low_diff``/``ci_high_diff`` (of the absolute difference), ``requests_baseline``,
    ``requests_candidate``, ``verdict`` and ``primary`` (the row of the chosen metric).
    """

    kind: ClassVar[str] = "loadtest"
    table: pd.DataFrame
    baseline: LoadTest
    candidate: LoadTest
    metric: str
    method: str
    min_effect_ratio: float
    confidence: float | None

    @property
    def baseline_run(self) -> str:
        """Run label of the baseline."""
        return str(self.baseline.run)

    @property
    def candidate_run(self) -> str:
        """Run label of the candidate."""
        return str(self.candidate.run)

    @property
    def has_interval(self) -> bool:
        """Whether the verdicts rest on a bootstrap confidence interval."""
        return self.confidence is not None

    def regressions(self) -> pd.DataFrame:
        """Rows that regressed: the primary metric, and error ratio, per label (worst first)."""
        t = self.table
        rows = t[(t["verdict"] == "regression") & (t["primary"] | (t["metric"] == "error_ratio"))]
        return rows.sort_values("diff_ratio", ascending=False, ignore_index=True)

    def improvements(self) -> pd.DataFrame:
        """Rows of the primary metric that improved."""
        t = self.table
        return t[(t["verdict"] == "improvement") & t["primary"]].reset_index(drop=True)

    @property
    def verdict(self) -> str:
        """The overall verdict: ``regression`` if any label regressed.

        Else ``improvement``, ``no significant change`` or ``inconclusive`` (no label could be judged).
        """
        t = self.table
        if t.empty or (t["verdict"] == "inconclusive").all():
            return "inconclusive"
        if len(self.regressions()):
            return "regression"
        if len(self.improvements()):
            return "improvement"
        return "no significant change"

    @property
    def headline(self) -> str:
        """One line: the worst regression (or the largest change), where, and how sure."""
        how = (
            f"{self.confidence:.0%} bootstrap interval"
            if self.confidence is not None
            else "tools' own numbers, no confidence interval"
        )
        reg = self.regressions()
        if len(reg):
            r = reg.iloc[0]
            return f"{_describe(r)} ({len(reg)} regression{'s' if len(reg) > 1 else ''}; {how})"
        if self.verdict == "inconclusive":
            return f"no label could be compared ({how}; see the table's verdicts)"
        prim = self.table[self.table["primary"]]
        ratios = prim["diff_ratio"].abs().to_numpy(dtype="float64")
        big = prim.iloc[int(np.nanargmax(ratios))] if np.isfinite(ratios).any() else None
        if big is None:
            return f"no significant change ({how})"
        word = "improved" if self.verdict == "improvement" else "largest change"
        return f"{word}: {_describe(big)} ({how})"


def _fmt_value(metric: str, v: float) -> str:
    if not math.isfinite(v):
        return "—"
    if metric.endswith("_s"):
        return f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"
    if metric == "throughput_per_s":
        return f"{v:.1f} req/s"
    return f"{v:.1%}"


def _describe(row: pd.Series) -> str:
    metric = str(row["metric"])
    name = {"error_ratio": "error ratio", "throughput_per_s": "throughput"}.get(
        metric, metric.removesuffix("_s")
    )
    change = (
        f"{(row['candidate'] - row['baseline']) * 100:+.1f} pp"
        if metric == "error_ratio"
        else f"{row['diff_ratio']:+.0%}"
        if math.isfinite(row["diff_ratio"])
        else "new"
    )
    return (
        f"{name} of {row['label']} {change} "
        f"({_fmt_value(metric, row['baseline'])} → {_fmt_value(metric, row['candidate'])})"
    )


def _groups(lt: LoadTest, freq: str) -> dict[str, list[np.ndarray]]:
    if lt.requests is None:
        raise InputError("no per-request data")
    req = lt.requests[~lt.requests["is_controller"]]
    w = req["timestamp"].dt.floor(freq)
    out: dict[str, list[np.ndarray]] = {}
    for label, sub in [
        ("Total", req),
        *((str(k), g) for k, g in req.groupby("label", observed=True)),
    ]:
        out[label] = [
            np.column_stack(
                [
                    g["response_time_s"].to_numpy(dtype="float64"),
                    (~g["success"]).to_numpy(dtype="float64"),
                ]
            )
            for _, g in sub.groupby(w.loc[sub.index])
        ]
    return out


def _stats(blocks: list[np.ndarray], seconds: float) -> np.ndarray:
    a = np.concatenate(blocks) if blocks else np.zeros((0, 2))
    if a.shape[0] == 0:
        return np.full(5, np.nan)
    p = np.percentile(a[:, 0], [50, 95, 99])
    return np.array([p[0], p[1], p[2], a.shape[0] / seconds, a[:, 1].mean()])


def _verdict(
    name: str,
    diff: float,
    ratio: float,
    low: float,
    high: float,
    *,
    min_effect_ratio: float,
    error_ratio_min_increase: float,
    interval: bool,
) -> str:
    """Verdict for one metric.

    *low*/*high* are the interval of the relative (absolute for error ratio) difference, NaN without a
    bootstrap.
    """
    if name == "error_ratio":
        if not math.isfinite(diff):
            return "inconclusive"
        if interval and not (math.isfinite(low) and math.isfinite(high)):
            return "no significant change"
        if diff > error_ratio_min_increase and (not interval or low > 0):
            return "regression"
        if diff < -error_ratio_min_increase and (not interval or high < 0):
            return "improvement"
        return "no significant change"
    worse_up = name != "throughput_per_s"
    if interval:
        lo, hi = (low, high) if worse_up else (-high, -low)
    else:
        lo = hi = ratio if worse_up else -ratio
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "no significant change" if interval else "inconclusive"
    if lo > min_effect_ratio:
        return "regression"
    if hi < -min_effect_ratio:
        return "improvement"
    return "no significant change"


def _row(label: str, name: str, b: float, c: float, nb: int, nc: int) -> dict[str, object]:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (c - b) / b if b else (np.inf if c > b else 0.0 if c == b else -np.inf)
    return {
        "label": label,
        "metric": name,
        "baseline": b,
        "candidate": c,
        "diff": c - b,
        "diff_ratio": float(ratio) if math.isfinite(b) and math.isfinite(c) else np.nan,
        "ci_low_ratio": np.nan,
        "ci_high_ratio": np.nan,
        "ci_low_diff": np.nan,
        "ci_high_diff": np.nan,
        "requests_baseline": nb,
        "requests_candidate": nc,
    }


def _compare_aggregates(
    baseline: LoadTest,
    candidate: LoadTest,
    *,
    min_effect_ratio: float,
    error_ratio_min_increase: float,
    min_requests: int,
    apdex_t_s: float,
) -> list[dict[str, object]]:
    sb = baseline.summary(apdex_t_s=apdex_t_s).set_index("label")
    sc = candidate.summary(apdex_t_s=apdex_t_s).set_index("label")
    rows: list[dict[str, object]] = []
    for label in [str(x) for x in sb.index if x in sc.index]:
        rb: dict[Any, Any] = sb.loc[label].to_dict()
        rc: dict[Any, Any] = sc.loc[label].to_dict()
        nb, nc = int(rb["requests"]), int(rc["requests"])
        for name in _NAMES:
            b, c = float(rb[name]), float(rc[name])
            row = _row(label, name, b, c, nb, nc)
            if min(nb, nc) < min_requests:
                row["verdict"] = "inconclusive"
            else:
                row["verdict"] = _verdict(
                    name,
                    float(row["diff"]),  # type: ignore[arg-type]
                    float(row["diff_ratio"]),  # type: ignore[arg-type]
                    np.nan,
                    np.nan,
                    min_effect_ratio=min_effect_ratio,
                    error_ratio_min_increase=error_ratio_min_increase,
                    interval=False,
                )
            rows.append(row)
    return rows


def compare_loadtests(
    baseline: LoadTest,
    candidate: LoadTest,
    *,
    metric: str = "p95",
    min_effect_ratio: float | None = None,
    error_ratio_min_increase: float = 0.01,
    min_requests: int = 50,
    confidence: float = 0.95,
    n_boot: int = 400,
    freq: str = "5s",
    seed: int = 0,
    apdex_t_s: float = 0.5,
) -> LoadTestDiff:
    """Compare *candidate* with *baseline*, per label and ``Total`` (see the module docstring).

    Parameters
    ----------
    baseline, candidate
        Two runs of any load-test format; aggregate-only inputs (Locust stats CSV) are compared on the
        tools' own numbers.
    metric
        The metric the per-label verdict is about: ``p50``, ``p95``, ``p99``, ``throughput_per_s``,
        ``error_ratio``.
    min_effect_ratio
        Relative change that counts: 5 % with a bootstrap interval, 10 % without (default ``None``).
    error_ratio_min_increase
        Absolute rise of the error ratio that counts (0.01 = one percentage point).
    min_requests
        Without a bootstrap, labels with fewer requests on either side are ``inconclusive``.
    confidence, n_boot, freq, seed
        Bootstrap settings (per-request data only).

    Returns
    -------
    LoadTestDiff
        ``.table`` (one row per label and metric), ``.verdict``, ``.headline``, ``.regressions()``.

    Raises
    ------
    InputError
        On an unknown *metric*.

    Examples
    --------
    >>> import perfnb
    >>> d = perfnb.compare_loadtests(perfnb.read_locust("data/samples/loadtests/steady"),
    ...                              perfnb.read_locust("data/samples/loadtests/slow"))
    >>> d.verdict, d.method
    ('regression', 'bootstrap over time windows (95 % interval)')
    """
    if metric + "_s" in _NAMES:
        metric = metric + "_s"
    if metric not in _NAMES:
        raise InputError(f"unknown metric {metric!r}", expected=", ".join(_NAMES))
    interval = baseline.has_requests and candidate.has_requests
    if not interval:
        effect = 0.10 if min_effect_ratio is None else min_effect_ratio
        rows = _compare_aggregates(
            baseline,
            candidate,
            min_effect_ratio=effect,
            error_ratio_min_increase=error_ratio_min_increase,
            min_requests=min_requests,
            apdex_t_s=apdex_t_s,
        )
        which = " and ".join(
            sorted(
                {
                    ("per-request data" if lt.has_requests else "aggregates")
                    for lt in (baseline, candidate)
                }
            )
        )
        method = (
            f"tools' own per-label numbers ({which}); no confidence interval, because aggregate files do "
            f"not hold the spread of the requests: a change counts above {effect:.0%} with at least "
            f"{min_requests} requests per label"
        )
        df = pd.DataFrame(rows)
        if not df.empty:
            df["primary"] = df["metric"] == metric
        else:
            df = pd.DataFrame(columns=[*_row("", "", 0.0, 0.0, 0, 0), "verdict", "primary"])
        return LoadTestDiff(df, baseline, candidate, metric, method, effect, None)
    effect = 0.05 if min_effect_ratio is None else min_effect_ratio
    rng = np.random.default_rng(seed)
    gb, gc = _groups(baseline, freq), _groups(candidate, freq)
    step = pd.Timedelta(freq).total_seconds()
    alpha = (1 - confidence) / 2
    windows_all = len(gb.get("Total", [])) >= 8 and len(gc.get("Total", [])) >= 8
    rows = []
    for label in [lab for lab in gb if lab in gc]:
        b, c = gb[label], gc[label]
        tb, tc = len(b) * step, len(c) * step
        sb, sc = _stats(b, tb), _stats(c, tc)
        nb = int(sum(len(x) for x in b))
        nc = int(sum(len(x) for x in c))
        windows = len(b) >= 8 and len(c) >= 8
        if not windows:
            b = list(np.concatenate(b)[:, None, :]) if b else b
            c = list(np.concatenate(c)[:, None, :]) if c else c
        rel = np.empty((n_boot, 5))
        absd = np.empty((n_boot, 5))
        for i in range(n_boot):
            rb = [b[j] for j in rng.integers(0, len(b), len(b))]
            rc = [c[j] for j in rng.integers(0, len(c), len(c))]
            xb = _stats(rb, tb)
            xc = _stats(rc, tc)
            absd[i] = xc - xb
            with np.errstate(divide="ignore", invalid="ignore"):
                rel[i] = (xc - xb) / np.where(xb == 0, np.nan, xb)
        for k, name in enumerate(_NAMES):
            row = _row(label, name, float(sb[k]), float(sc[k]), nb, nc)
            for arr, lo_key, hi_key in (
                (rel, "ci_low_ratio", "ci_high_ratio"),
                (absd, "ci_low_diff", "ci_high_diff"),
            ):
                col = arr[:, k][np.isfinite(arr[:, k])]
                if col.size:
                    row[lo_key] = float(np.quantile(col, alpha))
                    row[hi_key] = float(np.quantile(col, 1 - alpha))
            is_err = name == "error_ratio"
            row["verdict"] = _verdict(
                name,
                float(row["diff"]),  # type: ignore[arg-type]
                float(row["diff_ratio"]),  # type: ignore[arg-type]
                float(row["ci_low_diff" if is_err else "ci_low_ratio"]),  # type: ignore[arg-type]
                float(row["ci_high_diff" if is_err else "ci_high_ratio"]),  # type: ignore[arg-type]
                min_effect_ratio=effect,
                error_ratio_min_increase=error_ratio_min_increase,
                interval=True,
            )
            row["primary"] = name == metric
            rows.append(row)
    method = (
        f"bootstrap over {'time windows' if windows_all else 'requests'} "
        f"({confidence * 100:.0f} % interval)"
    )
    return LoadTestDiff(pd.DataFrame(rows), baseline, candidate, metric, method, effect, confidence)


@dataclass(frozen=True, repr=False)
class PlanDiff(Diff):
    """Two plans of one query compared node by node: the result of :func:`compare_plans`.

    ``table`` is :func:`~perfnb.analysis.plans.plan_change_table`'s: a first row ``key="(plan)"`` with the
    execution times, then one row per aligned node (``change`` is ``same``, ``changed``, ``added`` or
    ``removed``; ``delta_self_time_s`` is candidate − baseline). A plan's execution time varies from run to
    run (caches, concurrent load), so the verdict needs ``min_effect_ratio`` (20 %) *and*
    ``min_delta_s`` (1 ms) of change.
    """

    kind: ClassVar[str] = "plan"
    table: pd.DataFrame
    baseline: Plan
    candidate: Plan
    min_effect_ratio: float = 0.2
    min_delta_s: float = 0.001
    method: str = "one execution of each plan, no confidence interval"

    @property
    def baseline_run(self) -> str:
        """Run label of the baseline plan."""
        return str(self.baseline.run)

    @property
    def candidate_run(self) -> str:
        """Run label of the candidate plan."""
        return str(self.candidate.run)

    @property
    def speedup_ratio(self) -> float | None:
        """Baseline execution time / candidate execution time (> 1: the candidate is faster)."""
        ea, eb = self.baseline.execution_time_s, self.candidate.execution_time_s
        if ea and eb and math.isfinite(ea) and math.isfinite(eb):
            return float(ea / eb)
        return None

    @property
    def verdict(self) -> str:
        """``regression``/``improvement`` beyond both thresholds, else ``no significant change``."""
        ea, eb = self.baseline.execution_time_s, self.candidate.execution_time_s
        if not (ea and eb and math.isfinite(ea) and math.isfinite(eb)):
            return "inconclusive"
        if eb - ea > self.min_delta_s and eb > ea * (1 + self.min_effect_ratio):
            return "regression"
        if ea - eb > self.min_delta_s and ea > eb * (1 + self.min_effect_ratio):
            return "improvement"
        return "no significant change"

    def culprits(self, n: int = 3) -> pd.DataFrame:
        """The *n* nodes whose self time grew most (added nodes included)."""
        t = self.table[self.table["key"] != "(plan)"]
        t = t[t["delta_self_time_s"] > 0]
        return t.sort_values("delta_self_time_s", ascending=False).head(n).reset_index(drop=True)

    @property
    def headline(self) -> str:
        """Execution time before → after and the node that changed most."""
        ea, eb = self.baseline.execution_time_s, self.candidate.execution_time_s
        if self.verdict == "inconclusive":
            return "execution times missing (EXPLAIN without ANALYZE?)"
        text = f"execution {ea * 1000:.1f} ms → {eb * 1000:.1f} ms ({(eb - ea) / ea:+.0%})"
        top = self.culprits(1)
        if self.verdict == "regression" and len(top):
            text += f"; most added self time: {top.iloc[0]['key'].split(' > ')[-1]}"
        return text


def compare_plans(
    a: Plan, b: Plan, *, min_effect_ratio: float = 0.2, min_delta_s: float = 0.001
) -> PlanDiff:
    """What changed between two plans of the same query (the effect of an index, a setting, a release).

    Nodes are aligned by their path of node labels (type, index, relation) from the root; nodes present
    in only one plan are reported as ``removed`` / ``added``.

    Returns
    -------
    PlanDiff
        ``.table`` (see :class:`PlanDiff`), ``.verdict``, ``.speedup_ratio``, ``.culprits()``.

    Examples
    --------
    >>> import perfnb
    >>> a = perfnb.read_plan("data/samples/plans/seq_scan_filter.json")
    >>> b = perfnb.read_plan("data/samples/plans/index_fixed.json")
    >>> d = compare_plans(a, b)
    >>> d.verdict, round(d.speedup_ratio) > 10
    ('improvement', True)
    """
    return PlanDiff(plan_change_table(a, b), a, b, min_effect_ratio, min_delta_s)
