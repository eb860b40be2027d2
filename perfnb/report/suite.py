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
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfnb.errors import ConfigError
from perfnb.findings import Severity
from perfnb.report.baseline import BaselineMatch, match_baseline
from perfnb.report.html import esc
from perfnb.report.run import ExitCode, RunResult, list_notebooks, notebook_parameters, run_notebook

__all__ = ["SOURCES", "ReportResult", "run_report", "write_index"]

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
    folder = out / now.strftime("%Y%m%dT%H%M%SZ")
    n = 1
    while folder.exists():
        folder = out / f"{now:%Y%m%dT%H%M%SZ}-{n}"
        n += 1
    folder.mkdir(parents=True)

    plan: dict[str, dict[str, Any]] = {}
    for kind, path in sources.items():
        notebook, param = SOURCES[kind]
        if not notebook or notebook not in available:
            continue
        params = plan.setdefault(notebook, {})
        params[param] = str((base / Path(path)).resolve()) if "://" not in str(path) else str(path)
    if OVERALL in available:
        declared = notebook_parameters(available[OVERALL])
        # the overall report gets exactly the sources given: its sample defaults are cleared
        plan[OVERALL] = {
            param: (str((base / Path(sources[k])).resolve()) if k in sources else "")
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

    runs: list[RunResult] = []
    for notebook, params in plan.items():
        runs.append(
            run_notebook(available[notebook], params, output_dir=folder, fail_on=fail_on, cwd=base)
        )
    code = _worst([r.exit_code for r in runs])
    worst = max((r.findings.max_severity for r in runs if r.findings.max_severity), default=None)
    verdict = {
        ExitCode.OK: "pass",
        ExitCode.FINDINGS: "fail",
    }.get(code, "error")
    summary = {
        "created": now.isoformat(),
        "sources": {k: str(v) for k, v in sources.items()},
        "baseline_dir": str(baseline_dir) if baseline_dir else None,
        "baselines": [
            {"source": b.source, "baseline": b.path, "reason": b.reason} for b in baselines
        ],
        "fail_on": Severity.parse(fail_on).name,
        "verdict": verdict,
        "exit_code": int(code),
        "max_severity": worst.name if worst else None,
        "notebooks": [
            {
                "notebook": r.notebook.stem,
                "exit_code": int(r.exit_code),
                "message": r.message,
                "html": str(r.html.relative_to(folder)),
                "counts": r.findings.counts(),
            }
            for r in runs
        ],
    }
    (folder / "report.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    index = write_index(out)
    message = f"{verdict}: {len(runs)} notebook(s), worst finding {worst.name if worst else 'none'}"
    return ReportResult(folder, index, code, runs, message, baselines)


def write_index(output_dir: str | os.PathLike[str]) -> Path:
    """Write ``index.html`` in *output_dir* listing every report folder (newest first) with its verdict."""
    out = Path(output_dir)
    rows = []
    for summary_path in sorted(out.glob("*/report.json"), reverse=True):
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        folder = summary_path.parent.name
        links = " ".join(
            f'<a href="{esc(folder)}/{esc(nb["html"])}">{esc(nb["notebook"])}</a>'
            for nb in summary.get("notebooks", [])
        )
        counts: dict[str, int] = {}
        for nb in summary.get("notebooks", []):
            for sev, c in nb.get("counts", {}).items():
                counts[sev] = counts.get(sev, 0) + int(c)
        count_text = ", ".join(f"{c} {s}" for s, c in counts.items() if c) or "no findings"
        verdict = str(summary.get("verdict", "?"))
        rows.append(
            f"<tr><td>{esc(summary.get('created', folder))}</td>"
            f'<td class="v-{esc(verdict)}">{esc(verdict)}</td>'
            f"<td>{esc(count_text)}</td><td>{links}</td>"
            f"<td>{esc(', '.join(f'{k}: {v}' for k, v in summary.get('sources', {}).items()))}</td></tr>"
        )
    from perfnb.history.views import index_fragment  # trends across runs, "" without a history

    trends = index_fragment(out)
    html = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>perfnb reports</title><style>"
        "body{font:14px/1.4 system-ui,sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;"
        "text-align:left;vertical-align:top}.v-pass{color:#1b5e20;font-weight:bold}"
        ".v-fail{color:#b00020;font-weight:bold}.v-error{color:#e65100;font-weight:bold}"
        "</style></head><body><h1>perfnb reports</h1>"
        f"{trends}<table><thead><tr><th>created (UTC)</th><th>verdict</th><th>findings</th><th>reports</th>"
        f"<th>sources</th></tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    return index
