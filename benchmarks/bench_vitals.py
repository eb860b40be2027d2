"""Time perfnb's Lighthouse and Redis INFO readers against the plain alternatives.

Lighthouse: ``read_lighthouse`` (JSON parse + 3 tables + score recomputation) vs ``json.load`` of the same
reports only. Redis INFO: ``read_redis_info`` vs redis-py style ``parse_info`` written inline (a dict per
snapshot, no frame).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from perfnb.io.lighthouse import read_lighthouse
from perfnb.io.redis import read_redis_info

ROOT = Path(__file__).resolve().parents[1]
VITALS = ROOT / "data" / "samples" / "vitals"
INFO = ROOT / "data" / "samples" / "cache" / "redis_info.txt"


def best(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def plain_lhr():
    for p in sorted(VITALS.glob("lhr_*.json")):
        json.loads(p.read_text())


def parse_info(text):
    out, snaps = {}, []
    for line in text.splitlines():
        if line.startswith("# Server") and out:
            snaps.append(out)
            out = {}
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition(":")
        if "=" in v and "," in v:
            out[k] = dict(item.rsplit("=", 1) for item in v.split(","))
        else:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    snaps.append(out)
    return snaps


for name, ours, theirs in [
    ("lighthouse (4 reports)", lambda: read_lighthouse(VITALS), plain_lhr),
    (
        "redis INFO (5 snapshots)",
        lambda: read_redis_info(INFO),
        lambda: parse_info(INFO.read_text()),
    ),
]:
    a, b = best(ours), best(theirs)
    print(f"{name}: perfnb {a * 1000:.1f} ms, alternative {b * 1000:.1f} ms, ratio {a / b:.1f}x")
