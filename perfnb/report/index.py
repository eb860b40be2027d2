"""``index.html``: the front page of a reports folder, one row per ``perfnb report`` run, newest first.

Each row gives the run's verdict, its findings counted once across its notebooks (the performance report
repeats what the domain notebooks found), each notebook's verdict with a link to its report, the sources and
the local time in a readable form. A run still going is ``running``; one whose process is gone while its
``report.json`` says ``running`` (killed, machine rebooted) is ``interrupted``, with the notebooks it left.

The page is rewritten under a lock (two reports finishing together both get listed) and atomically (a reader
never sees half a page). It carries no script and no external resource.

Other modules add sections to the page (trends over past runs, say) by appending a function to
:data:`SECTIONS`: it takes the reports folder and returns escaped HTML placed above the table.

Entry points: :func:`write_index`, :func:`read_reports`, :data:`SECTIONS`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfnb.report import files
from perfnb.report.html import esc

__all__ = ["SECTIONS", "read_reports", "write_index"]

#: Functions ``(reports folder) -> HTML`` whose output goes above the table, in order.
SECTIONS: list[Callable[[Path], str]] = []

_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 16px;color:#222}"
    "h1{font-size:22px}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #e3e3e3;padding:6px 8px;text-align:left;vertical-align:top}"
    "th{font-weight:600;color:#555;font-size:12.5px}"
    ".v{font-weight:700;padding:1px 8px;border-radius:3px;color:#fff;background:#888;font-size:12.5px}"
    ".v-pass{background:#2e7d32}.v-warn{background:#f9a825;color:#000}.v-fail{background:#c62828}"
    ".v-error{background:#6a1b9a}.v-interrupted{background:#555}.v-running{background:#1565c0}"
    ".nb{display:block;margin:1px 0;white-space:nowrap}.nb .v{font-size:11px;padding:0 5px}"
    ".perfnb-sev{padding:1px 6px;border-radius:3px;font:600 12px/1.4 system-ui,sans-serif;margin-right:4px}"
    ".perfnb-sev-critical{color:#fff;background:#b00020}.perfnb-sev-warning{color:#000;background:#ffb300}"
    ".perfnb-sev-info{color:#fff;background:#1565c0}.src{color:#555;font-size:12.5px}"
    ".when{white-space:nowrap}small{color:#666}"
)


def read_reports(output_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every ``*/report.json`` under *output_dir*, newest first, with ``status`` settled.

    A report whose owner process is gone while it says ``running`` gets ``status="interrupted"`` and
    ``left`` (the notebook folders it wrote).
    """
    out = Path(output_dir)
    found = []
    for path in out.glob("*/report.json"):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(summary, dict):
            continue
        summary["folder"] = path.parent.name
        if summary.get("status") == "running" and not files.alive(summary):
            summary["status"] = "interrupted"
            summary["left"] = sorted(p.name for p in path.parent.iterdir() if p.is_dir())
        found.append(summary)
    found.sort(key=lambda s: (str(s.get("created", "")), s["folder"]), reverse=True)
    return found


def _when(created: str) -> str:
    try:
        ts = dt.datetime.fromisoformat(created)
    except ValueError:
        return created
    local = ts.astimezone()
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname() or ''}".strip()


def _row(s: dict[str, Any]) -> str:
    folder = str(s["folder"])
    status = str(s.get("status", "done"))
    verdict = status if status in ("running", "interrupted") else str(s.get("verdict", "?"))
    counts = s.get("counts")
    if counts is None:  # a report.json from before counts were de-duplicated
        counts = {}
    count_html = " ".join(
        f'<span class="perfnb-sev perfnb-sev-{esc(sev)}">{int(n):,} {esc(sev)}</span>'
        for sev, n in counts.items()
        if int(n)
    ) or ("no findings" if status == "done" else "—")
    nbs = []
    for nb in s.get("notebooks", []):
        v = str(nb.get("verdict") or ("pass" if nb.get("exit_code") == 0 else "fail"))
        href = f"{folder}/{nb.get('html', '')}"
        nbs.append(
            f'<span class="nb"><span class="v v-{esc(v)}">{esc(v)}</span> '
            f'<a href="{esc(href)}">{esc(nb.get("notebook", "?"))}</a></span>'
        )
    if status == "interrupted":
        left = ", ".join(s.get("left", [])) or "nothing"
        nbs.append(f"<small>stopped before the end; left: {esc(left)}</small>")
    elif status == "running":
        nbs.append(f"<small>running: {esc(', '.join(s.get('planned', [])))}</small>")
    sources = ", ".join(
        f"{esc(k)}: {esc(Path(str(v)).name or str(v))}" for k, v in s.get("sources", {}).items()
    )
    return (
        f'<tr><td class="when">{esc(_when(str(s.get("created", folder))))}<br>'
        f"<small>{esc(folder)}</small></td>"
        f'<td><span class="v v-{esc(verdict)}">{esc(verdict)}</span></td>'
        f"<td>{count_html}</td><td>{''.join(nbs)}</td>"
        f'<td class="src">{sources}</td></tr>'
    )


def write_index(output_dir: str | os.PathLike[str]) -> Path:
    """Rewrite ``index.html`` in *output_dir* (under a lock, atomically) and return its path."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    with files.locked(index):
        rows = "".join(_row(s) for s in read_reports(out))
        sections = "".join(section(out) for section in SECTIONS)
        page = (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>perfnb reports</title><style>{_STYLE}</style></head><body>"
            "<h1>perfnb reports</h1>"
            "<p><small>Newest first. Findings are counted once per run, however many of its notebooks "
            "show them. Times are this machine's local time.</small></p>"
            f"{sections}"
            "<table><thead><tr><th>when</th><th>verdict</th><th>findings</th><th>notebooks</th>"
            f"<th>sources</th></tr></thead><tbody>{rows}</tbody></table></body></html>\n"
        )
        files.atomic_write(index, page)
    return index
