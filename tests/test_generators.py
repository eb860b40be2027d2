"""The scripts that regenerate data/samples compile, including the Python they embed as text.

Generators run by hand (``make samples``), not in CI; a syntax error in an embedded locustfile would only
show the next time someone regenerates the samples.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATORS = sorted((ROOT / "data" / "generate").glob("*.py")) + sorted(
    (ROOT / "data" / "demo").glob("*.py")
)


def _embedded_python(tree: ast.Module) -> list[tuple[str, str]]:
    """Module-level ``NAME = textwrap.dedent(\"\"\"...\"\"\")`` strings that hold Python (not k6's JavaScript)."""
    out = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "dedent" and call.args):
            continue
        arg = call.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            text = textwrap.dedent(arg.value)
            if "import " in text and "export " not in text:
                out.append((ast.unparse(node.targets[0]), text))
    return out


@pytest.mark.parametrize("script", GENERATORS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_generator_and_its_embedded_python_compile(script: Path) -> None:
    tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
    for name, text in _embedded_python(tree):
        compile(text, f"{script.name}:{name}", "exec")
