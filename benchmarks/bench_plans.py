"""Benchmark the plan readers: flattening a 10,000-node plan vs json.loads; a 3 MB auto_explain log.

Both inputs are assembled from the real plans in data/samples/plans/ (nodes and log entries that
PostgreSQL wrote, replicated to size), so the numbers reflect real field mixes.
Run: ``.venv/bin/python benchmarks/bench_plans.py``.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from pathlib import Path

import perfnb
from perfnb.io.explain import plans_from_json

ROOT = Path(__file__).resolve().parents[1]
PLANS = ROOT / "data" / "samples" / "plans"


def best_of(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def big_plan_text(n_nodes: int = 10_000) -> str:
    """An Append over copies of the (5-node) hash_spill plan's subtree until n_nodes nodes."""
    doc = json.loads((PLANS / "hash_spill.json").read_text())
    sub = doc[0]["Plan"]
    per = 0
    stack = [sub]
    while stack:
        node = stack.pop()
        per += 1
        stack.extend(node.get("Plans", []))
    copies = (n_nodes - 1) // per
    children = []
    for _ in range(copies):
        child = copy.deepcopy(sub)
        child["Parent Relationship"] = "Member"
        children.append(child)
    total = sum(c["Actual Total Time"] for c in children)
    root = {
        "Node Type": "Append",
        "Parallel Aware": False,
        "Startup Cost": 0.0,
        "Total Cost": 1.0,
        "Plan Rows": 1,
        "Plan Width": 4,
        "Actual Startup Time": 0.01,
        "Actual Total Time": total,
        "Actual Rows": 3 * copies,
        "Actual Loops": 1,
        "Plans": children,
    }
    out = [{"Plan": root, "Planning Time": 1.0, "Execution Time": total}]
    return json.dumps(out, indent=2)


def big_log(path: Path, n_plans: int = 700, size: int = 3_000_000) -> None:
    """A stderr log of n_plans auto_explain entries (real plans, tab-continued), padded to ~size bytes."""
    sources = [json.loads(p.read_text())[0] for p in sorted(PLANS.glob("*.json"))]
    sources = [s for s in sources if "Execution Time" in s and len(json.dumps(s)) < 20_000]
    entries = []
    for k in range(n_plans):
        s = sources[k % len(sources)]
        obj = {"Query Text": f"SELECT /* {k} */ 1", "Plan": s["Plan"]}
        body = "\n".join("\t" + line for line in json.dumps(obj, indent=2).splitlines())
        ts = f"2026-11-27 01:{(k // 60) % 60:02d}:{k % 60:02d}.000 UTC"
        entries.append(f"{ts} [4242] LOG:  duration: {s['Execution Time']:.3f} ms  plan:\n{body}\n")
    text = "".join(entries)
    filler = (
        "2026-11-27 02:00:00.000 UTC [4243] LOG:  checkpoint complete: wrote 3 buffers (0.0%)\n"
    )
    while len(text) < size:
        text += filler * 200
    path.write_text(text)


def main() -> None:
    text = big_plan_text()
    t_json = best_of(lambda: json.loads(text))
    doc = json.loads(text)
    t_flat = best_of(lambda: plans_from_json(doc))
    t_frame = best_of(lambda: plans_from_json(doc)[0].nodes)
    n = len(plans_from_json(doc)[0].nodes)
    print(f"10k-node plan: {n} nodes, {len(text) / 1e6:.1f} MB of JSON")
    print(f"  json.loads           {t_json * 1e3:8.1f} ms")
    print(f"  flatten + self time  {t_flat * 1e3:8.1f} ms  ratio {t_flat / t_json:.2f}x json.loads")
    print(
        f"  ... + nodes frame    {t_frame * 1e3:8.1f} ms  ratio {t_frame / t_json:.2f}x json.loads"
    )
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "postgresql.log"
        big_log(log)
        t_read = best_of(lambda: log.read_text(), 3)
        t_ae = best_of(lambda: perfnb.read_auto_explain(log), 3)
        plans = perfnb.read_auto_explain(log)
        print(f"auto_explain log: {log.stat().st_size / 1e6:.1f} MB, {len(plans)} plans")
        print(f"  read file            {t_read * 1e3:8.1f} ms")
        print(
            f"  read_auto_explain    {t_ae * 1e3:8.1f} ms  ratio {t_ae / t_read:.1f}x reading the file"
        )
        t_check = best_of(lambda: perfnb.check(plans), 1)
        print(f"  check() all plans    {t_check * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
