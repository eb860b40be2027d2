"""Benchmark the profile readers against the plain alternatives (prints times and ratios; no asserts).

1. ``perfnb.read_profile`` on a cProfile dump with >= 5,000 functions vs ``pstats.Stats(path)`` alone
   (target: ratio <= 2).
2. ``perfnb.read_folded`` on a 1,000,000-line folded file vs reading and splitting its lines in plain Python
   (target: ratio <= 2); and against polars (target: parity, issue 20.4) and two ``Counter``s doing the
   same per-function aggregation, with the peak RSS of each in a fresh process.

Run: ``.venv/bin/python benchmarks/bench_profiles.py``.
"""

from __future__ import annotations

import cProfile
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import perfnb

HERE = Path(__file__).resolve().parent


def _best(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def make_pstats(folder: Path, n_functions: int = 6000) -> Path:
    """Profile a program made of *n_functions* distinct functions calling each other."""
    src = ["def f0(x):\n    return x + 1\n"]
    for i in range(1, n_functions):
        src.append(
            f"def f{i}(x):\n    return f{i - 1}(x) if x % {i % 7 + 2} else f{(i * 7) % i}(x)\n"
        )
    src.append("def run():\n    s = 0\n")
    for i in range(0, n_functions, 1):
        src.append(f"    s += f{i}({i})\n")
    src.append("    return s\n")
    code = "".join(src)
    path = folder / "gen_module.py"
    path.write_text(code)
    ns: dict[str, object] = {}
    exec(compile(code, str(path), "exec"), ns)  # noqa: S102 - generated benchmark code
    prof = cProfile.Profile()
    sys.setrecursionlimit(100000)
    prof.enable()
    ns["run"]()  # type: ignore[operator]
    prof.disable()
    out = folder / "big.prof"
    prof.dump_stats(out)
    return out


def make_folded(folder: Path, lines: int = 1_000_000) -> Path:
    """Random walks over a call graph of 2,000 functions (each calls 8 others), 3-25 frames deep."""
    rng = random.Random(1)
    names = [f"func_{i} (module_{i % 50}.py:{i})" for i in range(2000)]
    callees = [[rng.randrange(len(names)) for _ in range(8)] for _ in names]
    out = folder / "big.folded.txt"
    with out.open("w") as fh:
        for _ in range(lines):
            f = rng.randrange(20)
            frames = [names[f]]
            for _ in range(rng.randrange(2, 25)):
                f = rng.choice(callees[f])
                frames.append(names[f])
            fh.write(";".join(frames))
            fh.write(f" {rng.randrange(1, 50)}\n")
    return out


def cold_read(path: Path) -> object:
    """read_profile with perfnb's key-normalisation caches cleared (no warm-cache advantage)."""
    from perfnb.io.profiles._model import normalize_file, normalize_key

    normalize_key.cache_clear()
    normalize_file.cache_clear()
    return perfnb.read_profile(path)


def plain_split(path: Path) -> int:
    n = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            n += len(stack.split(";")) + int(count)
    return n


def counter_per_function(path: Path) -> int:
    """Split-and-count: self per leaf and total once per stack, two Counters (no edges, no stacks)."""
    from collections import Counter

    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            stack, _, count = line.rpartition(" ")
            n = float(count)
            frames = stack.split(";")
            own[frames[-1]] += n
            for f in set(frames):
                total[f] += n
    return len(total)


def polars_per_function(path: Path) -> int:
    """The same per-function aggregation in polars: self per leaf, total once per (stack, function)."""
    import polars as pl

    df = pl.read_csv(
        path, has_header=False, separator="\x01", new_columns=["line"], quote_char=None
    )
    df = df.select(
        pl.col("line").str.extract(r"^(.*) [0-9.]+$", 1).alias("stack"),
        pl.col("line").str.extract(r" ([0-9.]+)$", 1).cast(pl.Float64).alias("n"),
    ).with_row_index("sid")
    df = df.with_columns(pl.col("stack").str.split(";").alias("f"))
    own = df.select(pl.col("f").list.last().alias("fn"), "n").group_by("fn").agg(pl.col("n").sum())
    ex = df.select("sid", "n", "f").explode("f").unique(["sid", "f"])
    total = ex.group_by("f").agg(pl.col("n").sum())
    return len(own) + len(total)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big = make_pstats(folder)
        n = len(pstats.Stats(str(big)).stats)  # type: ignore[attr-defined]
        ours = _best(lambda: cold_read(big))
        ref = _best(lambda: pstats.Stats(str(big)))
        print(f"pstats: {n} functions, {big.stat().st_size / 1e6:.1f} MB")
        print(f"  perfnb.read_profile {ours * 1e3:8.1f} ms")
        print(f"  pstats.Stats        {ref * 1e3:8.1f} ms")
        print(f"  ratio               {ours / ref:8.2f}  (target <= 2)")
        folded = make_folded(folder)
        ours = _best(lambda: perfnb.read_folded(folded), repeat=2)
        ref = _best(lambda: plain_split(folded), repeat=2)
        n_lines = sum(1 for _ in folded.open())
        print(f"folded: {n_lines:,} lines, {folded.stat().st_size / 1e6:.0f} MB")
        print(f"  perfnb.read_folded  {ours:8.2f} s")
        print(f"  read + split lines  {ref:8.2f} s")
        print(f"  ratio               {ours / ref:8.2f}  (target <= 2)")
        cnt = _best(lambda: counter_per_function(folded), repeat=1)
        print(f"  Counter per function {cnt:7.2f} s  (ratio {ours / cnt:.2f}x)")
        try:
            pol = _best(lambda: polars_per_function(folded), repeat=1)
            print(f"  polars per function {pol:8.2f} s  (ratio {ours / pol:.2f}x, target <= 1)")
        except ImportError:
            print("  polars not installed (dev extra)")
        rss = {k: peak_rss_mb(k, folded) for k in ("perfnb", "polars", "counter")}
        print(
            "  peak RSS, fresh process: perfnb {perfnb:.0f} MB, polars {polars:.0f} MB, "
            "Counter {counter:.0f} MB".format(**rss)
        )


def peak_rss_mb(kind: str, path: Path) -> float:
    """Peak RSS (MB) of a fresh interpreter reading *path* one way (imports included)."""
    call = {
        "perfnb": "import perfnb; perfnb.read_folded(P)",
        "polars": "import bench_profiles as b; b.polars_per_function(P)",
        "counter": "import bench_profiles as b; b.counter_per_function(P)",
    }[kind]
    code = (  # VmHWM, not ru_maxrss, which a child inherits from this large parent across exec
        f"import sys; from pathlib import Path; sys.path.insert(0, {str(HERE)!r}); "
        f"P = Path({str(path)!r}); {call}; "
        "print(next(int(x.split()[1]) / 1024 for x in open('/proc/self/status') if x.startswith('VmHWM:')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


if __name__ == "__main__":
    main()
