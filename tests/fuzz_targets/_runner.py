"""Run extended fuzz cases in subprocesses, each under a time limit and an address-space cap.

One worker process imports perfnb and every reader once, then forks a child per case: the child caps
its address space (``RLIMIT_AS``: what it inherited plus ``mem_mb``) and its CPU time (``RLIMIT_CPU``:
``timeout_s`` seconds, so a loaded machine does not fail a case), calls the target's reader and
``perfnb.read`` on the mutant, and reports what happened through a pipe. A child over its CPU time, or
that does not answer within ``max(60, 3 * timeout_s)`` wall seconds (blocked on a FIFO), is a hang; a
child killed by another signal counts as died.

Outcomes: ``ok`` (read), ``perfnb`` (a :class:`perfnb.errors.PerfnbError`), and the failures ``crash``
(any other exception, ``MemoryError`` included), ``hang`` and ``died``.

Full run (every case, a few minutes)::

    PYTHONPATH=. .venv/bin/python -m tests.fuzz_targets._runner [--only FORMAT] [--mutation NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tests.fuzz_targets._base import FuzzTarget, all_targets
from tests.fuzz_targets._mutants import Case, cases, materialize

ROOT = Path(__file__).resolve().parents[2]
FAILURES = ("crash", "hang", "died")


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _child(target: FuzzTarget, path: Path, mem_mb: int, timeout_s: float, wfd: int) -> None:
    import perfnb
    from perfnb.errors import PerfnbError

    cap = _vm_size() + mem_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    # CPU seconds, not wall time: the verdict must not depend on what else the machine runs
    cpu = int(timeout_s)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    result: dict[str, Any] = {"status": "ok"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fn, kw in ((target.reader, target.kwargs), (perfnb.read, {})):
                try:
                    fn(path, **kw)
                except PerfnbError as err:
                    result = {
                        "status": "perfnb",
                        "error": type(err).__name__,
                        "msg": str(err)[:300],
                    }
    except BaseException as err:
        tb = traceback.extract_tb(err.__traceback__)
        result = {
            "status": "crash",
            "error": f"{type(err).__module__}.{type(err).__name__}",
            "msg": str(err)[:300],
            "where": [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in tb[-4:]],
        }
    data = (json.dumps(result) + "\n").encode()
    os.write(wfd, data[:60_000])
    os._exit(0)


def _worker(mem_mb: int, timeout_s: float) -> None:
    import perfnb.io  # noqa: F401 - register every reader before forking

    targets = all_targets()
    for raw in sys.stdin:
        job = json.loads(raw)
        target = targets[job["target"]]
        rfd, wfd = os.pipe()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(rfd)
            try:
                _child(target, Path(job["path"]), mem_mb, timeout_s, wfd)
            finally:
                os._exit(1)
        os.close(wfd)
        chunks: list[bytes] = []
        status: dict[str, Any] | None = None
        wall = max(60.0, 3 * timeout_s)  # blocked without using CPU (a FIFO): wall-clock limit
        deadline = start + wall
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([rfd], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                status = {"status": "hang", "msg": f"no answer within {wall:g} s"}
                break
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(rfd)
        _, code, usage = os.wait4(pid, 0)
        if status is None:
            text = b"".join(chunks).decode(errors="replace").strip()
            if text:
                status = json.loads(text)
            elif os.WIFSIGNALED(code) and os.WTERMSIG(code) == signal.SIGXCPU:
                status = {"status": "hang", "msg": f"used more than {timeout_s:g} s of CPU"}
            else:
                sig = os.WTERMSIG(code) if os.WIFSIGNALED(code) else None
                status = {"status": "died", "msg": f"exit status {code}, signal {sig}"}
        status.update(
            id=job["id"],
            seconds=round(time.monotonic() - start, 3),
            cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
            maxrss_mb=round(usage.ru_maxrss / 1024, 1),
        )
        sys.stdout.write(json.dumps(status) + "\n")
        sys.stdout.flush()


def run(
    selected: Iterable[Case],
    *,
    timeout_s: float = 20.0,
    mem_mb: int = 1536,
) -> Iterator[dict[str, Any]]:
    """Run *selected* cases in a worker subprocess; yield one outcome dict per case."""
    targets = all_targets()
    todo = list(selected)
    with tempfile.TemporaryDirectory(prefix="perfnb-fuzz-") as tmp:
        jobs = []
        for i, case in enumerate(todo):
            folder = Path(tmp) / str(i)
            folder.mkdir()
            path = materialize(case, folder, targets[case.target].suffix)
            jobs.append({"id": case.id, "target": case.target, "path": str(path)})
        jobs_file = Path(tmp) / "jobs.jsonl"
        jobs_file.write_text("".join(json.dumps(j) + "\n" for j in jobs))
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        )
        with (
            jobs_file.open() as stdin,
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.fuzz_targets._runner",
                    "--worker",
                    f"--mem-mb={mem_mb}",
                    f"--timeout={timeout_s}",
                ],
                stdin=stdin,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            ) as proc,
        ):
            assert proc.stdout is not None
            seen = 0
            for line in proc.stdout:
                out = json.loads(line)
                case = todo[seen]
                out.update(format=targets[case.target].format, mutation=case.mutation)
                seen += 1
                yield out
        if seen < len(todo):
            raise RuntimeError(f"fuzz worker exited with {proc.returncode} after {seen} cases")


def full_cases(seed: int = 0) -> list[Case]:
    """Every case of the full run, over every target's present samples."""
    return cases([(t.samples, t.text) for t in all_targets()], seed=seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mem-mb", type=int, default=1536)
    ap.add_argument("--timeout", type=float, default=20.0, help="CPU seconds per case")
    ap.add_argument("--only", help="format name (e.g. k6_json)")
    ap.add_argument("--mutation", help="mutation name (e.g. numeric)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show-ok", action="store_true")
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args.mem_mb, args.timeout)
        return 0
    targets = all_targets()
    todo = [
        c
        for c in full_cases(args.seed)
        if (args.only is None or targets[c.target].format == args.only)
        and (args.mutation is None or c.mutation == args.mutation)
    ]
    counts: dict[str, int] = {}
    worst_s = worst_cpu = worst_mb = 0.0
    for out in run(todo, timeout_s=args.timeout, mem_mb=args.mem_mb):
        counts[out["status"]] = counts.get(out["status"], 0) + 1
        worst_s, worst_mb = max(worst_s, out["seconds"]), max(worst_mb, out["maxrss_mb"])
        worst_cpu = max(worst_cpu, out["cpu_s"])
        if out["status"] in FAILURES or args.show_ok:
            print(json.dumps(out), flush=True)
    print(
        f"{len(todo)} cases: {counts}; slowest {worst_s:.1f} s wall, {worst_cpu:.1f} s CPU; "
        f"peak RSS {worst_mb:.0f} MB"
    )
    return 1 if any(counts.get(k) for k in FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
