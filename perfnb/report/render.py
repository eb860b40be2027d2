"""Render an executed notebook to one self-contained HTML file, without code cells.

The HTML uses perfnb's template (``templates/perfnb``), which is JupyterLab's minus every script or
stylesheet fetched from the network (require.js, MathJax, Mermaid, widgets): a report opens offline and
can be mailed. Images are inline PNGs. Cells tagged ``remove-cell`` are dropped, ``remove-input`` lose their
code and ``remove-output`` their output (the MyST/Jupyter Book vocabulary); reports hide all code.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import nbformat

from perfnb.report.html import esc

__all__ = ["TEMPLATE_DIR", "render_html"]

TEMPLATE_DIR = Path(__file__).parent / "templates"


def render_html(
    notebook: str | os.PathLike[str] | nbformat.NotebookNode,
    output: str | os.PathLike[str] | None = None,
    *,
    banner: str = "",
    header: str = "",
    include_code: bool = False,
) -> str:
    """Render *notebook* to HTML and write it to *output* if given; return the HTML.

    Parameters
    ----------
    banner
        Plain text shown above the report (run time, parameters, status); it is escaped.
    header
        HTML from :func:`perfnb.report.header.header_html` (already escaped): verdict, top bottlenecks,
        contents. With a header, the notebook's own first ``# title`` line is dropped (the header has it).
    include_code
        Keep the code cells (for exploration exports); reports leave them out.
    """
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    nb = (
        notebook
        if isinstance(notebook, nbformat.NotebookNode)
        else nbformat.read(os.fspath(notebook), 4)
    )
    nb = _for_report(nb, drop_title=bool(header))
    cfg = Config()
    cfg.TagRemovePreprocessor.remove_cell_tags = ("remove-cell", "injected-parameters")
    cfg.TagRemovePreprocessor.remove_input_tags = ("remove-input",)
    cfg.TagRemovePreprocessor.remove_all_outputs_tags = ("remove-output",)
    cfg.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(
        config=cfg,
        template_name="perfnb",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=not include_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(TagRemovePreprocessor(config=cfg), enabled=True)
    # nbconvert warns on stderr about figures without alt text; matplotlib outputs never have one
    exporter.log.setLevel(logging.ERROR)
    resources = {"perfnb_banner": esc(banner) if banner else "", "perfnb_header": header}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    if output is not None:
        from perfnb.report.files import atomic_write

        atomic_write(Path(output), body)
    return body


def _for_report(nb: nbformat.NotebookNode, *, drop_title: bool) -> nbformat.NotebookNode:
    """A copy without what a reader should not see.

    Records (machine-readable payloads), stderr (warnings, kernel noise) and, under a header, the
    duplicate title line.
    """
    import copy

    from perfnb.report.record import MIME

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if MIME not in o.get("data", {})
                and not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    if drop_title:
        # the notebook's first "# title" (papermill may have put its error banner cell before it)
        for cell in nb.cells:
            lines = cell.source.splitlines() if cell.cell_type == "markdown" else []
            if lines and lines[0].startswith("# "):
                cell.source = "\n".join(lines[1:]).lstrip("\n")
                break
    return nb
