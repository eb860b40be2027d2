""":class:`History`: record runs and query measurements, series and steps across runs.

Recording hashes the sources first: a run whose fingerprint (system, env and the sources' content hashes)
is already stored is a no-op, decided before anything is read, and a concurrent duplicate loses the race on
the unique fingerprint and becomes a no-op too. Everything of one run is written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from perfnb.errors import InputError
from perfnb.findings import Finding, Findings, Thresholds, check, rules
from perfnb.history import db
from perfnb.history.measure import (
    Measurement,
    SourceHash,
    hash_source,
    measure,
    measure_findings,
    read_source,
    start_time,
)
from perfnb.history.series import HistorySeries

__all__ = ["COMMIT_ENV_VARS", "DEFAULT_FILE", "History", "RecordResult", "commit_from_env"]

#: The SQLite file of a history, inside the output folder.
DEFAULT_FILE = "history.sqlite"

#: Environment variables CI systems set to the commit being built, in the order they are tried.
COMMIT_ENV_VARS = (
    "GITHUB_SHA",
    "CI_COMMIT_SHA",
    "BUILDKITE_COMMIT",
    "CIRCLE_SHA1",
    "TRAVIS_COMMIT",
    "BITBUCKET_COMMIT",
    "GIT_COMMIT",
)

_COLUMNS = [
    "run_id",
    "system",
    "env",
    "commit_id",
    "started_at",
    "report",
    "source",
    "subject",
    "metric",
    "value",
    "unit",
]


def commit_from_env() -> str:
    """The commit the CI is building (``GITHUB_SHA``, ``CI_COMMIT_SHA`` …), or ``""``."""
    for name in COMMIT_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return ""


@dataclass(frozen=True)
class RecordResult:
    """What :meth:`History.record` did: the run's id, whether it was new, how many numbers it stored."""

    run_id: int
    created: bool
    measurements: int
    started_at: pd.Timestamp

    def __str__(self) -> str:
        if not self.created:
            return f"run #{self.run_id}: already recorded (same evidence), nothing added"
        return f"run #{self.run_id}: {self.measurements} measurement(s), started {self.started_at}"


def _utc(value: Any) -> dt.datetime:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.floor("us").to_pydatetime()


def _fingerprint(system: str, env: str, hashes: Iterable[SourceHash], extra: str = "") -> str:
    h = hashlib.sha256(f"{system}\0{env}\0{extra}\0".encode())
    for s in sorted(hashes, key=lambda s: (s.kind, s.sha256)):
        h.update(f"{s.kind}:{s.sha256}\0".encode())
    return h.hexdigest()


