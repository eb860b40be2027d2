"""Benchmark ``perfnb report``: concurrent notebooks vs one after another vs the kernels' own start-up.

On the demo's sources (profile, auto_explain plans, pg_stat_statements, Locust, Prometheus: five notebooks),
it times

* the floor: the sum of an *empty* notebook's papermill runs, one per notebook of the report (kernel start,
  one cell, shutdown) — what any one-kernel-per-notebook design pays before doing any work;
* ``run_report(..., max_workers=1)``: the notebooks one after another (what ``perfnb report`` did);
* ``run_report(...)``: the notebooks concurrently, one per core (what it does now);
* for ``plan_review`` on the demo's 129-plan auto_explain log: reading the plans in-process vs the
  notebook's run minus one empty kernel start.

Run: ``.venv/bin/python benchmarks/bench_report.py`` (about two minutes on two cores).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "samples" / "demo"
SOURCES = {
    "profile": str(DEMO / "profile.pstats"),
    "plans": str(DEMO / "postgresql.json"),
    "statements": str(DEMO / "pg_stat_statements.csv"),
    "loadtest": str(DEMO / "locust"),
    "metrics": str(DEMO / "prometheus"),
}


def empty_kernel_run(tmp: Path) -> float:
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell("pass")]
    path = tmp / "empty.ipynb"
    nbformat.write(nb, path)
    t = time.perf_counter()
    papermill.execute_notebook(
        str(path),
        str(tmp / "out.ipynb"),
        kernel_name="python3",
        progress_bar=False,
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )
    return time.perf_counter() - t


def main() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    from perfnb.report.run import list_notebooks, run_notebook
    from perfnb.report.suite import run_report

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        empty = [empty_kernel_run(tmp) for _ in range(5)]
        floor = sum(empty)
        print(
            f"empty notebook, 5 runs: {', '.join(f'{x:.2f}' for x in empty)} s; sum {floor:.1f} s"
        )

        t = time.perf_counter()
        seq = run_report(SOURCES, output_dir=tmp / "seq", max_workers=1)
        sequential = time.perf_counter() - t
        t = time.perf_counter()
        par = run_report(SOURCES, output_dir=tmp / "par")
        concurrent = time.perf_counter() - t
        n = len(par.runs)
        assert seq.exit_code == par.exit_code
        print(f"perfnb report, {n} notebooks one after another: {sequential:.1f} s")
        print(
            f"perfnb report, {n} notebooks concurrently ({os.cpu_count()} cores): {concurrent:.1f} s"
        )
        print(
            f"  concurrent / sequential: {concurrent / sequential:.2f}; "
            f"concurrent / sum of empty kernel runs: {concurrent / floor:.2f}"
        )

        import perfnb

        t = time.perf_counter()
        plans = perfnb.read_plans(SOURCES["plans"])
        perfnb.check(plans)
        read_s = time.perf_counter() - t
        nb = next(p for p in list_notebooks() if p.stem == "plan_review")
        t = time.perf_counter()
        run_notebook(nb, {"plan_path": SOURCES["plans"]}, output_dir=tmp / "plans")
        nb_s = time.perf_counter() - t
        base = min(empty)
        print(
            f"plan_review on {len(plans)} plans: read+check in-process {read_s:.2f} s; notebook run "
            f"{nb_s:.1f} s, {nb_s - base:.1f} s beyond an empty kernel run "
            f"({(nb_s - base) / read_s:.1f}× read+check)"
        )


if __name__ == "__main__":
    main()
