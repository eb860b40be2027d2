"""Regenerate ``data/samples/vitals/``: real Lighthouse reports and real ``web-vitals`` RUM beacons.

Serves a small page with planted problems on 127.0.0.1 (render-blocking CSS and JS delivered slowly, a
large unsized image shown small, a late banner that shifts the layout, a long task, ~200 KB of unused
JavaScript, a click handler that blocks the main thread), then

* runs Lighthouse (npm ``lighthouse@12.8.2``, the last line that runs on Node 20) headless with Debian's
  chromium three times, ``--only-categories=performance`` (mobile, simulated throttling), and once with
  ``--preset=desktop``: ``lhr_mobile_run{1,2,3}.json``, ``lhr_desktop.json``;
* loads the same page with ``web-vitals@4.2.4`` (IIFE build, ``reportAllChanges``) in headless chromium
  driven by ``playwright-core`` (no browser download: ``executablePath=/usr/bin/chromium``), clicks the
  slow button, and writes every beacon the library sent as NDJSON (``rum.ndjson``) — one line per
  ``onLCP/onINP/onCLS/onFCP/onTTFB`` report.

The npm packages go to ``$PERFNB_NODE_DIR`` (default ``/tmp/perfnb-vitals-node``), never into the repo.
Run: ``.venv/bin/python data/generate/vitals.py``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
import subprocess
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "samples" / "vitals"
NODE_DIR = Path(os.environ.get("PERFNB_NODE_DIR", "/tmp/perfnb-vitals-node"))
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
PACKAGES = ["lighthouse@12.8.2", "web-vitals@4.2.4", "playwright-core@1.65.1"]
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)


def _png(width: int, height: int, seed: int = 7) -> bytes:
    """A noisy RGB PNG (incompressible, so it is large on the wire)."""
    rng = random.Random(seed)
    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 1))
        + chunk(b"IEND", b"")
    )


UNUSED_JS = "\n".join(
    f"function unused_{i}(a, b) {{ var s = 0; for (var k = 0; k < a; k++) {{ s += (k * {i}) % (b + 1); }}"
    f" return s + '{'x' * 40}'; }}"
    for i in range(1500)
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>perfnb vitals sample</title>
<link rel="stylesheet" href="/slow.css">
<script src="/blocking.js"></script>
<script src="/unused.js"></script>
%RUM%
</head><body>
<div id="top"></div>
<h1>Planted problems</h1>
<p>Render-blocking CSS and JS, a large unsized image, a late banner, a long task, unused JavaScript.</p>
<img src="/hero.png" alt="hero" style="width:300px">
<p>Some text under the image that moves when it loads.</p>
<button id="slow" onclick="var t=performance.now(); while (performance.now()-t < 250) {};
 this.textContent='clicked';">Slow button</button>
<script>
setTimeout(function () {
  var b = document.createElement('div');
  b.style.height = '320px'; b.style.background = '#fc0'; b.textContent = 'Late banner';
  document.getElementById('top').appendChild(b);
}, 800);
var t0 = performance.now(); while (performance.now() - t0 < 300) {}
</script>
</body></html>
"""

RUM = """<script src="/web-vitals.iife.js"></script>
<script>
function send(m) {
  var body = JSON.stringify({name: m.name, value: m.value, rating: m.rating, delta: m.delta, id: m.id,
    navigationType: m.navigationType, page: location.pathname, timestamp: new Date().toISOString(),
    formFactor: innerWidth < 600 ? 'phone' : 'desktop'});
  fetch('/rum', {method: 'POST', body: body, keepalive: true});
}
['onLCP', 'onINP', 'onCLS', 'onFCP', 'onTTFB'].forEach(function (f) {
  webVitals[f](send, {reportAllChanges: true});
});
</script>"""