class History:
    """A history of runs in SQLite (default) or PostgreSQL.

    Parameters
    ----------
    target
        A SQLite file path or a SQLAlchemy URL (see :func:`perfnb.history.db.connect`).
    create
        Create the database when it does not exist yet.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> h = History(pathlib.Path(tempfile.mkdtemp()) / "history.sqlite")
    >>> h.record_measurements([Measurement("loadtest", "Total", "p95_s", 0.2, "s")], system="shop").created
    True
    >>> h.measurements()[["subject", "metric", "value"]].to_dict("records")
    [{'subject': 'Total', 'metric': 'p95_s', 'value': 0.2}]
    >>> h.close()
    """

    def __init__(self, target: str | os.PathLike[str], *, create: bool = True) -> None:
        self.engine = db.connect(target, create=create)
        self.where = (
            self.engine.url.render_as_string(hide_password=True)
            if "://" in os.fspath(target)
            else os.fspath(target)
        )

    @classmethod
    def open(
        cls,
        output_dir: str | os.PathLike[str] = "reports",
        *,
        url_env: str | None = None,
        create: bool = True,
    ) -> History:
        """The history of *output_dir* (``history.sqlite``), or the database whose URL is in ``$url_env``."""
        if url_env:
            return cls(db.url_from_env(url_env), create=create)
        return cls(Path(output_dir) / DEFAULT_FILE, create=create)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<History {self.where}>"

    # -------------------------------------------------------------------------------------------- record

    def _existing(self, fingerprint: str) -> int | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(db.runs.c.id).where(db.runs.c.fingerprint == fingerprint)
            ).first()
        return int(row[0]) if row else None

    def record(
        self,
        sources: Mapping[str, str | os.PathLike[str]],
        *,
        system: str = "",
        env: str = "",
        commit: str | None = None,
        started_at: Any = None,
        report: str = "",
        findings: Iterable[Any] | None = None,
        objects: Mapping[str, Any] | None = None,
    ) -> RecordResult:
        """Record one run from its source files: hash, read, measure, store (a no-op if already stored).

        Parameters
        ----------
        sources
            Source kind (``loadtest``, ``profile``, ``plans``, ``statements``, ``metrics``,
            ``lighthouse``, ``cache``, ``rum``) → file, folder, glob or Locust prefix.
        system, env
            Tags the run's series are grouped by.
        commit
            Commit or version; default from the CI's environment (:func:`commit_from_env`).
        started_at
            When the run happened; default the evidence's own start time, else now.
        report
            Where the run's report is (a path relative to the history's folder, or a URL).
        findings
            The run's findings; default: :func:`perfnb.check` on each source.
        objects
            Sources already loaded, by kind (saves reading them again).
        """
        if not sources:
            raise InputError("nothing to record: no source given", expected="at least one source")
        hashes = [hash_source(kind, path) for kind, path in sources.items()]
        fingerprint = _fingerprint(system, env, hashes)
        existing = self._existing(fingerprint)
        if existing is not None:
            return RecordResult(existing, False, 0, pd.Timestamp(0, tz="UTC"))
        loaded = dict(objects or {})
        for kind, path in sources.items():
            if kind not in loaded:
                loaded[kind] = read_source(kind, path)
        rows: list[Measurement] = []
        starts = []
        for kind, obj in loaded.items():
            rows.extend(measure(kind, obj))
            t = start_time(kind, obj)
            if t is not None:
                starts.append(t)
        if findings is None:
            found = Findings()
            for obj in loaded.values():
                if isinstance(obj, list) or rules(obj):
                    found = found + check(obj)
            findings = found
        rows.extend(measure_findings(findings))
        when = started_at if started_at is not None else (min(starts) if starts else None)
        return self._insert(rows, hashes, fingerprint, system, env, commit, when, report)

    def record_measurements(
        self,
        rows: Iterable[Measurement | Mapping[str, Any]],
        *,
        system: str = "",
        env: str = "",
        commit: str | None = None,
        started_at: Any = None,
        report: str = "",
        key: str | None = None,
    ) -> RecordResult:
        """Record a run given as measurements (no source files); *key* identifies it for deduplication.

        Without *key*, the measurements themselves (and the start time) are the run's identity.
        """
        items = [
            r if isinstance(r, Measurement) else Measurement(**{k: r[k] for k in r}) for r in rows
        ]
        ident = key or repr(sorted((m.source, m.subject, m.metric, m.value) for m in items)) + str(
            started_at
        )
        fingerprint = _fingerprint(system, env, [], extra=ident)
        existing = self._existing(fingerprint)
        if existing is not None:
            return RecordResult(existing, False, 0, pd.Timestamp(0, tz="UTC"))
        return self._insert(items, [], fingerprint, system, env, commit, started_at, report)

    def _insert(
        self,
        rows: Sequence[Measurement],
        hashes: Sequence[SourceHash],
        fingerprint: str,
        system: str,
        env: str,
        commit: str | None,
        started_at: Any,
        report: str,
    ) -> RecordResult:
        now = dt.datetime.now(dt.timezone.utc)
        when = _utc(started_at) if started_at is not None else now
        try:
            with self.engine.begin() as conn:
                pk = conn.execute(
                    db.runs.insert().values(
                        system=system,
                        env=env,
                        commit_id=commit if commit is not None else commit_from_env(),
                        started_at=when,
                        recorded_at=now,
                        report=report,
                        fingerprint=fingerprint,
                    )
                ).inserted_primary_key
                if pk is None:  # pragma: no cover - every supported dialect returns it
                    raise RuntimeError("the database did not return the new run's id")
                run_id = pk[0]
                if hashes:
                    conn.execute(
                        db.sources.insert(),
                        [
                            {
                                "run_id": run_id,
                                "kind": h.kind,
                                "path": h.path,
                                "sha256": h.sha256,
                                "size_bytes": h.size_bytes,
                            }
                            for h in hashes
                        ],
                    )
                if rows:
                    conn.execute(
                        db.measurements.insert(),
                        [
                            {
                                "run_id": run_id,
                                "source": m.source,
                                "subject": m.subject[:500],
                                "metric": m.metric,
                                "value": float(m.value),
                                "unit": m.unit,
                            }
                            for m in rows
                        ],
                    )
        except sa.exc.IntegrityError:
            existing = self._existing(fingerprint)
            if existing is None:
                raise
            return RecordResult(existing, False, 0, pd.Timestamp(when))
        return RecordResult(int(run_id), True, len(rows), pd.Timestamp(when))

    # -------------------------------------------------------------------------------------------- query

    def runs(self, *, system: str | None = None, env: str | None = None) -> pd.DataFrame:
        """One row per run: ``run_id, system, env, commit_id, started_at, recorded_at, report``."""
        r = db.runs.c
        q = sa.select(
            r.id.label("run_id"),
            r.system,
            r.env,
            r.commit_id,
            r.started_at,
            r.recorded_at,
            r.report,
        ).order_by(r.started_at, r.id)
        if system is not None:
            q = q.where(r.system == system)
        if env is not None:
            q = q.where(r.env == env)
        with self.engine.connect() as conn:
            df = pd.DataFrame(conn.execute(q).all(), columns=list(q.selected_columns.keys()))
        for col in ("started_at", "recorded_at"):
            df[col] = pd.to_datetime(df[col], utc=True)
        return df

    def sources(self, run_id: int) -> pd.DataFrame:
        """The sources of one run with their content hashes."""
        s = db.sources.c
        q = sa.select(s.kind, s.path, s.sha256, s.size_bytes).where(s.run_id == run_id)
        with self.engine.connect() as conn:
            return pd.DataFrame(
                conn.execute(q).all(), columns=["kind", "path", "sha256", "size_bytes"]
            )

    def measurements(
        self,
        *,
        system: str | None = None,
        env: str | None = None,
        subject: str | None = None,
        metric: str | None = None,
        source: str | None = None,
        last_runs: int | None = None,
    ) -> pd.DataFrame:
        """Tidy measurements joined with their runs, oldest run first (columns: see ``perfnb history``).

        *last_runs* keeps the newest N runs matching *system* and *env* (the index shows 60).
        """
        r, m = db.runs.c, db.measurements.c
        q = (
            sa.select(
                r.id.label("run_id"),
                r.system,
                r.env,
                r.commit_id,
                r.started_at,
                r.report,
                m.source,
                m.subject,
                m.metric,
                m.value,
                m.unit,
            )
            .select_from(db.measurements.join(db.runs, m.run_id == r.id))
            .order_by(r.started_at, r.id, m.id)
        )
        for col, value in (
            (r.system, system),
            (r.env, env),
            (m.subject, subject),
            (m.metric, metric),
            (m.source, source),
        ):
            if value is not None:
                q = q.where(col == value)
        if last_runs is not None:
            newest = sa.select(r.id).order_by(r.started_at.desc(), r.id.desc()).limit(last_runs)
            if system is not None:
                newest = newest.where(r.system == system)
            if env is not None:
                newest = newest.where(r.env == env)
            q = q.where(m.run_id.in_(newest.scalar_subquery()))
        with self.engine.connect() as conn:
            df = pd.DataFrame(conn.execute(q).all(), columns=_COLUMNS)
        df["started_at"] = pd.to_datetime(df["started_at"], utc=True)
        df["value"] = df["value"].astype("float64")
        return df

    def series(
        self,
        *,
        system: str | None = None,
        env: str | None = None,
        subject: str | None = None,
        metric: str | None = None,
        source: str | None = None,
        last_runs: int | None = None,
    ) -> list[HistorySeries]:
        """Every ``(system, env, subject, metric)`` series matching the filters."""
        df = self.measurements(
            system=system,
            env=env,
            subject=subject,
            metric=metric,
            source=source,
            last_runs=last_runs,
        )
        out = []
        keys = ["system", "env", "source", "subject", "metric"]
        for key, part in df.groupby(keys, sort=True, observed=True):
            sys_, env_, src, subj, met = (str(k) for k in key)
            runs = part[["run_id", "started_at", "commit_id", "report", "value"]].reset_index(
                drop=True
            )
            out.append(HistorySeries(sys_, env_, subj, met, str(part["unit"].iloc[0]), src, runs))
        return out

    def steps(self, **filters: Any) -> pd.DataFrame:
        """The steps of every matching series (identity columns + change points).

        Keyword arguments filter the series (as :meth:`series`) or override ``history_max_pvalue`` and
        ``history_min_runs``.
        """
        names = {"system", "env", "subject", "metric", "source", "last_runs"}
        th = Thresholds({k: v for k, v in filters.items() if k not in names})
        frames = []
        for s in self.series(**{k: v for k, v in filters.items() if k in names}):
            if not s.direction:
                continue
            st = s.steps(max_pvalue=th["history_max_pvalue"], min_runs=int(th["history_min_runs"]))
            if st.empty:
                continue
            st.insert(0, "metric", s.metric)
            st.insert(0, "subject", s.subject)
            st.insert(0, "env", s.env)
            st.insert(0, "system", s.system)
            st["description"] = [s.describe_step(row) for _, row in st.iterrows()]
            frames.append(st)
        if not frames:
            return pd.DataFrame(
                columns=["system", "env", "subject", "metric", "run_id", "kind", "description"]
            )
        return pd.concat(frames, ignore_index=True)

    def check(self, **filters: Any) -> Findings:
        """Run the history rules (``history-regression``) on every matching series.

        Keyword arguments ``system``, ``env``, ``subject``, ``metric`` filter the series; any other is a
        threshold override (``history_regression_min_ratio=0.2``). The findings of one subject whose
        steps began in the same run are merged into one (p95 first), the other metrics listed in its
        evidence as ``also``.
        """
        names = {"system", "env", "subject", "metric", "source", "last_runs"}
        sel = {k: v for k, v in filters.items() if k in names}
        th = {k: v for k, v in filters.items() if k not in names}
        groups: dict[tuple[Any, ...], list[Finding]] = {}
        for s in self.series(**sel):
            if not s.direction:
                continue
            for f in check(s, **th):
                ev = f.evidence
                key = (
                    f.rule,
                    ev.get("system"),
                    ev.get("env"),
                    ev.get("subject"),
                    ev.get("step_run_id"),
                )
                groups.setdefault(key, []).append(f)
        out = []
        for found in groups.values():
            found.sort(key=lambda f: _PRIORITY.get(str(f.evidence.get("metric")), len(_PRIORITY)))
            keep = found[0]
            if len(found) > 1:
                also = ", ".join(
                    f"{f.evidence['metric']} {float(f.evidence['change_ratio']):+.0%}"
                    for f in found[1:]
                )
                keep = Finding(
                    rule=keep.rule,
                    name=keep.name,
                    severity=max(f.severity for f in found),
                    title=f"{keep.title} (also {also})",
                    location=keep.location,
                    evidence={**dict(keep.evidence), "also": also},
                    recommendation=keep.recommendation,
                    run=keep.run,
                )
            out.append(keep)
        return Findings(out)


_PRIORITY = {
    m: i
    for i, m in enumerate(
        ["p95_s", "p99_s", "p90_s", "p50_s", "mean_s", "error_ratio", "throughput_per_s", "apdex"]
    )
}
