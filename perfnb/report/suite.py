"""``perfnb report``: run the notebooks that apply to the given sources into one dated folder, and index them.

Each source kind maps to the notebook that reads it and the parameter that takes it (:data:`SOURCES`). A
report run writes ``<output_dir>/<UTC timestamp>/`` holding one run folder per notebook (the layout of
``perfnb run``), ``report.json`` (sources, each notebook's status, exit code and findings counts, the
overall verdict) and then rewrites ``<output_dir>/index.html``, which lists every past report with its verdict,
newest first. The overall performance report notebook (``performance_report``), when present, is run with
every source at once.

Baselines: with ``baseline_dir``, a notebook that declares ``baseline_path`` (and the overall report's
``baseline_<kind>_path``) gets the file, Locust prefix, folder or glob in ``baseline_dir`` that matches the
source (:func:`perfnb.report.baseline.match_baseline`), so a CI job keeps last week's outputs in one folder
and compares against them. Which baseline was used, or why none matched, is in ``report.json`` and
:attr:`ReportResult.baselines` (the CLI prints it on stderr).

The notebooks run concurrently, at most one per core (each has its own kernel; most of a run is kernel
start-up and imports, so they overlap well). ``report.json`` is written when the report starts (status
``running``, with the process id) and atomically rewritten at the end; a report whose process is gone while
its ``report.json`` still says ``running`` is listed as ``interrupted`` in the index
(:mod:`perfnb.report.index`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfnb import samples
from perfnb.errors import ConfigError
from perfnb.findings import Findings, Severity
from perfnb.report import files
from perfnb.report.baseline import BaselineMatch, match_baseline
from perfnb.report.html import group_findings
from perfnb.report.index import write_index
from perfnb.report.run import ExitCode, RunResult, list_notebooks, notebook_parameters, run_notebook

__all__ = [
    "SOURCES",
    "ReportResult",
    "run_concurrently",
    "run_report",
    "unique_findings",
    "write_index",
]

#: source kind → (notebook, parameter); the overall report takes ``<kind>_path`` parameters of its own.
#: A kind with no notebook of its own (``""``) goes to the overall report only.
SOURCES: dict[str, tuple[str, str]] = {
    "profile": ("profile_hotspots", "profile_path"),
    "plans": ("plan_review", "plan_path"),
    "statements": ("", "statements_path"),
    "loadtest": ("loadtest_report", "loadtest_path"),
    "metrics": ("metrics_trends", "metrics_path"),
    "lighthouse": ("web_vitals", "lighthouse_path"),
    "cache": ("web_vitals", "cache_path"),
}

#: parameter of the overall report notebook for each kind
REPORT_PARAMS: dict[str, str] = {
    "profile": "profile_path",
    "plans": "plan_path",
    "statements": "statements_path",
    "loadtest": "loadtest_path",
    "metrics": "metrics_path",
    "lighthouse": "lighthouse_path",
    "cache": "cache_path",
}

OVERALL = "performance_report"


@dataclass
class ReportResult:
    """What :func:`run_report` produced."""

    folder: Path
    index: Path
    exit_code: ExitCode
    runs: list[RunResult] = field(default_factory=list)
    message: str = ""
    baselines: list[BaselineMatch] = field(default_factory=list)


def _worst(codes: list[ExitCode]) -> ExitCode:
    errors = [c for c in codes if c not in (ExitCode.OK, ExitCode.FINDINGS)]
    if errors:
        return max(errors)
    return ExitCode.FINDINGS if ExitCode.FINDINGS in codes else ExitCode.OK


def run_report(
    sources: Mapping[str, str | os.PathLike[str]],
    *,
    output_dir: str | os.PathLike[str] = "reports",
    baseline_dir: str | os.PathLike[str] | None = None,
    fail_on: str | Severity = Severity.critical,
    cwd: str | os.PathLike[str] | None = None,
    max_workers: int | None = None,
) -> ReportResult:
    """Run every notebook that applies to *sources* into one dated folder and refresh ``index.html``.

    Parameters
    ----------
    sources
        Source kind (a key of :data:`SOURCES`) → file, folder or glob.
    output_dir
        Parent of the dated report folders and of ``index.html``.
    baseline_dir
        Folder of baseline inputs, matched by name (see the module docstring).
    fail_on
        Findings at or above this severity make the exit code 1.
    max_workers
        Notebooks run at once (default: the number of cores).

    Raises
    ------
    ConfigError
        On an unknown source kind or when no source is given.
    """
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise ConfigError(
            f"unknown source kind(s) {', '.join(unknown)}; expected {', '.join(SOURCES)}"
        )
    if not sources:
        raise ConfigError("no source given; pass at least one of --" + ", --".join(SOURCES))
    base = Path(cwd) if cwd is not None else Path.cwd()
    available = {nb.stem: nb for nb in list_notebooks()}
    out = Path(output_dir).resolve()
    now = dt.datetime.now(dt.timezone.utc)

    plan: dict[str, dict[str, Any]] = {}
    for kind, path in sources.items():
        notebook, param = SOURCES[kind]
        if not notebook or notebook not in available:
            continue
        params = plan.setdefault(notebook, {})
        params[param] = samples.resolve(path, cwd=base)
    if OVERALL in available:
        declared = notebook_parameters(available[OVERALL])
        # the overall report gets exactly the sources given: its sample defaults are cleared
        plan[OVERALL] = {
            param: (samples.resolve(sources[k], cwd=base) if k in sources else "")
            for k, param in REPORT_PARAMS.items()
            if param in declared
        }
    baselines: list[BaselineMatch] = []
    if baseline_dir is not None:
        bdir = (base / Path(baseline_dir)).resolve()
        for kind, path in sources.items():
            notebook, param = SOURCES[kind]
            targets = []
            if notebook in plan and "baseline_path" in notebook_parameters(available[notebook]):
                targets.append((notebook, "baseline_path"))
            overall = f"baseline_{kind}_path"
            if OVERALL in plan and overall in notebook_parameters(available[OVERALL]):
                targets.append((OVERALL, overall))
            if not targets:
                continue
            match = match_baseline(str((base / Path(path)).resolve()), bdir)
            baselines.append(match)
            if match.path is not None:
                for nb_name, nb_param in targets:
                    plan[nb_name][nb_param] = match.path
    if not plan:
        raise ConfigError("no notebook of the suite reads the given source kinds")

    folder = files.unique_folder(out, now)
    summary: dict[str, Any] = {
        "created": now.isoformat(),
        "status": "running",
        "sources": {k: str(v) for k, v in sources.items()},
        "baseline_dir": str(baseline_dir) if baseline_dir else None,
        "baselines": [
            {"source": b.source, "baseline": b.path, "reason": b.reason} for b in baselines
        ],
        "fail_on": Severity.parse(fail_on).name,
        "planned": list(plan),
        **files.owner(),
    }
    files.atomic_write_json(folder / "report.json", summary)
    write_index(out)

    # the overall report is the longest: start it first so it does not run alone at the end
    order = sorted(plan.items(), key=lambda item: item[0] != OVERALL)
    jobs = [(available[nb], params) for nb, params in order]
    runs = run_concurrently(
        jobs, max_workers=max_workers, output_dir=folder, fail_on=fail_on, cwd=base
    )
    runs.sort(key=lambda r: r.notebook.stem)
    code = _worst([r.exit_code for r in runs])
    unique = unique_findings(r.findings for r in runs)
    worst = unique.max_severity
    verdict = {ExitCode.OK: "pass", ExitCode.FINDINGS: "fail"}.get(code, "error")
    if verdict == "pass" and worst is not None and worst >= Severity.warning:
        verdict = "warn"
    summary.update(
        {
            "status": "done",
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(),
            "verdict": verdict,
            "exit_code": int(code),
            "max_severity": worst.name if worst else None,
            "counts": unique.counts(),
            "notebooks": [
                {
                    "notebook": r.notebook.stem,
                    "verdict": r.verdict,
                    "exit_code": int(r.exit_code),
                    "message": r.message,
                    "html": str(r.html.relative_to(folder)),
                    "counts": r.findings.counts(),
                }
                for r in runs
            ],
        }
    )
    files.atomic_write_json(folder / "report.json", summary)
    index = write_index(out)
    message = f"{verdict}: {len(runs)} notebook(s), worst finding {worst.name if worst else 'none'}"
    return ReportResult(folder, index, code, runs, message, baselines)


def run_concurrently(
    jobs: list[tuple[Path, dict[str, Any]]], *, max_workers: int | None = None, **kwargs: Any
) -> list[RunResult]:
    """:func:`~perfnb.report.run.run_notebook` for each ``(notebook, parameters)``, at most one per core.

    Each notebook has its own kernel, so they overlap well; results come back in the order of *jobs*.
    """

    def one(job: tuple[Path, dict[str, Any]]) -> RunResult:
        # papermill's client runs on the event loop jupyter_core keeps per thread; close it when the
        # thread's run ends, or every worker thread leaks a loop and its self-pipe sockets
        from jupyter_core.utils import ensure_event_loop

        loop = ensure_event_loop()
        try:
            return run_notebook(job[0], job[1], **kwargs)
        finally:
            loop.close()
            asyncio.set_event_loop(None)

    workers = max(1, min(len(jobs), max_workers or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perfnb-run") as pool:
        return list(pool.map(one, jobs))


def unique_findings(groups: Any) -> Findings:
    """The findings of several notebooks with each problem once (same rule, place and run).

    The performance report repeats what the domain notebooks found; counting both would double them.
    """
    seen: dict[tuple[str, str, str], Any] = {}
    for findings in groups:
        for g in group_findings(findings):
            f = g.worst
            key = (f.rule, f.location, f.run)
            if key not in seen or f.severity > seen[key].severity:
                seen[key] = f
    return Findings(seen.values())
