"""Findings, their severities, the rule registry and thresholds, and :func:`check`.

A *finding* is what a rule saw in the data: a stable rule code and slug (ruff style, ``PG001
seq-scan-filter``), a severity, a one-line title, where it is (a function, a plan node, an endpoint), the
evidence (named values with units in their names) and a recommendation.

Rules are plain functions registered with :func:`rule`. Each rule says which kind of object it applies to
(``Profile``, ``Plan``, ``LoadTest``, a metrics frame …) and which thresholds it reads. Thresholds have
documented defaults (the performance standard's: Apdex 0.8, p95 1 s, error ratio 5 %, cache hit ratio 80 %,
CPU 70/85 %, memory 80 %) that a user overrides with keyword arguments to :func:`check` or with a TOML or
YAML file (:func:`load_thresholds`). An unknown threshold name is a :class:`~perfnb.errors.ConfigError`, so
a typo never silently keeps a default.

Entry points: :func:`check`, :class:`Finding`, :class:`Severity`, :class:`Findings`, :func:`rule`,
:data:`THRESHOLDS`, :func:`rules`.
"""

from __future__ import annotations

import enum
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd

from perfnb.errors import ConfigError

__all__ = [
    "THRESHOLDS",
    "Finding",
    "Findings",
    "Rule",
    "Severity",
    "Threshold",
    "Thresholds",
    "check",
    "load_thresholds",
    "rule",
    "rules",
    "threshold",
]