class Handler(BaseHTTPRequestHandler):
    beacons: ClassVar[list[str]] = []
    image = b""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, body: bytes, ctype: str, delay_s: float = 0.0) -> None:
        time.sleep(delay_s)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path in ("/", "/index.html"):
            self._send(PAGE.replace("%RUM%", "").encode(), "text/html", 0.05)
        elif path == "/rum.html" or path == "/rum/checkout.html":
            self._send(PAGE.replace("%RUM%", RUM).encode(), "text/html", 0.05)
        elif path == "/slow.css":
            self._send(b"body{font-family:sans-serif;margin:2em} h1{color:#333}", "text/css", 0.6)
        elif path == "/blocking.js":
            self._send(b"var blocking = 1;", "application/javascript", 0.4)
        elif path == "/unused.js":
            self._send(UNUSED_JS.encode(), "application/javascript")
        elif path == "/hero.png":
            self._send(self.image, "image/png", 0.2)
        elif path == "/web-vitals.iife.js":
            js = (NODE_DIR / "node_modules/web-vitals/dist/web-vitals.iife.js").read_bytes()
            self._send(js, "application/javascript")
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        Handler.beacons.append(self.rfile.read(length).decode())
        self.send_response(204)
        self.end_headers()


def install() -> None:
    if (NODE_DIR / "node_modules/.bin/lighthouse").exists():
        return
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), *PACKAGES],
        check=True,
    )


def lighthouse(url: str, out: Path, *extra: str) -> None:
    env = {**os.environ, "CHROME_PATH": CHROME}
    cmd = [
        str(NODE_DIR / "node_modules/.bin/lighthouse"),
        url,
        "--output=json",
        f"--output-path={out}",
        "--only-categories=performance",
        "--quiet",
        # Screenshots are most of a report's size; leaving them out keeps the samples small.
        "--disable-full-page-screenshot",
        "--skip-audits=screenshot-thumbnails,final-screenshot",
        f"--chrome-flags={CHROME_FLAGS}",
        *extra,
    ]
    subprocess.run(cmd, check=True, env=env)


RUM_SCRIPT = r"""
const { chromium } = require('playwright-core');
(async () => {
  const [base, runs] = [process.argv[2], Number(process.argv[3])];
  const browser = await chromium.launch({executablePath: process.env.CHROME_PATH,
    args: ['--no-sandbox', '--disable-gpu']});
  for (let i = 0; i < runs; i++) {
    const mobile = i % 2 === 0;
    const ctx = await browser.newContext(mobile ? {viewport: {width: 390, height: 800}, isMobile: true,
      hasTouch: true} : {viewport: {width: 1280, height: 800}});
    const page = await ctx.newPage();
    await page.goto(base + (i % 3 === 2 ? '/rum/checkout.html' : '/rum.html'), {waitUntil: 'load'});
    await page.waitForTimeout(1200);
    await page.click('#slow');
    await page.waitForTimeout(600);
    await page.evaluate(() => { Object.defineProperty(document, 'visibilityState',
      {value: 'hidden', configurable: true}); document.dispatchEvent(new Event('visibilitychange')); });
    await page.waitForTimeout(300);
    await ctx.close();
  }
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
"""


def rum(base: str, out: Path, runs: int = 8) -> None:
    script = NODE_DIR / "rum.cjs"
    script.write_text(RUM_SCRIPT)
    env = {**os.environ, "CHROME_PATH": CHROME, "NODE_PATH": str(NODE_DIR / "node_modules")}
    Handler.beacons.clear()
    subprocess.run(["node", str(script), base, str(runs)], check=True, env=env, cwd=NODE_DIR)
    time.sleep(0.5)
    lines = [json.dumps(json.loads(b), separators=(",", ":")) for b in Handler.beacons]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    if shutil.which("npm") is None:
        raise SystemExit("npm not found")
    install()
    OUT.mkdir(parents=True, exist_ok=True)
    Handler.image = _png(900, 700)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        for i in (1, 2, 3):
            lighthouse(base + "/", OUT / f"lhr_mobile_run{i}.json")
        lighthouse(base + "/", OUT / "lhr_desktop.json", "--preset=desktop")
        rum(base, OUT / "rum.ndjson")
    finally:
        server.shutdown()
    for p in sorted(OUT.iterdir()):
        print(p.relative_to(ROOT), p.stat().st_size)


if __name__ == "__main__":
    main()
