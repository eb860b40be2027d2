"""``record()`` and ``read_records()``: how a notebook hands results to ``perfnb run`` (scrapbook's job).

A notebook's last cell calls ``perfnb.report.record("findings", findings, output_dir=output_dir)``. That
displays a vendor-MIME JSON payload (``application/vnd.perfnb.record+json``) that survives in the executed
``.ipynb`` and shows nothing (the findings table is shown once, in the notebook's Findings section); with
an output folder it also writes ``findings.json`` there. ``record("window", perfnb.report.time_window(lt))``
gives the report header the data's time window. ``perfnb run`` reads those records from the executed notebook, never
from the HTML.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfnb.errors import NotebookError
from perfnb.findings import Findings, _jsonable

if TYPE_CHECKING:
    import nbformat

__all__ = ["MIME", "read_records", "record", "time_window"]

#: The MIME type of a record in a notebook output.
MIME = "application/vnd.perfnb.record+json"


def _payload(name: str, value: Any) -> Any:
    if isinstance(value, Findings):
        return value.to_dict()
    return _jsonable(value)


def record(
    name: str, value: Any, *, output_dir: str | os.PathLike[str] | None = None, display: bool = True
) -> None:
    """Record *value* under *name* in the running notebook (and in *output_dir* as ``<name>.json``).

    Parameters
    ----------
    name
        Record name; ``"findings"`` is what ``perfnb run`` reads for exit codes.
    value
        A :class:`~perfnb.findings.Findings` or any JSON-able value (frames become records).
    output_dir
        Folder to write ``<name>.json`` into; default the ``PERFNB_OUTPUT_DIR`` environment variable,
        and nothing is written if neither is set (exploring in JupyterLab).
    display
        Whether to display the record (needs IPython; ignored outside a kernel).

    Returns
    -------
    None
        Nothing, so that a notebook's last cell (``record(...)``) displays nothing.
    """
    payload = {"name": name, "data": _payload(name, value)}
    folder = output_dir or os.environ.get("PERFNB_OUTPUT_DIR") or ""
    if folder:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(
            json.dumps(payload["data"], indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
    if display:
        try:
            from IPython.display import display as ipy_display
        except ImportError:  # pragma: no cover - IPython ships with ipykernel, a dependency
            return
        # the payload only: findings are shown once, in their own section, and a report drops
        # record outputs; an empty text/plain keeps JupyterLab from printing a placeholder
        ipy_display({MIME: payload, "text/plain": ""}, raw=True)


def read_records(notebook: str | os.PathLike[str] | nbformat.NotebookNode) -> dict[str, Any]:
    """The records of an executed notebook, by name (the last one wins).

    Raises
    ------
    NotebookError
        If the file is not a notebook.
    """
    import nbformat  # here, not at import: nbformat's schema validator takes a second to import

    if isinstance(notebook, nbformat.NotebookNode):
        nb = notebook
    else:
        try:
            nb = nbformat.read(os.fspath(notebook), as_version=4)
        except Exception as err:
            raise NotebookError(f"{notebook}: not a readable notebook: {err}") from err
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME in data:
                rec = data[MIME]
                if isinstance(rec, str):
                    rec = json.loads(rec)
                found[rec["name"]] = rec["data"]
    return found


def time_window(*objects: Any) -> dict[str, str]:
    """``{"start", "end"}`` (ISO 8601) spanning the timestamps of *objects*; ``{}`` if none has any.

    Takes loaded objects with a ``frame`` (or ``requests``/``intervals``) holding a ``timestamp`` column,
    DataFrames, and lists of plans with a ``timestamp`` attribute (auto_explain logs).
    """
    import pandas as pd

    stamps: list[Any] = []
    for obj in objects:
        if obj is None:
            continue
        if isinstance(obj, list | tuple):
            stamps.extend(getattr(o, "timestamp", None) for o in obj)
            continue
        for attr in ("frame", "requests", "history"):
            try:
                frame = obj if isinstance(obj, pd.DataFrame) else getattr(obj, attr, None)
            except Exception:  # noqa: S112 - a property that cannot compute has no window to give
                continue
            if isinstance(frame, pd.DataFrame) and "timestamp" in frame and len(frame):
                col = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True)
                stamps.extend([col.min(), col.max()])
                break
    valid = [pd.Timestamp(s) for s in stamps if s is not None and not pd.isna(s)]
    valid = [s.tz_localize("UTC") if s.tzinfo is None else s for s in valid]
    if not valid:
        return {}
    return {"start": min(valid).isoformat(), "end": max(valid).isoformat()}
