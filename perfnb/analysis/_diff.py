"""The one shape every comparison returns: :class:`Diff` (``.table``, ``.to_frame()``, a verdict, HTML).

:func:`~perfnb.analysis.compare.compare_loadtests`, :func:`~perfnb.analysis.compare.compare_plans` and
:func:`~perfnb.analysis.compare.compare_profiles` return subclasses (``LoadTestDiff``, ``PlanDiff``,
``ProfileDiff``) that share this protocol, so a notebook, a rule or ``perfnb history`` treats them alike:

* ``table``: the tidy comparison table (its columns are documented by each subclass);
* ``to_frame()``: a copy of it;
* ``baseline_run`` / ``candidate_run``: the two run labels;
* ``verdict``: ``"regression"``, ``"improvement"``, ``"no significant change"`` or ``"inconclusive"``;
* ``headline``: one line saying what changed, where, and how sure the comparison is;
* ``method``: how the verdict was reached (a bootstrap, the tools' own numbers without an interval …);
* ``_repr_html_()``: the headline and the table, every string escaped, for JupyterLab.
"""

from __future__ import annotations

import html
from typing import ClassVar

import pandas as pd

__all__ = ["VERDICTS", "Diff"]

VERDICTS = ("regression", "improvement", "no significant change", "inconclusive")


class Diff:
    """Base of every comparison result (see the module docstring for the protocol)."""

    kind: ClassVar[str] = "diff"
    table: pd.DataFrame
    method: str

    @property
    def baseline_run(self) -> str:
        """Run label of the baseline."""
        raise NotImplementedError

    @property
    def candidate_run(self) -> str:
        """Run label of the candidate."""
        raise NotImplementedError

    @property
    def verdict(self) -> str:
        """The overall verdict, one of :data:`VERDICTS`."""
        raise NotImplementedError

    @property
    def headline(self) -> str:
        """One line: what changed, where, how sure."""
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.baseline_run!r} → {self.candidate_run!r}: {self.verdict}>"

    def _repr_html_(self) -> str:
        cls = {"regression": "#b00020", "improvement": "#1b5e20"}.get(self.verdict, "#444")
        table = self.table.head(50).to_html(index=False, na_rep="—", float_format=_fmt, escape=True)
        return (
            f'<div class="perfnb-diff"><p><b style="color:{cls}">{html.escape(self.verdict)}</b> '
            f"{html.escape(self.headline)}</p><p><small>{html.escape(self.method)}</small></p>"
            f"{table}</div>"
        )


def _fmt(x: float) -> str:
    return f"{x:.4g}"
