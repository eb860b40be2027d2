"""Record existing report folders: what ``perfnb history import`` and the ``report``/``run`` hooks do.

Two layouts are understood, both written by perfnb:

* a ``perfnb report`` folder, ``<output>/<UTC timestamp>/report.json`` with one run folder per notebook;
  the sources are the kinds in ``report.json`` with the absolute paths the notebooks were given
  (``parameters.yaml``), the findings are every notebook's ``findings.json`` (each finding once);
* a ``perfnb run`` folder, ``<output>/<notebook>/<UTC timestamp>/run.json`` + ``parameters.yaml``; the
  sources are its ``*_path`` parameters (``baseline_path`` excepted).

When the sources are gone (an old report whose inputs were deleted), the run is still recorded with its
findings counts and the report's creation time, identified by the hash of its ``report.json``/``run.json``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from perfnb.errors import FormatError, InputError
from perfnb.findings import Finding, Findings
from perfnb.history.measure import hash_source, measure_findings
from perfnb.history.store import History, RecordResult

__all__ = [
    "PARAMETER_KINDS",
    "ImportResult",
    "find_report_folders",
    "import_reports",
    "record_folder",
]

logger = logging.getLogger(__name__)

#: notebook parameter → source kind
PARAMETER_KINDS = {
    "profile_path": "profile",
    "plan_path": "plans",
    "statements_path": "statements",
    "loadtest_path": "loadtest",
    "metrics_path": "metrics",
    "lighthouse_path": "lighthouse",
    "cache_path": "cache",
    "rum_path": "rum",
}


@dataclass(frozen=True)
class ImportResult:
    """One imported folder: the record result and what could not be used."""

    folder: Path
    result: RecordResult
    missing: tuple[str, ...] = ()

    def __str__(self) -> str:
        gone = f" (sources gone: {', '.join(self.missing)}; findings only)" if self.missing else ""
        return f"{self.folder}: {self.result}{gone}"


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise FormatError(f"not a readable JSON file: {err}", path=path) from err
    if not isinstance(data, dict):
        raise FormatError("expected a JSON object", path=path)
    return data


def _params(folder: Path) -> dict[str, Any]:
    p = folder / "parameters.yaml"
    if not p.is_file():
        return {}
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise FormatError(f"not readable YAML: {err}", path=p) from err
    return data if isinstance(data, dict) else {}


def _findings(folders: list[Path]) -> Findings:
    seen: dict[tuple[str, str, str], Finding] = {}
    for f in folders:
        path = f / "findings.json"
        if not path.is_file():
            continue
        try:
            found = Findings.from_json(path)
        except (OSError, ValueError, KeyError) as err:
            raise FormatError(f"not a findings file: {err}", path=path) from err
        for item in found:
            seen.setdefault((item.rule, item.location, item.title), item)
    return Findings(seen.values())


def find_report_folders(root: str | os.PathLike[str]) -> Iterator[Path]:
    """Report folders (``report.json``) and run folders (``run.json``) under *root*, oldest first."""
    base = Path(root)
    reports = sorted({p.parent for p in base.rglob("report.json")})
    yield from reports
    for run in sorted({p.parent for p in base.rglob("run.json")}):
        if not any(r in run.parents for r in reports):
            yield run


def _sources_and_meta(folder: Path) -> tuple[dict[str, str], Findings, str, str, Path]:
    """(sources, findings, created time, report html relative to the folder, identity file)."""
    report_json = folder / "report.json"
    if report_json.is_file():
        summary = _json(report_json)
        nb_folders = [(folder / nb["html"]).parent for nb in summary.get("notebooks", [])]
        given = {str(k): str(v) for k, v in summary.get("sources", {}).items()}
        sources: dict[str, str] = {}
        for kind, raw in given.items():
            path = raw
            for nbf in nb_folders:
                for name, value in _params(nbf).items():
                    if PARAMETER_KINDS.get(name) == kind and value:
                        path = str(value)
            sources[kind] = path
        htmls = [str(nb["html"]) for nb in summary.get("notebooks", [])]
        main = next((h for h in htmls if "performance_report" in h), htmls[0] if htmls else "")
        return sources, _findings(nb_folders), str(summary.get("created", "")), main, report_json
    run_json = folder / "run.json"
    if not run_json.is_file():
        raise InputError("neither report.json nor run.json here", path=folder)
    info = _json(run_json)
    params = _params(folder)
    sources = {
        PARAMETER_KINDS[name]: str(value)
        for name, value in params.items()
        if name in PARAMETER_KINDS and value and "://" not in str(value)
    }
    html = f"{info.get('notebook', folder.parent.name)}.html"
    return sources, _findings([folder]), str(info.get("started", "")), html, run_json


def record_folder(
    history: History,
    folder: str | os.PathLike[str],
    *,
    system: str = "",
    env: str = "",
    commit: str | None = None,
    link_base: str | os.PathLike[str] | None = None,
) -> ImportResult:
    """Record one report or run folder into *history*.

    Parameters
    ----------
    link_base
        Folder the stored report link is relative to (the history's output folder); default the
        folder's parent.
    """
    f = Path(folder).resolve()
    sources, findings, created, html, ident = _sources_and_meta(f)
    base = Path(link_base).resolve() if link_base is not None else f.parent
    target = f / html if html else f
    try:
        link = str(target.relative_to(base))
    except ValueError:
        link = target.as_uri()
    present = {k: v for k, v in sources.items() if _exists(v)}
    missing = tuple(sorted(set(sources) - set(present)))
    if present and not missing:
        res = history.record(
            present,
            system=system,
            env=env,
            commit=commit,
            report=link,
            findings=findings,
        )
        if res.created or res.run_id:
            return ImportResult(f, res)
    # the evidence is gone (or partly): keep what the report says, identified by its summary file
    rows = measure_findings(findings)
    key = "report:" + hash_source("report", ident).sha256
    res = history.record_measurements(
        rows,
        system=system,
        env=env,
        commit=commit,
        started_at=created or None,
        report=link,
        key=key,
    )
    return ImportResult(f, res, missing)


def _exists(path: str) -> bool:
    try:
        hash_source("x", path)
    except InputError:
        return False
    return True


def import_reports(
    history: History,
    root: str | os.PathLike[str],
    *,
    system: str = "",
    env: str = "",
) -> list[ImportResult]:
    """Backfill *history* from every report and run folder under *root* (already recorded ones are no-ops)."""
    base = Path(root)
    if not base.is_dir():
        raise InputError("not a folder of reports", path=base)
    out = []
    for folder in find_report_folders(base):
        out.append(record_folder(history, folder, system=system, env=env, link_base=base))
        logger.info("%s", out[-1])
    return out
