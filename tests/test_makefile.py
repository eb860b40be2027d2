"""``make lab`` works as root and as a user (issue 14): ``--allow-root`` exactly when uid is 0."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_lab_allows_root_only_as_root() -> None:
    # -n prints the commands without running them; -o treats the venv stamps as up to date
    out = subprocess.run(
        ["make", "-n", "-s", "lab", "-o", ".venv/.installed", "-o", ".venv/bin/activate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if "jupyter lab" in x)
    assert "--notebook-dir=notebooks" in line
    assert ("--allow-root" in line) == (os.getuid() == 0)
