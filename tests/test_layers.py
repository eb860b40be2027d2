"""The import-layer contract: no perfnb module imports a layer above its own.

Layers, lowest first (README "Architecture"). A module may import its own layer and any layer below.
Every ``import`` and ``from … import`` counts, lazy ones inside functions included; only imports under
``if TYPE_CHECKING:`` are exempt (they never run). The ``.pyi`` stubs that keep moved module paths typed
(``perfnb/io/loadtest.pyi`` …) are not modules and are not checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "perfnb"

#: (rank, name, module prefixes). A module belongs to the most specific prefix that matches.
LAYERS: list[tuple[int, str, tuple[str, ...]]] = [
    (
        0,
        "core",
        (
            "perfnb.errors",
            "perfnb.schema",
            "perfnb.units",
            "perfnb._html",
            "perfnb._typing",
            "perfnb._version",
            "perfnb._moved",
            "perfnb._secrets",
            "perfnb.samples",
            "perfnb.explain_guard",
        ),
    ),
    (1, "model", ("perfnb.model",)),
    (2, "io", ("perfnb.io",)),
    (3, "analysis", ("perfnb.analysis",)),
    (4, "engine/scan", ("perfnb.engine", "perfnb.scan")),
    (4, "live sources", ("perfnb.postgres", "perfnb.prometheus", "perfnb.cache")),
    (5, "rules/findings", ("perfnb.findings", "perfnb.rules")),
    (5, "history", ("perfnb.history",)),  # its series, store and importer: findings over many runs
    (6, "plot", ("perfnb.plot",)),
    (6, "history views", ("perfnb.history.views",)),  # what report's index shows
    (7, "report", ("perfnb.report",)),
    (
        8,
        "top",
        ("perfnb.cli", "perfnb.ipython", "perfnb.__main__", "perfnb._bind", "perfnb.history.cli"),
    ),
]


def layer_of(module: str) -> tuple[int, str]:
    """The (rank, name) of *module*; the package ``perfnb`` itself is the top layer."""
    best: tuple[int, int, str] | None = None
    for rank, name, prefixes in LAYERS:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > best[0]):
                best = (len(p), rank, name)
    if best is None:
        if module == "perfnb":
            return 8, "top"
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_layers.py")
    return best[1], best[2]


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _resolve(name: str) -> str:
    """The module an import names (``from perfnb.analysis.profiles import hotspots`` → the module)."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str) -> list[tuple[int, str]]:
    """``(line, imported perfnb module)`` for every runtime import in *module*, lazy ones included."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for sub in node.body:
                skip.update(id(n) for n in ast.walk(sub))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.extend((node.lineno, _resolve(a.name)) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for a in node.names:
                out.append((node.lineno, _resolve(f"{mod}.{a.name}")))
    return [(line, m) for line, m in out if m == "perfnb" or m.startswith("perfnb.")]


def violations() -> list[str]:
    found = []
    for module in MODULES:
        rank, name = layer_of(module)
        for line, target in imports(module):
            trank, tname = layer_of(target)
            if trank > rank:
                rel = MODULES[module].relative_to(PACKAGE.parent)
                found.append(f"{rel}:{line}: {module} ({name}) imports {target} ({tname})")
    return found


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_layer_above_its_own() -> None:
    bad = violations()
    assert not bad, "imports pointing up a layer:\n" + "\n".join(bad)


def test_the_contract_sees_lazy_imports(tmp_path: Path) -> None:
    tree = "def f():\n    from perfnb.report import record\n"
    node = ast.parse(tree).body[0]
    assert isinstance(node, ast.FunctionDef)
    assert any(isinstance(n, ast.ImportFrom) for n in ast.walk(node))
    assert layer_of(_resolve("perfnb.report.record")) == (7, "report")
    assert layer_of("perfnb.model.loadtest") == (1, "model")


@pytest.mark.parametrize("module", ["perfnb.model.loadtest", "perfnb.model.plan"])
def test_models_import_only_core(module: str) -> None:
    for _, target in imports(module):
        assert layer_of(target)[0] <= 1, target
