"""Static checks on every notebooks/*.ipynb (fast; CONVENTIONS C.9)."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import papermill
import pytest

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ALLOWED_TAGS = {"parameters", "remove-cell", "remove-input", "remove-output"}

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return request.param


def test_name_and_title(notebook) -> None:
    nb = nbformat.read(notebook, as_version=4)
    assert "_" in notebook.stem, "notebooks are named <domain>_<question>.ipynb"
    assert nb.metadata.get("title"), "set metadata.title (it becomes the HTML <title>)"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.lstrip().startswith("# ")
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_one_parameters_cell_first(notebook) -> None:
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert code[0] is tagged[0], "the parameters cell is the first code cell"
    assert "output_dir" in tagged[0].source, "declare output_dir (set by perfnb run)"


def test_every_parameter_documented_and_literal(notebook) -> None:
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", []))
    for line in cell.source.splitlines():
        assert line.count("=") <= 1, f"papermill skips a parameter line with two '=': {line!r}"
    params = papermill.inspect_notebook(str(notebook))
    assert params
    for name, info in params.items():
        assert info["help"], f"parameter {name!r} has no help comment"
        assert info["inferred_type_name"] not in ("None",), (
            f"parameter {name!r} has no type annotation"
        )
        assert "|" not in (info["inferred_type_name"] or ""), (
            f"{name}: no `X | None` (papermill drops it)"
        )


def test_no_outputs_committed(notebook) -> None:
    raw = json.loads(notebook.read_text(encoding="utf-8"))
    assert "papermill" not in raw.get("metadata", {})
    for cell in raw["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        assert tags <= ALLOWED_TAGS, f"tags {tags - ALLOWED_TAGS} not in the allowed set"
        assert "injected-parameters" not in tags
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], "outputs committed"
            assert cell.get("execution_count") is None, "execution_count committed"


def test_no_secrets_or_side_doors(notebook) -> None:
    text = notebook.read_text(encoding="utf-8")
    for bad in ("sys.path", "!pip", "%pip", "password=", "getpass"):
        assert bad not in text, f"{bad!r} in {notebook.name}"
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "\ndef " not in "\n" + cell.source and "\nclass " not in "\n" + cell.source, (
                "notebooks call the package; no function or class definitions"
            )


def test_ruff_clean() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *map(str, NOTEBOOKS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_input_defaults_are_samples_or_empty(notebook) -> None:
    """CONVENTIONS C.9 / issue 14: a default input names a bundled sample with the ``samples:`` prefix
    (it resolves wherever the kernel runs) or is empty; and the notebook resolves its inputs."""
    from perfnb.report.run import input_parameters

    params = papermill.inspect_notebook(str(notebook))
    inputs = input_parameters(params)
    assert inputs, "a notebook reads at least one input parameter (<name>_path)"
    for name in inputs:
        default = str(params[name]["default"]).strip("\"'")
        assert default == "" or default.startswith("samples:"), f"{name} = {default!r}"
    source = "".join(c.source for c in nbformat.read(notebook, as_version=4).cells)
    assert "perfnb.samples.resolve_many(" in source and "perfnb.report.setup_notebook()" in source
    for name in inputs:
        assert f"{name}" in source.split("resolve_many(", 1)[1].split(")", 1)[0], (
            f"{name} is not resolved (samples: prefix, absolute path)"
        )
