"""``%load_ext perfnb`` and display helpers; marker ``ipython`` (run in their own pytest process)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.ipython


def test_load_ext_registers_magic(tmp_path) -> None:
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    assert ip is not None
    ip.run_line_magic("load_ext", "perfnb")
    assert "perfnb_read" in ip.magics_manager.magics["line"]
    missing = tmp_path / "missing.json"
    from perfnb.errors import InputError

    with pytest.raises(InputError, match="no such file"):
        ip.run_line_magic("perfnb_read", str(missing))


def test_findings_display_as_html() -> None:
    from IPython.core.formatters import DisplayFormatter

    from perfnb.findings import Finding, Findings, Severity

    fs = Findings([Finding(rule="T1", name="x", severity=Severity.info, title="<b>t</b>")])
    data, _ = DisplayFormatter().format(fs)
    assert "&lt;b&gt;t&lt;/b&gt;" in data["text/html"]
