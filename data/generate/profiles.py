"""Regenerate ``data/samples/profiles/`` by running real profilers on ``profile_workload.py``.

Run as ``.venv/bin/python data/generate/profiles.py``. It writes, for the ``before`` and ``after`` variants
of the workload (a real before/after pair for ``perfnb.compare_profiles``):

* ``cprofile_{before,after}.prof``: ``python -m cProfile -o`` (this interpreter);
* ``pyspy_{before,after}.raw.txt``: ``py-spy record --format raw --idle`` (folded stacks, idle included);
* ``pyspy_before.speedscope.json`` and ``pyspy_before.chrometrace.json``: the same, other formats;
* ``pyinstrument_{before,after}.json`` and ``pyinstrument_before.pyisession``: pyinstrument renderers;
* ``lineprof_before.lprof`` (``kernprof -l -p``) and ``lineprof_before.txt`` (``python -m line_profiler``);
* ``memray_before.stats.json`` (``memray stats --json``) and ``memray_before.csv`` (``memray transform
  csv``), from a ``memray run`` capture that is not kept;
* ``mprof_before.dat``: memory_profiler's ``mprof run``;
* ``pyspy_twoclasses.{raw.txt,speedscope.json}``: py-spy on ``profile_twoclasses.py``, where
  ``CsvCodec.decode`` and ``JsonCodec.decode`` share a name in one file (``--only twoclasses`` makes just
  these).

py-spy needs ptrace (root, or ``kernel.yama.ptrace_scope=0``); without it those files are skipped with a
message. The tools are in the dev extra (``pip install py-spy pyinstrument line_profiler memray memory_profiler``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "data" / "samples" / "profiles"
WORKLOAD = ROOT / "data" / "generate" / "profile_workload.py"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str | None:
    cand = BIN / name
    return str(cand) if cand.exists() else shutil.which(name)


def run(cmd: list[str]) -> bool:
    print("+", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        return False
    return True


def extra_tools(py: str, wl: str) -> bool:
    """line_profiler, memray and mprof runs on the ``before`` variant (fewer requests: they are slow)."""
    import tempfile

    args = [wl, "--variant", "before", "--requests", "30"]
    ok = True
    kernprof, memray, mprof = _tool("kernprof"), _tool("memray"), _tool("mprof")
    if kernprof is not None:
        lprof = OUT / "lineprof_before.lprof"
        ok &= run([kernprof, "-l", "-p", wl, "-o", str(lprof), *args])
        proc = subprocess.run(
            [py, "-m", "line_profiler", "-m", str(lprof)],
            capture_output=True,
            text=True,
            check=False,
        )
        ok &= proc.returncode == 0
        (OUT / "lineprof_before.txt").write_text(proc.stdout, encoding="utf-8")
    if memray is not None:
        with tempfile.TemporaryDirectory() as tmp:
            capture = str(Path(tmp) / "capture.bin")
            ok &= run([memray, "run", "-q", "-o", capture, *args])
            ok &= run(
                [
                    memray,
                    "stats",
                    "--json",
                    "-f",
                    "-o",
                    str(OUT / "memray_before.stats.json"),
                    capture,
                ]
            )
            ok &= run(
                [memray, "transform", "csv", "-f", "-o", str(OUT / "memray_before.csv"), capture]
            )
    if mprof is not None:
        ok &= run([mprof, "run", "-o", str(OUT / "mprof_before.dat"), *args])
    return ok


def two_classes() -> bool:
    """py-spy raw and speedscope profiles of two classes whose methods share the name ``decode``."""
    pyspy = _tool("py-spy")
    if pyspy is None:
        print("py-spy not found: pip install py-spy", file=sys.stderr)
        return True
    wl = str((ROOT / "data" / "generate" / "profile_twoclasses.py").relative_to(ROOT))
    ok = True
    for fmt, ext in (("raw", "raw.txt"), ("speedscope", "speedscope.json")):
        target = OUT / f"pyspy_twoclasses.{ext}"
        cmd = [pyspy, "record", "--format", fmt, "-r", "250", "-o", str(target), "--"]
        ok &= run([*cmd, sys.executable, wl, "--seconds", "1.5"])
    return ok


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    if sys.argv[1:] == ["--only", "twoclasses"]:
        return 0 if two_classes() else 1
    py = sys.executable
    wl = str(WORKLOAD.relative_to(ROOT))
    ok = True
    for variant in ("before", "after"):
        args = [wl, "--variant", variant]
        ok &= run([py, "-m", "cProfile", "-o", str(OUT / f"cprofile_{variant}.prof"), *args])
        pyspy = _tool("py-spy")
        if pyspy is None:
            print("py-spy not found: pip install py-spy", file=sys.stderr)
        else:
            formats = [("raw", "raw.txt")]
            if variant == "before":
                formats += [("speedscope", "speedscope.json"), ("chrometrace", "chrometrace.json")]
            for fmt, ext in formats:
                target = OUT / f"pyspy_{variant}.{ext}"
                # event traces are large: a shorter run keeps the committed file small
                short = ["--requests", "40"] if fmt == "chrometrace" else []
                if not run(
                    [
                        pyspy,
                        "record",
                        "--format",
                        fmt,
                        "--idle",
                        "-r",
                        "250",
                        "-o",
                        str(target),
                        "--",
                        py,
                        *args,
                        *short,
                    ]
                ):
                    print(
                        "py-spy failed (it needs ptrace: run as root or set "
                        "kernel.yama.ptrace_scope=0)",
                        file=sys.stderr,
                    )
        pyi = _tool("pyinstrument")
        if pyi is None:
            print("pyinstrument not found: pip install pyinstrument", file=sys.stderr)
            continue
        ok &= run([pyi, "-r", "json", "-o", str(OUT / f"pyinstrument_{variant}.json"), *args])
        if variant == "before":
            ok &= run(
                [
                    pyi,
                    "-i",
                    "0.01",
                    "-r",
                    "pyisession",
                    "-o",
                    str(OUT / "pyinstrument_before.pyisession"),
                    *args,
                    "--requests",
                    "40",
                ]
            )
    ok &= extra_tools(py, wl)
    ok &= two_classes()
    for p in sorted(OUT.iterdir()):
        print(f"{p.stat().st_size:>9}  {p.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
