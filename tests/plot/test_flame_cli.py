"""``perfnb flame FILE -o out.html``: one offline page, exports on request, clean errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from perfnb.cli import cli
from tests.conftest import SAMPLES

S = SAMPLES / "profiles"


def test_flame_command_writes_page_and_exports(tmp_path) -> None:
    out = tmp_path / "flame.html"
    res = CliRunner().invoke(
        cli,
        [
            "flame",
            str(S / "cprofile_after.prof"),
            "-o",
            str(out),
            "--baseline",
            str(S / "cprofile_before.prof"),
            "--speedscope",
            str(tmp_path / "p.speedscope.json"),
            "--folded",
            str(tmp_path / "p.folded"),
        ],
    )
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert html.count('"type":"icicle"') == 3 and html.count("plotly.js v") == 1
    doc = json.loads((tmp_path / "p.speedscope.json").read_text())
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert (tmp_path / "p.folded").read_text().count("\n") > 10


def test_flame_command_input_error_exit_code(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a profile"}')
    res = CliRunner().invoke(cli, ["flame", str(bad), "-o", str(tmp_path / "x.html")])
    assert res.exit_code == 3
    assert str(bad) in res.output
