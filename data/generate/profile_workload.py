"""A small CPU + I/O workload profiled by ``data/generate/profiles.py`` (not part of perfnb).

``--variant before`` is the slow version; ``--variant after`` makes ``checksum`` 4x cheaper per call, calls
``render_row`` 4x as often (a call-count regression) and replaces ``legacy_lookup`` with ``indexed_lookup``
(so the diff has a removed and a new function). The number of iterations is fixed, so call counts are exact.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import threading
import time
from pathlib import Path


def checksum(data: str, rounds: int) -> int:
    """Pure-Python CPU work (own code)."""
    total = 0
    for _ in range(rounds):
        for ch in data:
            total = (total * 31 + ord(ch)) & 0xFFFFFFFF
    return total


def render_row(record: dict[str, object]) -> str:
    """Library CPU work (json)."""
    return json.dumps(record, sort_keys=True)


def parse_rows(text: str) -> list[object]:
    return [json.loads(line) for line in text.splitlines()]


def legacy_lookup(items: list[int], wanted: int) -> int:
    return sum(1 for x in items if x == wanted)


def indexed_lookup(index: dict[int, int], wanted: int) -> int:
    return index.get(wanted, 0)


def write_and_read(rows: list[str]) -> int:
    """File I/O."""
    with tempfile.NamedTemporaryFile("w+", delete=False, suffix=".jsonl") as fh:
        name = fh.name
        for row in rows:
            fh.write(row + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    try:
        with Path(name).open(encoding="utf-8") as fh:
            return len(parse_rows(fh.read()))
    finally:
        Path(name).unlink()


def wait_for_peer(timeout_s: float) -> None:
    """Socket wait (select/poll-like): receive with a timeout from a peer that answers late."""
    a, b = socket.socketpair()
    try:
        timer = threading.Timer(timeout_s, lambda: b.send(b"x"))
        timer.start()
        a.settimeout(1.0)
        a.recv(1)
        timer.join()
    finally:
        a.close()
        b.close()


def contended_lock(hold_s: float) -> None:
    """Lock wait: another thread holds the lock for *hold_s*."""
    lock = threading.Lock()
    lock.acquire()
    releaser = threading.Timer(hold_s, lock.release)
    releaser.start()
    with lock:
        pass
    releaser.join()


def handle_request(i: int, variant: str, items: list[int], index: dict[int, int]) -> int:
    rounds = 80 if variant == "before" else 20
    text = f"order-{i:06d}" * 30
    out = checksum(text, rounds)
    repeats = 40 if variant == "before" else 160
    rows = [render_row({"id": i, "n": n, "text": text}) for n in range(repeats)]
    out += write_and_read(rows)
    if variant == "before":
        out += legacy_lookup(items, i)
    else:
        out += indexed_lookup(index, i)
    if i % 5 == 0:
        time.sleep(0.01)
    if i % 10 == 0:
        wait_for_peer(0.01)
        contended_lock(0.005)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=("before", "after"), default="before")
    parser.add_argument("--requests", type=int, default=120)
    args = parser.parse_args()
    items = list(range(20000))
    index = {x: 1 for x in items}
    total = 0
    for i in range(args.requests):
        total += handle_request(i, args.variant, items, index)
    print(total)


if __name__ == "__main__":
    main()
