"""Workload for a py-spy profile in which two classes of one file share a method name (``decode``).

``JsonCodec.decode`` does about three times the work of ``CsvCodec.decode``; a reader that keys frames by
the bare name merges them into one ``decode``. Run: ``python profile_twoclasses.py [--seconds 2]``.
"""

from __future__ import annotations

import argparse
import json
import time


class CsvCodec:
    """Splits comma-separated lines into ints."""

    def decode(self, text: str) -> list[list[int]]:
        return [[int(v) for v in line.split(",")] for line in text.splitlines()]


class JsonCodec:
    """Parses JSON documents and sums their values by hand (three times the work of the CSV side)."""

    def decode(self, text: str) -> list[int]:
        out = []
        for _ in range(3):
            for doc in text.splitlines():
                total = 0
                for v in json.loads(doc)["values"]:
                    total += v * v % 7
                out.append(total)
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    a = ap.parse_args()
    csv_text = "\n".join(",".join(str(i + j) for j in range(40)) for i in range(200))
    json_text = "\n".join(json.dumps({"values": list(range(i, i + 40))}) for i in range(200))
    csv, js = CsvCodec(), JsonCodec()
    end = time.perf_counter() + a.seconds
    while time.perf_counter() < end:
        csv.decode(csv_text)
        js.decode(json_text)


if __name__ == "__main__":
    main()