class Severity(enum.IntEnum):
    """Ordered severity: ``info < warning < critical`` (the severities alerting rules use)."""

    info = 1
    warning = 2
    critical = 3

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, value: str | int | Severity) -> Severity:
        """``"warning"`` → :attr:`warning`; raises :class:`~perfnb.errors.ConfigError` otherwise.

        Examples
        --------
        >>> Severity.parse("Critical") > Severity.parse("info")
        True
        """
        if isinstance(value, Severity):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[str(value).strip().lower()]
        except KeyError:
            raise ConfigError(
                f"unknown severity {value!r}; expected one of {', '.join(s.name for s in cls)}"
            ) from None


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """What one rule found in one place.

    Parameters
    ----------
    rule
        Stable code (``"PG001"``); codes are never reused.
    name
        Rule slug (``"seq-scan-filter"``).
    severity
        How bad it is.
    title
        One line, readable on its own.
    location
        Where: a function, a plan node path, an endpoint, a metric and its labels.
    evidence
        Named values that justify the finding, units in the names (``p95_s``, ``self_ratio``); a small
        DataFrame may be among them.
    recommendation
        What to do, concretely.
    run
        The run this belongs to, if any.
    """

    rule: str
    name: str
    severity: Severity
    title: str
    location: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    recommendation: str = ""
    run: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (numpy scalars become Python numbers, frames become records)."""
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity.name,
            "title": self.title,
            "location": self.location,
            "evidence": {str(k): _jsonable(v) for k, v in self.evidence.items()},
            "recommendation": self.recommendation,
            "run": self.run,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict` (frames come back as lists of records)."""
        return cls(
            rule=str(data["rule"]),
            name=str(data["name"]),
            severity=Severity.parse(data["severity"]),
            title=str(data["title"]),
            location=str(data.get("location", "")),
            evidence=dict(data.get("evidence", {})),
            recommendation=str(data.get("recommendation", "")),
            run=str(data.get("run", "")),
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return [{str(k): _jsonable(v) for k, v in row.items()} for row in value.to_dict("records")]
    if isinstance(value, pd.Series):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class Findings(Sequence[Finding]):
    """An ordered collection of findings, most severe first.

    Examples
    --------
    >>> f = Findings([Finding(rule="X001", name="demo", severity=Severity.warning, title="t")])
    >>> f.max_severity, len(f)
    (<Severity.warning: 2>, 1)
    """

    def __init__(self, items: Iterable[Finding] = ()) -> None:
        self._items = sorted(items, key=lambda f: (-int(f.severity), f.rule, f.location))

    @overload
    def __getitem__(self, index: int) -> Finding: ...
    @overload
    def __getitem__(self, index: slice) -> Findings: ...
    def __getitem__(self, index: int | slice) -> Finding | Findings:
        if isinstance(index, slice):
            return Findings(self._items[index])
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._items)

    def __add__(self, other: Iterable[Finding]) -> Findings:
        return Findings([*self._items, *other])

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        return f"<Findings: {len(self)} ({counts or 'none'})>"

    @property
    def max_severity(self) -> Severity | None:
        """The highest severity present, or ``None`` when there are no findings."""
        return max((f.severity for f in self._items), default=None)

    def counts(self) -> dict[str, int]:
        """Number of findings per severity name, most severe first."""
        return {
            s.name: sum(f.severity == s for f in self._items)
            for s in sorted(Severity, reverse=True)
        }

    def at_least(self, severity: str | Severity) -> Findings:
        """The findings at or above *severity*."""
        level = Severity.parse(severity)
        return Findings(f for f in self._items if f.severity >= level)

    def by_rule(self, rule: str) -> Findings:
        """The findings of one rule, by code (``"PG001"``) or slug (``"seq-scan-filter"``)."""
        return Findings(f for f in self._items if rule in (f.rule, f.name))

    def collapse(self) -> Findings:
        """Merge repeats: findings with the same rule, location, run and recommendation become one.

        A log of 100 plans of the same slow query yields one finding, not 100: the most severe of the
        repeats is kept (the first of equals), with ``occurrences`` added to its evidence.
        """
        groups: dict[tuple[str, str, str, str], list[Finding]] = {}
        for f in self._items:
            groups.setdefault((f.rule, f.location, f.run, f.recommendation), []).append(f)
        out = []
        for repeats in groups.values():
            keep = max(repeats, key=lambda f: int(f.severity))
            if len(repeats) > 1:
                evidence = {**dict(keep.evidence), "occurrences": len(repeats)}
                keep = Finding(
                    rule=keep.rule,
                    name=keep.name,
                    severity=keep.severity,
                    title=f"{keep.title} (×{len(repeats)})",
                    location=keep.location,
                    evidence=evidence,
                    recommendation=keep.recommendation,
                    run=keep.run,
                )
            out.append(keep)
        return Findings(out)

    def to_frame(self) -> pd.DataFrame:
        """One row per finding, conforming to :data:`perfnb.schema.FINDINGS`."""
        from perfnb.schema import FINDINGS

        rows = [
            {
                "rule": f.rule,
                "name": f.name,
                "severity": f.severity.name,
                "title": f.title,
                "location": f.location,
                "recommendation": f.recommendation,
                "run": f.run,
                "evidence": dict(f.evidence),
            }
            for f in self._items
        ]
        df = pd.DataFrame(rows, columns=FINDINGS.names)
        df = FINDINGS.conform(df)
        df["severity"] = pd.Categorical(
            df["severity"].astype("object"), categories=[s.name for s in Severity], ordered=True
        )
        return df

    def to_dict(self) -> dict[str, Any]:
        """``{"max_severity", "counts", "findings"}``, JSON-ready."""
        top = self.max_severity
        return {
            "max_severity": top.name if top is not None else None,
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self._items],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int = 2) -> str:
        """Serialise to JSON; also write it to *path* if given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike[str]) -> Findings:
        """Read what :meth:`to_json` wrote (a JSON string or a path)."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        data = json.loads(text)
        return cls(Finding.from_dict(d) for d in data.get("findings", []))

    # _repr_html_ (the findings table in JupyterLab) is bound from above by perfnb._bind: the table is
    # the report's (perfnb.report.html.findings_table).


# --------------------------------------------------------------------------------------------------
# thresholds


@dataclass(frozen=True)
class Threshold:
    """A named, documented threshold with its default."""

    name: str
    default: float
    doc: str
    unit: str = ""


#: Every registered threshold, by name. Defaults follow the performance standard.
THRESHOLDS: dict[str, Threshold] = {}


def threshold(name: str, default: float, doc: str, *, unit: str = "") -> Threshold:
    """Declare a threshold (source modules call this at import); redeclaring with the same default is fine."""
    t = Threshold(name, float(default), doc, unit)
    old = THRESHOLDS.get(name)
    if old is not None and old.default != t.default:
        raise ValueError(f"threshold {name!r} declared twice with different defaults")
    THRESHOLDS[name] = t
    return t


