"""Benchmark ``perfnb report``: concurrent notebooks vs one after another vs the kernels' own start-up.

On the demo's sources (profile, auto_explain plans, pg_stat_statements, Locust, Prometheus: five notebooks),
it times

* the floor: five times the median of an *empty* notebook's papermill runs, one per notebook of the report (kernel start,
  one cell, shutdown) — what any one-kernel-per-notebook design pays before doing any work;
* ``run_report(..., max_workers=1)``: the notebooks one after another (what ``perfnb report`` did);
* ``run_report(...)``: the notebooks concurrently, one per core (what it does now);
* for ``plan_review`` on the demo's 129-plan auto_explain log, and on the shared corpus's folder of 113 JOB
  plans (``pqet_job_pg_text_psql``, when ``../shared`` is there; issue 20's "113-plan folder"): reading and
  checking the plans in-process vs the notebook's run, split with papermill's own cell timings into the
  kernel's start (and papermill's and nbconvert's work), the imports cell, and the cells that work on the plans.

Run: ``.venv/bin/python benchmarks/bench_report.py`` (about two minutes on two cores).
"""

from __future__ import annotations

import os
import statistics
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
    from perfnb.report.suite import run_report

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        empty_kernel_run(
            tmp
        )  # warm-up, not counted: the first start reads the kernel's files from disk
        empty = [empty_kernel_run(tmp) for _ in range(5)]
        # one run per notebook of the report; the median, as a cold start can take seconds more
        floor = 5 * statistics.median(empty)
        print(
            f"empty notebook, 5 runs: {', '.join(f'{x:.2f}' for x in empty)} s; "
            f"5 × median {floor:.1f} s"
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
            f"concurrent / 5 empty kernel runs: {concurrent / floor:.2f}"
        )

        base = min(empty)
        plan_review(SOURCES["plans"], tmp / "plans", base)
        job = ROOT.parent / "shared" / "corpus" / "plans" / "pqet_job_pg_text_psql"
        if job.is_dir():
            plan_review(str(job), tmp / "job", base)
        else:
            print(f"plan_review on the 113-plan folder: skipped, {job} is absent")


def plan_review(source: str, out: Path, empty_run_s: float) -> None:
    """Time plan_review on *source* and say where its time goes."""
    import perfnb
    from perfnb.report.run import list_notebooks, run_notebook

    t = time.perf_counter()
    plans = perfnb.read_plans(source)
    perfnb.check(plans)
    read_s = time.perf_counter() - t
    nb = next(p for p in list_notebooks() if p.stem == "plan_review")
    t = time.perf_counter()
    res = run_notebook(nb, {"plan_path": source}, output_dir=out)
    nb_s = time.perf_counter() - t
    cells = [
        (c.source, float(c.metadata.get("papermill", {}).get("duration") or 0.0))
        for c in nbformat.read(res.notebook, as_version=4).cells
        if c.cell_type == "code"
    ]
    imports = sum(d for src, d in cells if "import perfnb" in src)
    work = sum(d for src, d in cells if "import perfnb" not in src)
    fixed = nb_s - work
    print(
        f"plan_review on {len(plans)} plans ({Path(source).name}): notebook run {nb_s:.1f} s "
        f"(an empty notebook's run: {empty_run_s:.2f} s); read+check in-process {read_s:.2f} s"
    )
    print(
        f"  kernel start, papermill and HTML {nb_s - imports - work:.1f} s + imports cell {imports:.1f} s "
        f"= {fixed:.1f} s ({fixed / nb_s:.0%} of the run); the cells that work on the plans "
        f"{work:.1f} s ({work / nb_s:.0%})"
    )


if __name__ == "__main__":
    main()
