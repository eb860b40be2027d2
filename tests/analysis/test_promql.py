"""histogram_quantile against Prometheus' own promql/promqltest/testdata/histograms.test (corpus)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perfnb.analysis.promql import bucket_quantile, counter_increase, histogram_quantile

_DUR = {"s": 1, "m": 60, "h": 3600}
_SERIES = re.compile(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(.*)$")
_LABEL = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_EXP = re.compile(
    r"^([-+]?(?:[\d.]+(?:e[-+]?\d+)?|Inf|NaN))(?:([-+])([\d.]+(?:e[-+]?\d+)?))?x(\d+)$"
)


def _dur(s: str) -> int:
    return int(s[:-1]) * _DUR[s[-1]]


def _expand(text: str) -> list[float] | None:
    out: list[float] = []
    for tok in text.split():
        if tok == "_":
            out.append(math.nan)
        elif tok.startswith("_x"):
            out += [math.nan] * int(tok[2:])
        elif m := _EXP.match(tok):
            a = float(m.group(1))
            step = float(m.group(3) or 0) * (-1 if m.group(2) == "-" else 1)
            out += [a + step * i for i in range(int(m.group(4)) + 1)]
        else:
            try:
                out.append(float(tok))
            except ValueError:
                return None
    return out


def _cases(
    text: str,
) -> list[tuple[int, float, str, dict[frozenset[tuple[str, str]], float], pd.DataFrame]]:
    series: dict[tuple[str, frozenset[tuple[str, str]]], tuple[int, list[float]]] = {}
    cases = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("clear"):
            series.clear()
        elif line.startswith("load"):
            interval = _dur(line.split()[1])
            i += 1
            while i < len(lines) and lines[i][:1] in (" ", "\t") and lines[i].strip():
                m = _SERIES.match(lines[i].strip())
                vals = _expand(m.group(3)) if m else None
                if m and vals is not None:
                    labels = frozenset(_LABEL.findall(m.group(2) or ""))
                    series[(m.group(1), labels)] = (interval, vals)
                i += 1
            continue
        elif m := re.match(
            r"^eval instant at (\d+[smh]) histogram_quantile\(([-\w.]+), *(\w+_bucket)\)$", line
        ):
            t, phi, name = _dur(m.group(1)), float(m.group(2)), m.group(3)
            expected: dict[frozenset[tuple[str, str]], float] = {}
            i += 1
            while i < len(lines) and lines[i][:1] in (" ", "\t") and lines[i].strip():
                body = lines[i].strip()
                if not body.startswith("expect"):
                    lab, _, val = body.rpartition(" ")
                    expected[frozenset(_LABEL.findall(lab))] = float(val)
                i += 1
            rows = []
            for (sname, labels), (interval, vals) in series.items():
                if sname != name:
                    continue
                idx = t // interval
                if idx < len(vals) and not math.isnan(vals[idx]):
                    d = dict(labels)
                    rows.append({"timestamp": t, "metric": sname, "value": vals[idx], **d})
            cases.append((i, phi, name, expected, pd.DataFrame(rows)))
            continue
        i += 1
    return cases


def _load(corpus: Path) -> list:
    return _cases((corpus / "metrics" / "promql" / "histograms.test").read_text())


def test_histograms_test_expectations(corpus: Path) -> None:
    cases = _load(corpus)
    assert len(cases) >= 15
    checked = 0
    for line, phi, _name, expected, df in cases:
        res = histogram_quantile(phi, df)
        got = {}
        for rec in res.to_dict("records"):
            labels = frozenset(
                (k, str(v))
                for k, v in rec.items()
                if k not in ("timestamp", "metric", "value") and isinstance(v, str)
            )
            got[labels] = rec["value"]
        assert set(got) == set(expected), line
        for k, v in expected.items():
            if math.isnan(v):
                assert math.isnan(got[k]), (line, k)
            else:
                assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), (line, k, got[k], v)
            checked += 1
    assert checked >= 30


def test_semantics() -> None:
    inf = math.inf
    assert math.isnan(bucket_quantile(math.nan, [1, inf], [1, 2]))
    assert bucket_quantile(-0.1, [1, inf], [1, 2]) == -inf
    assert bucket_quantile(1.1, [1, inf], [1, 2]) == inf
    assert math.isnan(bucket_quantile(0.5, [1, 2], [1, 2]))  # no +Inf bucket
    assert (
        bucket_quantile(0.99, [1, 2, inf], [1, 2, 10]) == 2
    )  # falls in +Inf: highest finite bound
    assert bucket_quantile(0.5, [0.2, 0.2, inf], [1, 1, 2]) == pytest.approx(
        bucket_quantile(0.5, [0.2, inf], [2, 2])
    )
    assert bucket_quantile(0.5, [1, 2, 3, inf], [2, 1, 4, 4]) == 1.0  # 1 forced up to 2


def test_counter_increase_reset() -> None:
    assert counter_increase(np.array([5.0, 6.0, 1.0, 3.0])).tolist() == [0.0, 1.0, 1.0, 2.0]