# The performance standard's thresholds (shared/standard/performance-standard.md).
threshold("apdex_t_s", 0.5, "Apdex satisfied threshold T; tolerating is up to 4T.", unit="s")
threshold("apdex_min", 0.8, "Apdex below this is a finding (standard: Apdex > 0.8).")
threshold(
    "p95_max_s", 1.0, "95th percentile response time objective (standard: p95 < 1 s).", unit="s"
)
threshold(
    "error_ratio_max", 0.05, "Error ratio above this is a finding (standard: 5 %).", unit="ratio"
)
threshold("cache_hit_min_ratio", 0.8, "Cache hit ratio below this is a bottleneck.", unit="ratio")
threshold("cpu_warning_ratio", 0.70, "CPU utilisation at which to warn.", unit="ratio")
threshold("cpu_critical_ratio", 0.85, "CPU utilisation that is critical.", unit="ratio")
threshold("memory_max_ratio", 0.80, "Memory utilisation above this is a finding.", unit="ratio")


class Thresholds(Mapping[str, float]):
    """The thresholds in force for one :func:`check` call: defaults overlaid by the user's values."""

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        _load_rule_modules()  # rule modules declare their thresholds at import
        values = {name: t.default for name, t in THRESHOLDS.items()}
        for key, value in (overrides or {}).items():
            if key not in THRESHOLDS:
                near = _near(key, THRESHOLDS)
                raise ConfigError(
                    f"unknown threshold {key!r}" + (f"; did you mean {near!r}?" if near else "")
                )
            try:
                values[key] = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"threshold {key!r} must be a number, got {value!r}") from None
        self._values = values

    def __getitem__(self, key: str) -> float:
        try:
            return self._values[key]
        except KeyError:
            raise ConfigError(f"unknown threshold {key!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _near(key: str, names: Iterable[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, list(names), n=1)
    return match[0] if match else None


def load_thresholds(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read threshold overrides from a TOML or YAML file.

    The file holds a flat mapping (``p95_max_s = 0.8``) or a ``[thresholds]`` table of one.

    Raises
    ------
    ConfigError
        If the file cannot be read or parsed, or is not a mapping of names to numbers.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{p}: cannot read thresholds file: {err.strerror}") from err
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as err:  # tomllib.TOMLDecodeError, yaml.YAMLError
        raise ConfigError(f"{p}: not valid {p.suffix.lstrip('.') or 'YAML'}: {err}") from err
    if isinstance(data, dict) and isinstance(data.get("thresholds"), dict):
        data = data["thresholds"]
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of threshold names to numbers")
    Thresholds(data)  # validates names and values
    return {str(k): float(v) for k, v in data.items()}


# --------------------------------------------------------------------------------------------------
# rules

RuleFunc = Callable[..., Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A registered rule: code, slug, default severity, what it applies to, the thresholds it reads."""

    code: str
    name: str
    severity: Severity
    applies_to: tuple[type, ...]
    func: RuleFunc
    thresholds: tuple[str, ...] = ()
    direction: str = ""

    @property
    def doc(self) -> str:
        """The rule's documentation (its docstring)."""
        return (self.func.__doc__ or "").strip()

    def finding(
        self,
        *,
        title: str,
        severity: Severity | None = None,
        location: str = "",
        evidence: Mapping[str, Any] | None = None,
        recommendation: str = "",
        run: str = "",
    ) -> Finding:
        """Build a finding of this rule (code and slug filled in, default severity unless given)."""
        return Finding(
            rule=self.code,
            name=self.name,
            severity=severity if severity is not None else self.severity,
            title=title,
            location=location,
            evidence=dict(evidence or {}),
            recommendation=recommendation,
            run=run,
        )


_RULES: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    *,
    applies_to: type | tuple[type, ...],
    severity: Severity = Severity.warning,
    thresholds: Sequence[str] = (),
    direction: str = "",
) -> Callable[[RuleFunc], Rule]:
    """Register a rule. The decorated function is called as ``func(rule, obj, thresholds)``.

    Parameters
    ----------
    code, name
        Stable code and slug; both must be unique.
    applies_to
        The type(s) of object the rule checks.
    severity
        Default severity of its findings.
    thresholds
        Names of the thresholds it reads (declared with :func:`threshold`).
    direction
        Which way is bad, for metric rules (``"up"`` for latency, ``"down"`` for Apdex).
    """
    types = applies_to if isinstance(applies_to, tuple) else (applies_to,)

    def register(func: RuleFunc) -> Rule:
        for t in thresholds:
            if t not in THRESHOLDS:
                raise ValueError(f"rule {code}: threshold {t!r} is not declared")
        for other in _RULES.values():
            if other.name == name and other.code != code:
                raise ValueError(f"rule slug {name!r} used by {other.code} and {code}")
        if code in _RULES and _RULES[code].func.__qualname__ != func.__qualname__:
            raise ValueError(f"rule code {code} registered twice")
        r = Rule(code, name, severity, types, func, tuple(thresholds), direction)
        _RULES[code] = r
        return r

    return register


def rules(obj: object | None = None) -> list[Rule]:
    """Every registered rule, or those that apply to *obj*, ordered by code."""
    _load_rule_modules()
    found = [r for r in _RULES.values() if obj is None or isinstance(obj, r.applies_to)]
    return sorted(found, key=lambda r: r.code)


def _load_rule_modules() -> None:
    import perfnb.rules  # noqa: F401 - registers every rule module


def check(
    obj: object,
    *,
    thresholds_file: str | os.PathLike[str] | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    collapse: bool = True,
    **thresholds: float,
) -> Findings:
    """Run every rule that applies to *obj* and return what they found.

    Parameters
    ----------
    obj
        A loaded object: a profile, a plan, a load test, a metrics frame … (or a list of them).
    thresholds_file
        TOML or YAML file of threshold overrides; keyword arguments win over it.
    select, ignore
        Rule codes or slugs to run only / to skip.
    collapse
        For a list of objects, merge repeated findings (:meth:`Findings.collapse`): a log of many plans
        of one query reports each problem once, with its number of occurrences.
    **thresholds
        Threshold overrides by name (see :data:`THRESHOLDS`), e.g. ``p95_max_s=0.8``.

    Returns
    -------
    Findings
        Most severe first.

    Raises
    ------
    ConfigError
        On an unknown threshold or rule name.
    SchemaError
        If *obj* is not a kind of object any rule knows.

    Examples
    --------
    >>> perfnb_findings = check([])  # an empty list of objects has nothing to find
    >>> len(perfnb_findings)
    0
    """
    _load_rule_modules()  # rule modules declare their own thresholds; they must exist before validation
    overrides: dict[str, Any] = {}
    if thresholds_file is not None:
        overrides.update(load_thresholds(thresholds_file))
    overrides.update(thresholds)
    th = Thresholds(overrides)
    if isinstance(obj, list | tuple):
        out: list[Finding] = []
        for item in obj:
            out.extend(check(item, select=select, ignore=ignore, **overrides))
        return Findings(out).collapse() if collapse else Findings(out)
    applicable = rules(obj)
    known = {r.code for r in _RULES.values()} | {r.name for r in _RULES.values()}
    wanted = set(select) if select is not None else None
    skip = set(ignore)
    for name in (wanted or set()) | skip:
        if name not in known:
            raise ConfigError(f"unknown rule {name!r}")
    if not applicable and isinstance(obj, pd.DataFrame):
        from perfnb.io._common import model_of_frame

        model = model_of_frame(obj)  # a reader's bare frame: check it as perfnb.read's model
        if model is not None:
            return check(model, select=select, ignore=ignore, **overrides)
    if not applicable:
        from perfnb.model._base import ModelMixin

        if isinstance(obj, ModelMixin):  # a perfnb model no rule looks at yet: nothing found
            return Findings()
        from perfnb.errors import SchemaError

        raise SchemaError(
            f"no rule applies to a {type(obj).__name__}",
            expected="an object returned by perfnb.read or a perfnb reader (Profile, Plan, LoadTest, "
            "Metrics …)",
        )
    found: list[Finding] = []
    for r in applicable:
        if wanted is not None and not ({r.code, r.name} & wanted):
            continue
        if {r.code, r.name} & skip:
            continue
        found.extend(r.func(r, obj, th))
    return Findings(found)
