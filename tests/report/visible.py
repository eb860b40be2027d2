"""The visible text of a rendered report, and the checks every report must pass (issue 16).

Visible text is what a reader sees: the body without ``<style>``, ``<script>`` and ``<head>`` (so not
the ``<title>``), whitespace collapsed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: words that mean something leaked onto the page: missing values, reprs, tracebacks, warnings
FORBIDDEN = ("NaN", "None", "<NA>", "NaT", "dtype:", "object at 0x", "Traceback", "Warning")
LONG_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{5,}(?![\w])")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip += 1

    def handle_endtag(self, tag) -> None:
        if tag in ("style", "script", "head", "title"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The report's visible text, whitespace collapsed."""
    p = _Text()
    p.feed(html)
    return " ".join(" ".join(p.parts).split())


def problems(html: str, *, failure_report: bool = False) -> list[str]:
    """What the scan finds wrong in *html* (empty when the report is clean)."""
    text = visible_text(html)
    found = []
    for word in FORBIDDEN:
        if word == "Traceback" and failure_report:
            continue
        for m in re.finditer(re.escape(word), text):
            found.append(f"{word!r} in …{text[max(0, m.start() - 80) : m.end() + 40]}…")
    for m in LONG_FLOAT.finditer(text):
        found.append(f"float {m.group()} in …{text[max(0, m.start() - 80) : m.end() + 20]}…")
    return found


def body_after_header(html: str) -> str:
    """The visible text after the report header (the header summarises findings shown below)."""
    end = html.find("</header>")
    return visible_text(html[end:] if end >= 0 else html)
