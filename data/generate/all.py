"""Regenerate every sample in data/samples/ with the real tools (``make samples``).

Each script beside this one regenerates one folder and documents what it runs; this one runs them in
turn and stops at the first failure. Several start PostgreSQL, Redis, memcached or Prometheus on loopback
ports and install npm packages (Lighthouse) into a folder of their own; see data/README.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "profiles",
    "plans",
    "loadtests",
    "locust_failing",
    "k6",
    "metrics",
    "vitals",
    "cache",
    "demo",
    "history",
]


def main() -> int:
    for name in ORDER:
        script = HERE / f"{name}.py"
        if not script.exists():
            continue
        print(f"== {script.relative_to(HERE.parent.parent)}", flush=True)
        result = subprocess.run([sys.executable, str(script)], check=False)
        if result.returncode != 0:
            print(f"{script.name} failed with exit code {result.returncode}", file=sys.stderr)
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
