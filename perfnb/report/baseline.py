"""Which baseline goes with a source: :func:`match_baseline` (``perfnb report --baseline-dir``).

A CI job keeps the previous run's outputs in one folder and passes it as ``--baseline-dir``; each source is
matched by name, in its own shape:

* a **file** ``out/run.jtl`` → ``BASELINE/run.jtl``;
* a **Locust prefix** ``out/run`` (``out/run_stats.csv`` exists) → ``BASELINE/run`` when
  ``BASELINE/run_stats.csv`` exists;
* a **folder** ``out/results`` → ``BASELINE/results``; failing that, ``BASELINE`` itself when it holds files
  of the same kinds (same suffixes, or Locust's ``_stats.csv``) — the usual "copy last run's folder" case;
* a **glob** ``out/*.jtl`` → the same pattern in ``BASELINE`` when it matches anything.

The result says what was matched and why, or why nothing was, so the report and stderr can say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["BaselineMatch", "match_baseline"]

_LOCUST = ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv")


@dataclass(frozen=True)
class BaselineMatch:
    """The baseline chosen for one source (``path`` is ``None`` when nothing matched)."""

    source: str
    path: str | None
    reason: str

    def describe(self) -> str:
        """One line for the report and stderr."""
        if self.path is None:
            return f"no baseline for {self.source}: {self.reason}"
        return f"baseline for {self.source}: {self.path} ({self.reason})"


def _is_locust_prefix(p: Path) -> bool:
    return not p.exists() and any(Path(str(p) + s).is_file() for s in _LOCUST)


def _suffixes(folder: Path) -> set[str]:
    out: set[str] = set()
    for f in folder.iterdir():
        if f.is_file():
            name = f.name.removesuffix(".gz")
            out.add(next((s for s in _LOCUST if name.endswith(s)), Path(name).suffix))
    return out


def match_baseline(source: str, baseline_dir: str | Path) -> BaselineMatch:
    """The file, prefix, folder or glob in *baseline_dir* that corresponds to *source*.

    Examples
    --------
    >>> m = match_baseline("data/samples/loadtests/slow/run", "data/samples/loadtests/steady")
    >>> m.path.endswith("steady/run"), m.reason
    (True, 'Locust prefix of the same name')
    """
    bdir = Path(baseline_dir)
    src = Path(source)
    if not bdir.is_dir():
        return BaselineMatch(source, None, f"{bdir} is not a folder")
    if any(ch in source for ch in "*?["):
        pattern = str(bdir / src.name)
        if any(bdir.glob(src.name)):
            return BaselineMatch(source, pattern, "same glob pattern")
        return BaselineMatch(source, None, f"nothing in {bdir} matches {src.name!r}")
    if _is_locust_prefix(src):
        cand = bdir / src.name
        if _is_locust_prefix(cand):
            return BaselineMatch(source, str(cand), "Locust prefix of the same name")
        return BaselineMatch(source, None, f"no {src.name}_stats.csv in {bdir}")
    cand = bdir / src.name
    if src.is_dir():
        if cand.is_dir():
            return BaselineMatch(source, str(cand), "folder of the same name")
        if src.resolve() != bdir.resolve() and (_suffixes(src) & _suffixes(bdir)):
            return BaselineMatch(
                source, str(bdir), "the baseline folder holds the same kinds of file"
            )
        return BaselineMatch(
            source, None, f"no folder {src.name!r} and no files of the same kinds in {bdir}"
        )
    if cand.exists():
        return BaselineMatch(source, str(cand), "file of the same name")
    return BaselineMatch(source, None, f"no file {src.name!r} in {bdir}")
