"""pyproject.toml and environment.yml list the same dependencies; notebooks ship in the wheel."""

from __future__ import annotations

import re

import tomllib
import yaml

from tests.conftest import ROOT

# PyPI name → conda-forge name, where they differ
CONDA_NAMES = {"psycopg[binary]": "psycopg", "prometheus-client": "prometheus_client"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~; \[]", req, maxsplit=1)[0].strip().lower()


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {CONDA_NAMES.get(_name(r), _name(r)) for r in project["dependencies"]}
    for extra in ("dev", "dask"):
        wanted |= {
            CONDA_NAMES.get(_name(r), _name(r)) for r in project["optional-dependencies"][extra]
        }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    listed: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed |= {_name(d) for d in dep.get("pip", [])}
        elif not _name(dep).startswith("python"):
            listed.add(_name(dep))
    assert wanted - listed == set(), f"missing from environment.yml: {sorted(wanted - listed)}"
    unexpected = listed - wanted - {"pip", "-e"}
    assert unexpected == set(), (
        f"in environment.yml but not in pyproject.toml: {sorted(unexpected)}"
    )


def test_notebooks_and_samples_ship_in_the_wheel() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    force = cfg["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force["notebooks"] == "perfnb/_root/notebooks"
    assert force["data/samples"] == "perfnb/_root/data/samples"
