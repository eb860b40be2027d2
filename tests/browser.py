"""Load an HTML file in a real headless Chromium (Debian's ``chromium``), offline, and report what it saw.

A copy of the page gets a small probe script appended that records, after load, how many images there
are and how many decoded (``naturalWidth > 0``), how many Plotly figures there are and how many drew
their SVG, and what typing into each flame-graph search box highlights, into an element that
``--dump-dom`` prints. Chromium runs
with every host name mapped to nothing, so any attempt to fetch from the network fails and shows up as a
console error. The probe is only in the test copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests import services

PROBE = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var plots = document.querySelectorAll('.plotly-graph-div');
  var drawn = Array.prototype.filter.call(plots, function (p) {
    return p.querySelector('svg.main-svg') !== null;
  }).length;
  var found = [];
  document.querySelectorAll('input[type=search][id$="-search"]').forEach(function (box) {
    box.value = 'main';
    box.dispatchEvent(new Event('input'));
    var info = document.getElementById(box.id.replace(/-search$/, '-count'));
    found.push(info ? info.textContent.replace(/ /g, '_') : 'none');
  });
  var out = document.createElement('pre');
  out.id = 'perfnb-probe';
  out.textContent = 'images=' + imgs.length + ' decoded=' + ok +
    ' scripts=' + document.scripts.length + ' plots=' + plots.length + ' drawn=' + drawn +
    ' search=' + (found.join(',') || '-') + ' title=' + document.title;
  document.body.appendChild(out);
});
</script>
"""


@dataclass
class PageResult:
    """What Chromium saw."""

    dom: str
    console: list[str]
    images: int
    decoded: int
    scripts: int
    plots: int = 0
    drawn: int = 0
    search: tuple[str, ...] = ()


def chromium() -> str:
    """The Chromium binary, or skip/fail via :func:`tests.services.missing`."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    services.missing("chromium", "install chromium (apt-get install chromium)")
    raise AssertionError("unreachable")


def load(html_path: Path) -> PageResult:
    """Open *html_path* in headless Chromium with the network cut off."""
    binary = chromium()
    with tempfile.TemporaryDirectory(prefix="perfnb-chromium-") as tmp:
        copy = Path(tmp) / "page.html"
        text = html_path.read_text(encoding="utf-8")
        copy.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
        cmd = [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp}/profile",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            copy.as_uri(),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    console = [line for line in out.stderr.splitlines() if "CONSOLE" in line]
    m = re.search(
        r"images=(\d+) decoded=(\d+) scripts=(\d+) plots=(\d+) drawn=(\d+) search=(\S+)",
        out.stdout,
    )
    if out.returncode != 0 or m is None:
        raise AssertionError(
            f"chromium failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-3000:]}"
        )
    search = () if m.group(6) == "-" else tuple(m.group(6).split(","))
    return PageResult(
        out.stdout,
        console,
        int(m.group(1)),
        int(m.group(2)),
        int(m.group(3)),
        int(m.group(4)),
        int(m.group(5)),
        search,
    )
