r"""Reader for pyinstrument output: ``-r json``, ``.pyisession`` and the HTML renderer's data.

``-r json`` is the processed frame tree, ``.pyisession`` the raw samples, and the HTML data
(``{"session", "frame_tree"}``) is what ``pyinstrument -r html`` embeds.

Trees are turned into stacks: a node's self time is its ``time`` minus its children's (never below 0);
synthetic ``[self]`` children are folded into their parent. ``.pyisession`` records are
``[[frame, …root→leaf], seconds]`` with frames ``"func\x00file\x00line"`` (+ ``\x01`` attributes); the
first frame is a thread pseudo-frame and the ``start_call_stack`` prefix (pyinstrument's own launcher)
is dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from perfnb.errors import FormatError
from perfnb.io._common import ensure_path, guard_reader, register_format
from perfnb.io.profiles._json import get, load_json
from perfnb.model.profile import Frame, Profile, from_stacks, profile_run_label

__all__ = ["read_pyinstrument", "sniff_pyinstrument"]


def sniff_pyinstrument(path: Path, head: bytes) -> bool:
    """Pyinstrument JSON (``root_frame``), session (``frame_records``) or HTML data (``frame_tree``)."""
    h = head.lstrip()[:8192]
    return h[:1] == b"{" and (
        (b'"root_frame"' in h and b'"sample_count"' in h)
        or b'"frame_records"' in h
        or b'"start_call_stack"' in h
        or (b'"frame_tree"' in h and b'"session"' in h)
    )


def _parse_identifier(text: str) -> Frame:
    main = text.split("\x01", 1)[0]
    parts = main.split("\x00")
    func = parts[0]
    file = parts[1] if len(parts) > 1 else ""
    try:
        line = int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        line = 0
    return Frame(func, file, line)


def _walk_json(
    node: Any,
    prefix: list[Frame],
    out: list[tuple[str, list[Frame], float]],
    p: Path,
    key: str,
    depth: int = 0,
) -> None:
    if depth > 2000:
        raise FormatError("frame tree is deeper than 2000 levels", path=p, key=key)
    if "identifier" in node:
        fr = _parse_identifier(get(node, "identifier", str, path=p, key=key))
    else:
        func = get(node, "function", str, path=p, key=key)
        file = node.get("file_path") or node.get("file_path_short") or ""
        line = node.get("line_no")
        fr = Frame(func, str(file), line if isinstance(line, int) else 0)
    t = get(node, "time", (int, float), path=p, key=key)
    children = node.get("children") or []
    if not isinstance(children, list):
        raise FormatError("'children' is not a list", path=p, key=key)
    stack = [*prefix, fr]
    child_time = 0.0
    self_extra = 0.0
    for i, ch in enumerate(children):
        ck = f"{key}.children[{i}]"
        if not isinstance(ch, dict):
            raise FormatError("frame {found} is not an object", path=p, key=ck, found=ch)
        name = ch.get("function") or str(ch.get("identifier", "")).split("\x00", 1)[0]
        ct = get(ch, "time", (int, float), path=p, key=ck)
        if name == "[self]":
            self_extra += ct
            child_time += ct
            continue
        child_time += ct
        _walk_json(ch, stack, out, p, ck, depth + 1)
    own = max(float(t) - child_time, 0.0) + self_extra
    if own > 0:
        out.append(("", stack, own))


def _session(doc: dict[str, Any], p: Path) -> list[tuple[str, list[Frame], float]]:
    records = get(doc, "frame_records", list, path=p, key="$")
    raw_start = doc.get("start_call_stack")
    start: list[Any] = raw_start if isinstance(raw_start, list) else []
    skip = len(start)
    out = []
    cache: dict[str, Frame] = {}
    for i, rec in enumerate(records):
        key = f"$.frame_records[{i}]"
        if not isinstance(rec, list) or len(rec) != 2 or not isinstance(rec[0], list):
            raise FormatError("record {found} is not [frames, seconds]", path=p, key=key, found=rec)
        frames_raw, t = rec
        if not isinstance(t, int | float) or isinstance(t, bool):
            raise FormatError("record time {found} is not a number", path=p, key=key, found=t)
        if not all(isinstance(f, str) for f in frames_raw):
            raise FormatError("frames must be strings", path=p, key=key)
        thread = frames_raw[0].split("\x00", 1)[0] if frames_raw else ""
        body = frames_raw[skip:] if frames_raw[:skip] == start else frames_raw[1:]
        frames = []
        for f in body:
            fr = cache.get(f)
            if fr is None:
                fr = cache[f] = _parse_identifier(f)
            frames.append(fr)
        if frames:
            out.append((thread, frames, float(t)))
    return out


@register_format(
    "pyinstrument",
    description="pyinstrument JSON, .pyisession or HTML-renderer data",
    kind="profile",
    sniff=sniff_pyinstrument,
    priority=30,
)
@guard_reader
def read_pyinstrument(path: str | os.PathLike[str], *, run: str | None = None) -> Profile:
    """Read pyinstrument output (``-r json``, ``-r pyisession``, or the HTML renderer's JSON data).

    Parameters
    ----------
    path
        The file.
    run
        Run label; default the file stem.
    """
    p = ensure_path(path)
    doc, _ = load_json(p, what="pyinstrument JSON or .pyisession")
    if not isinstance(doc, dict):
        raise FormatError("not pyinstrument output (top level is not an object)", path=p)
    stacks: list[tuple[str, list[Frame], float]] = []
    if "frame_records" in doc:
        kind = "pyisession"
        stacks = _session(doc, p)
    elif "root_frame" in doc or "frame_tree" in doc:
        kind = "json" if "root_frame" in doc else "html-data"
        root = doc.get("root_frame") or doc.get("frame_tree")
        if root is None:  # an empty session
            root = {}
        if not isinstance(root, dict):
            raise FormatError("root frame is not an object", path=p, key="$.root_frame")
        if root:
            _walk_json(root, [], stacks, p, "$.root_frame")
    else:
        raise FormatError(
            "not pyinstrument output",
            path=p,
            expected="'root_frame' (json), 'frame_records' (pyisession) or 'frame_tree'",
        )
    prof = from_stacks(stacks, source="pyinstrument", run=profile_run_label(p, run), path=p)
    prof.meta["kind"] = kind
    raw_session = doc.get("session")
    session: dict[str, Any] = raw_session if isinstance(raw_session, dict) else doc
    for k in ("duration", "cpu_time", "sample_count", "target_description"):
        v = session.get(k)
        if isinstance(v, int | float | str) and not isinstance(v, bool):
            prof.meta[k] = v
    return prof
