"""A PEV2-style plan tree as collapsible HTML: every node's facts and findings, readable at any size.

Entry point: :func:`plot_plan_details` returns a :class:`PlanView` (displayed in Jupyter and in reports
through ``_repr_html_``; ``.html`` holds the fragment).

Why HTML and not Plotly: a plan is read as text — node type, relation, index, filters, rows — and nested
``<details>`` elements keep it collapsible, searchable with the browser's find (Chromium opens a closed
``<details>`` that holds a match) and copyable, at any depth; a chart would have to abbreviate. Each node
shows node type, relation and index, self and inclusive time, actual vs estimated rows with the factor,
loops, buffers (hit/read/temp), filters and rows they removed, workers, sort/hash details, and the findings
located at that node. The left bar is coloured by the node's share of self time. Nodes that are slow (or
hold slow ones) start open. Every string from the plan (SQL, names, conditions) is HTML-escaped.

Large plans: at most ``max_nodes`` nodes are drawn — the slowest by inclusive time, with their ancestors
— and each parent says how many children (and how much time) were left out.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from perfnb.analysis.plans import node_label, normalize_query, plan_ref, query_groups
from perfnb.io.plan_model import Plan

__all__ = ["PlanView", "explained_plans", "plot_plan_details"]

_STYLE = """<style>
.perfnb-plan{font:13px/1.45 system-ui,sans-serif;color:#222}
.perfnb-plan details{margin:2px 0 2px 14px;border-left:4px solid var(--c,#ddd);padding-left:6px}
.perfnb-plan>details{margin-left:0}
.perfnb-plan summary{cursor:pointer}
.perfnb-plan .t{font-weight:600}
.perfnb-plan .m{color:#555}
.perfnb-plan .bad{color:#b00020;font-weight:600}
.perfnb-plan .d{color:#444;font-size:12px;margin:1px 0 3px 18px}
.perfnb-plan code{font-size:12px;background:#f5f5f5;padding:0 3px;white-space:pre-wrap}
.perfnb-plan .f{display:inline-block;margin:1px 4px 1px 0;padding:0 5px;border-radius:3px;font-size:12px}
.perfnb-plan .f-critical{background:#b00020;color:#fff}
.perfnb-plan .f-warning{background:#ffb300;color:#000}
.perfnb-plan .f-info{background:#1565c0;color:#fff}
.perfnb-plan .more{color:#777;font-style:italic;margin-left:18px}
</style>"""


def _e(value: object, limit: int = 400) -> str:
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _ms(x: float) -> str:
    if x != x:
        return "n/a"
    if x >= 1:
        return f"{x:.3g} s"
    return f"{x * 1e3:.3g} ms"


def _count(x: float) -> str:
    if x != x:
        return "n/a"
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.2f}"


def _colour(share: float) -> str:
    """White → dark red by share of self time (0–1)."""
    s = 0.0 if share != share else min(max(share, 0.0), 1.0) ** 0.6
    r, g, b = 255, int(235 - 200 * s), int(220 - 200 * s)
    return f"rgb({r},{g},{b})"


@dataclass
class PlanView:
    """The rendered plan tree: ``html`` (a fragment), ``nodes_shown`` and ``nodes_total``."""

    html: str
    nodes_shown: int
    nodes_total: int

    def _repr_html_(self) -> str:
        return self.html


_NODE = re.compile(r"node (\d+): (.*)$")


def _findings_by_node(plan: Plan, findings: Iterable[Any] | None) -> dict[int, list[Any]]:
    """Findings keyed by node id; a finding attaches only where its ``node N: label`` matches."""
    if findings is None:
        from perfnb.findings import check

        findings = check(plan)
    labels = {int(r["node_id"]): node_label(r) for r in plan.records()}
    query = normalize_query(plan.query) if plan.query else ""
    ref = plan_ref(plan)
    out: dict[int, list[Any]] = {}
    for f in findings:
        loc = str(getattr(f, "location", ""))
        # "<query group or file#index> node N: Parent › … › Label — query"; the evidence names the plan
        m = _NODE.search(loc)
        if m is None:
            continue
        evidence = getattr(f, "evidence", None) or {}
        if evidence.get("plan") not in (None, ref):
            continue
        node = int(m.group(1))
        label, _, q = m.group(2).partition(" — ")
        if labels.get(node) != label.rsplit(" › ", 1)[-1].strip():
            continue
        if q and query and not query.startswith(q.rstrip("…").strip()):
            continue
        out.setdefault(node, []).append(f)
    return out


def _facts(r: dict[str, Any]) -> tuple[str, str]:
    """(summary extras, detail line) for one node."""
    est, act, loops = _num(r.get("plan_rows")), _num(r.get("actual_rows")), _num(r.get("loops"))
    factor = _num(r.get("estimate_factor"))
    direction = str(r.get("estimate_direction") or "")
    rows = f"rows {_count(act)} actual vs {_count(est)} est"
    if factor == factor and factor >= 2:
        cls = "bad" if factor >= 10 else "m"
        word = "under" if direction == "under" else "over" if direction == "over" else ""
        rows += f' <span class="{cls}">({factor:,.0f}× {word}estimated)</span>'
    summary = f"{rows} · loops {_count(loops)}"
    bits = []
    hit, read = _num(r.get("shared_hit_blocks")), _num(r.get("shared_read_blocks"))
    tr, tw = _num(r.get("temp_read_blocks")), _num(r.get("temp_written_blocks"))
    if hit == hit or read == read:
        buf = f"buffers hit {_count(hit)} read {_count(read)}"
        if (tr == tr and tr > 0) or (tw == tw and tw > 0):
            buf += f' <span class="bad">temp read {_count(tr)} written {_count(tw)}</span>'
        bits.append(buf)
    for key, name in (("index_cond", "cond"), ("filter", "filter")):
        v = r.get(key)
        if isinstance(v, str) and v:
            bits.append(f"{name} <code>{_e(v)}</code>")
    removed = [
        (k, _num(r.get(k)))
        for k in (
            "rows_removed_by_filter",
            "rows_removed_by_join_filter",
            "rows_removed_by_index_recheck",
        )
    ]
    for k, v in removed:
        if v == v and v > 0:
            what = k.removeprefix("rows_removed_by_").replace("_", " ")
            bits.append(f"rows removed by {what} {_count(v)}")
    wl, wp = r.get("workers_launched"), r.get("workers_planned")
    if _num(wp) == _num(wp) or _num(wl) == _num(wl):
        bits.append(f"workers {_count(_num(wl))} launched of {_count(_num(wp))} planned")
    for key, name in (("sort_key", "sort key"), ("sort_method", "sort method")):
        v = r.get(key)
        if isinstance(v, str) and v:
            bits.append(f"{name} <code>{_e(v)}</code>")
    batches = _num(r.get("hash_batches"))
    if batches == batches and batches > 1:
        bits.append(f'<span class="bad">hash batches {_count(batches)}</span>')
    hf = _num(r.get("heap_fetches"))
    if hf == hf and hf > 0:
        bits.append(f"heap fetches {_count(hf)}")
    return summary, " · ".join(bits)


def explained_plans(plans: Iterable[Plan], *, n: int = 3) -> list[Plan]:
    """The worst plan (longest execution) of each of the *n* query groups with the most total time.

    Groups are :func:`perfnb.analysis.plans.query_groups`' (Query Identifier, else the query text with
    literals normalized); plans without either are their own group.
    """
    plans = list(plans)
    return [plans[int(k)] for k in query_groups(plans).head(n)["worst_plan"]]


def plot_plan_details(
    plan: Plan,
    *,
    findings: Iterable[Any] | None = None,
    max_nodes: int = 1500,
    open_ratio: float = 0.05,
    title: str = "",
) -> PlanView:
    """A collapsible, searchable HTML tree of *plan* with each node's facts and findings.

    Parameters
    ----------
    plan
        An analysed plan (EXPLAIN ANALYZE); a plan without actual times shows estimates only.
    findings
        This plan's findings, attached by their ``node N:`` location; default: ``perfnb.check(plan)``.
        (Locations name the plan only by its query text, so pass findings of this plan alone.)
    max_nodes
        Draw at most this many nodes (the slowest, with their ancestors); the rest are counted.
    open_ratio
        Nodes whose inclusive time is at least this share of the plan start expanded.
    title
        Heading text (escaped); default names the plan's run and execution time.
    """
    recs = plan.records()
    by_node = _findings_by_node(plan, findings)
    total = plan.total_time_s
    total = total if total == total and total > 0 else 1.0
    self_sum = (
        sum(
            _num(r.get("self_time_s")) or 0.0
            for r in recs
            if _num(r.get("self_time_s")) == _num(r.get("self_time_s"))
        )
        or 1.0
    )
    ids = [int(r["node_id"]) for r in recs]
    rec_of = dict(zip(ids, recs, strict=True))
    parent_of = {
        int(r["node_id"]): (
            int(r["parent_id"])
            if r.get("parent_id") is not None
            and _num(r.get("parent_id")) == _num(r.get("parent_id"))
            else -1
        )
        for r in recs
    }
    keep = set(ids)
    if len(ids) > max_nodes:
        ranked = sorted(ids, key=lambda i: -(_num(rec_of[i].get("total_time_s")) or 0.0))
        keep = set()
        for i in ranked:
            j = i
            while j >= 0 and j not in keep:
                keep.add(j)
                j = parent_of.get(j, -1)
            if len(keep) >= max_nodes:
                break
    children: dict[int, list[int]] = {}
    for i in ids:
        children.setdefault(parent_of[i], []).append(i)

    def render(i: int) -> str:
        r = rec_of[i]
        self_s, tot_s = _num(r.get("self_time_s")), _num(r.get("total_time_s"))
        share = self_s / self_sum if self_s == self_s else math.nan
        label = _e(node_label(r))
        rel = r.get("parent_relationship")
        sub = r.get("subplan_name")
        prefix = f'<span class="m">{_e(sub or rel)} → </span>' if (sub or rel) else ""
        extras, detail = _facts(r)
        head = (
            f'{prefix}<span class="t">{label}</span> '
            f'<span class="m">#{i}</span> · self <b>{_ms(self_s)}</b>'
            + (f" ({share:.0%})" if share == share else "")
            + f" · total {_ms(tot_s)} · {extras}"
        )
        fs = by_node.get(i, [])
        # the node shows which rules fired (the title and advice on hover); the findings table below
        # carries each finding's full text once
        badges = "".join(
            f'<span class="f f-{_e(f.severity.name)}" '
            f'title="{_e(f.title, 160)} — {_e(f.recommendation)}">'
            f"{_e(f.rule)} {_e(f.name)}</span>"
            for f in fs
        )
        kids = [k for k in children.get(i, []) if k in keep]
        hidden = [k for k in children.get(i, []) if k not in keep]
        inner = ""
        if detail or badges:
            inner += f'<div class="d">{detail}{"<br>" if detail and badges else ""}{badges}</div>'
        inner += "".join(render(k) for k in kids)
        if hidden:
            t = sum(_num(rec_of[k].get("total_time_s")) or 0.0 for k in hidden)
            inner += (
                f'<div class="more">{len(hidden):,} more child node(s) not drawn '
                f"({_ms(t)} inclusive)</div>"
            )
        is_open = (tot_s == tot_s and tot_s / total >= open_ratio) or bool(fs) or i == ids[0]
        return (
            f'<details{" open" if is_open else ""} style="--c:{_colour(share)}">'
            f"<summary>{head}</summary>{inner}</details>"
        )

    roots = [i for i in ids if parent_of[i] < 0 and i in keep]
    heading = title or (
        f"Plan {plan.run} #{plan.index}: execution {_ms(plan.execution_time_s)}, "
        f"planning {_ms(plan.planning_time_s)}, {len(ids):,} nodes"
    )
    note = ""
    if len(keep) < len(ids):
        note = (
            f'<p class="m">Pruned: the {len(keep):,} slowest nodes (by inclusive time) and their '
            f"ancestors are drawn, {len(ids) - len(keep):,} of {len(ids):,} are left out.</p>"
        )
    query = (
        f'<details><summary class="m">query</summary><code>{_e(plan.query, 4000)}</code></details>'
        if plan.query
        else ""
    )
    legend = (
        '<p class="m">Bar colour: share of the plan\'s self time (white → dark red). '
        "Click a node to fold it; the browser's find searches closed nodes too.</p>"
    )
    body = "".join(render(i) for i in roots)
    out = (
        f'{_STYLE}<div class="perfnb-plan"><h4>{_e(heading)}</h4>{legend}{note}{query}{body}</div>'
    )
    return PlanView(out, len(keep), len(ids))
