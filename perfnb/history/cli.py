"""``perfnb history`` (print series and steps; ``add``; ``import``) and the recording hooks of ``report``/``run``.

The history lives in ``<output-dir>/history.sqlite`` unless ``--history-url-env NAME`` names an environment
variable holding a database URL (PostgreSQL: ``postgresql://user@host/db``); the URL, and so any password
in it, never appears on the command line or in output.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from perfnb import errors
from perfnb.findings import Findings, Severity
from perfnb.history.views import index_fragment
from perfnb.report.index import SECTIONS

# the index shows each system's trends above the run list (the history lives beside the reports)
if index_fragment not in SECTIONS:
    SECTIONS.append(index_fragment)

__all__ = ["history_cmd", "history_options", "record_report", "record_run"]

F = TypeVar("F", bound=Callable[..., Any])

_SPARK = "▁▂▃▄▅▆▇█"


def _guard(func: F) -> F:
    """One line on stderr and the documented exit code for perfnb errors (as the main CLI does)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return func(*args, **kwargs)
        except errors.PerfnbError as err:
            from perfnb.cli import _fail

            ctx.exit(_fail(err, bool(ctx.find_root().params.get("verbose"))))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


def _where(func: F) -> F:
    func = click.option(
        "--history-url-env",
        default=None,
        metavar="NAME",
        help="Environment variable holding the history database URL (e.g. PostgreSQL) "
        "instead of <output-dir>/history.sqlite.",
    )(func)
    return func


def _tags(func: F) -> F:
    func = click.option(
        "--commit", default=None, help="Commit or version (default: GITHUB_SHA, CI_COMMIT_SHA …)."
    )(func)
    func = click.option("--env", default="", help="Environment tag of the run (staging, ci …).")(
        func
    )
    return click.option("--system", default="", help="System tag the run belongs to.")(func)


def history_options(func: F) -> F:
    """Options of ``perfnb report``/``run``: tags, where the history is, ``--no-history``."""
    func = click.option(
        "--history-min-change",
        type=float,
        default=None,
        metavar="RATIO",
        help="Smallest step, as a ratio, that history-regression reports (default 0.10).",
    )(func)
    func = click.option(
        "--no-history", is_flag=True, help="Do not record this run in the history."
    )(func)
    return _tags(_where(func))


def _open(output_dir: str, history_url_env: str | None) -> Any:
    from perfnb.history import History

    return History.open(output_dir, url_env=history_url_env)


def _check(history: Any, system: str, env: str, min_change: float | None) -> Findings:
    th = {} if min_change is None else {"history_regression_min_ratio": min_change}
    return history.check(system=system, env=env, **th)  # type: ignore[no-any-return]


def _echo_findings(found: Findings) -> None:
    for f in found:
        click.echo(f"  {f.severity.name:8} {f.rule} {f.name}: {f.title}")


def _code(current: int, found: Findings, fail_on: str) -> int:
    from perfnb.report.run import ExitCode

    top = found.max_severity
    if current == ExitCode.OK and top is not None and top >= Severity.parse(fail_on):
        return int(ExitCode.FINDINGS)
    return current


def record_report(
    result: Any,
    *,
    output_dir: str,
    fail_on: str,
    system: str = "",
    env: str = "",
    commit: str | None = None,
    no_history: bool = False,
    history_url_env: str | None = None,
    history_min_change: float | None = None,
) -> int:
    """After ``perfnb report``: record the report folder, run the history rules, return the exit code.

    The history's findings are written to ``<report>/history_findings.json``, added to ``report.json``
    (``history``; verdict and exit code raised when they reach ``fail_on``) and the index is rewritten.
    """
    code = int(result.exit_code)
    if no_history:
        return code
    from perfnb.history.importer import record_folder
    from perfnb.report import files
    from perfnb.report.index import write_index

    with _open(output_dir, history_url_env) as history:
        rec = record_folder(
            history, result.folder, system=system, env=env, commit=commit, link_base=output_dir
        )
        click.echo(f"history: {rec.result} [{history.where}]")
        found = _check(history, system, env, history_min_change)
    _echo_findings(found)
    found.to_json(Path(result.folder) / "history_findings.json")
    new_code = _code(code, found, fail_on)
    if new_code != code:
        click.echo(f"fail: history finding(s) at or above {fail_on}")
    summary_path = Path(result.folder) / "report.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = None
    if isinstance(summary, dict):
        summary["history"] = {"run_id": rec.result.run_id, "counts": found.counts()}
        if new_code != code:
            summary["exit_code"] = new_code
            summary["verdict"] = "fail"
        top = found.max_severity
        old = summary.get("max_severity")
        if top is not None and (old is None or top > Severity.parse(old)):
            summary["max_severity"] = top.name
        files.atomic_write_json(summary_path, summary)  # the index may be reading it right now
        write_index(output_dir)
    return new_code


def record_run(
    result: Any,
    *,
    output_dir: str,
    fail_on: str,
    system: str = "",
    env: str = "",
    commit: str | None = None,
    no_history: bool = False,
    history_url_env: str | None = None,
    history_min_change: float | None = None,
) -> int:
    """After ``perfnb run``: record the run folder when the notebook ran, check the history."""
    from perfnb.report.run import ExitCode

    code = int(result.exit_code)
    if no_history or code not in (ExitCode.OK, ExitCode.FINDINGS):
        return code
    from perfnb.history.importer import record_folder

    with _open(output_dir, history_url_env) as history:
        rec = record_folder(
            history, result.folder, system=system, env=env, commit=commit, link_base=output_dir
        )
        click.echo(f"  history: {rec.result}")
        found = _check(history, system, env, history_min_change)
    _echo_findings(found)
    if len(found):
        found.to_json(Path(result.folder) / "history_findings.json")
    return _code(code, found, fail_on)


# ------------------------------------------------------------------------------------------------ commands


def _unicode_spark(values: Sequence[float]) -> str:
    vals = list(values)[-30:]
    lo, hi = min(vals), max(vals)
    if hi == lo:
        return _SPARK[3] * len(vals)
    return "".join(_SPARK[int((v - lo) / (hi - lo) * (len(_SPARK) - 1))] for v in vals)


@click.group("history", invoke_without_command=True)
@click.option(
    "-o",
    "--output-dir",
    default="reports",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder whose history.sqlite is read.",
)
@_where
@click.option("--system", default=None, help="Only this system.")
@click.option("--env", default=None, help="Only this environment.")
@click.option("--subject", default=None, help="Only this subject (a label, 'Total', 'profile' …).")
@click.option("--metric", default=None, help="Only this metric (p95_s, throughput_per_s …).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="table: one line per series and the steps; csv: every run's measurements; json: both.",
)
@click.pass_context
@_guard
def history_cmd(
    ctx: click.Context,
    output_dir: str,
    history_url_env: str | None,
    system: str | None,
    env: str | None,
    subject: str | None,
    metric: str | None,
    fmt: str,
) -> None:
    """Print the recorded series and their steps (subcommands record runs).

    Example: perfnb history -o reports --subject /checkout --metric p95_s

    Example: perfnb history --format csv > history.csv

    PostgreSQL: put the URL in an environment variable and pass its name with --history-url-env.
    """
    if ctx.invoked_subcommand is not None:
        return
    from perfnb.history import History

    if history_url_env:
        history = History.open(output_dir, url_env=history_url_env, create=False)
    else:
        history = History(Path(output_dir) / "history.sqlite", create=False)
    filters = {"system": system, "env": env, "subject": subject, "metric": metric}
    with history:
        data = history.measurements(system=system, env=env, subject=subject, metric=metric)
        steps = history.steps(**{k: v for k, v in filters.items() if v is not None})
    if fmt == "csv":
        out = data.assign(started_at=data["started_at"].map(lambda t: t.isoformat()))
        click.echo(out.to_csv(index=False), nl=False)
        return
    if fmt == "json":
        records = data.assign(started_at=data["started_at"].map(lambda t: t.isoformat()))
        step_cols = ["system", "env", "subject", "metric", "run_id", "kind", "description"]
        payload = {
            "measurements": records.to_dict("records"),
            "steps": steps[step_cols].to_dict("records") if len(steps) else [],
        }
        click.echo(json.dumps(payload, indent=2, default=str))
        return
    if data.empty:
        click.echo("no measurements recorded (match)")
        return
    from perfnb.history.series import format_value, noise_band

    rows = []
    for key, part in data.groupby(["system", "env", "subject", "metric"], sort=True):
        values = part["value"].tolist()
        unit = str(part["unit"].iloc[0])
        mine = steps[
            (steps["system"] == key[0])
            & (steps["env"] == key[1])
            & (steps["subject"] == key[2])
            & (steps["metric"] == key[3])
        ]
        since = int(mine["index"].iloc[-1]) if len(mine) else 0
        lo, hi = noise_band(values[since:])
        rows.append(
            (
                *(str(k) or "-" for k in key),
                str(len(values)),
                format_value(values[-1], unit),
                f"{format_value(lo, unit)} – {format_value(hi, unit)}",
                _unicode_spark(values),
            )
        )
    header = ("system", "env", "subject", "metric", "runs", "last", "noise band", "trend")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    widths[2] = min(widths[2], 60)
    for r in [header, *rows]:
        cells = [c if i != 2 or len(c) <= 60 else c[:59] + "…" for i, c in enumerate(r)]
        click.echo("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    click.echo("")
    if len(steps):
        click.echo(f"{len(steps)} step(s):")
        for _, st in steps.iterrows():
            where = " ".join(x for x in (st["system"], st["env"]) if x)
            click.echo(f"  {st['kind']:11} {where}: {st['description']}")
    else:
        click.echo("no steps detected")


_SOURCE_OPTIONS = (
    "loadtest",
    "profile",
    "plans",
    "statements",
    "metrics",
    "lighthouse",
    "cache",
    "rum",
)


def _source_options(func: F) -> F:
    helps = {
        "loadtest": "Load-test results: file, Locust prefix or folder.",
        "profile": "Profile file.",
        "plans": "EXPLAIN JSON file, folder or auto_explain log.",
        "statements": "pg_stat_statements CSV export.",
        "metrics": "Metrics export(s): file or folder.",
        "lighthouse": "Lighthouse JSON report.",
        "cache": "Redis INFO / memcached stats snapshot(s).",
        "rum": "web-vitals (RUM) NDJSON.",
    }
    for name in reversed(_SOURCE_OPTIONS):
        func = click.option(f"--{name}", type=click.Path(), default=None, help=helps[name])(func)
    return func


@history_cmd.command("add")
@_source_options
@click.option(
    "-o",
    "--output-dir",
    default="reports",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder holding history.sqlite.",
)
@_where
@_tags
@click.option("--report", "report_link", default="", help="Link to this run's report, if any.")
@click.option(
    "--fail-on",
    default="critical",
    show_default=True,
    type=click.Choice(["info", "warning", "critical"], case_sensitive=False),
    help="Exit 1 when a history finding is at or above this severity.",
)
@click.option("--history-min-change", type=float, default=None, metavar="RATIO")
@_guard
def add_cmd(
    output_dir: str,
    history_url_env: str | None,
    system: str,
    env: str,
    commit: str | None,
    report_link: str,
    fail_on: str,
    history_min_change: float | None,
    **given: str | None,
) -> None:
    """Record one run from its sources without rendering a report (fast, for CI), then check the history."""
    sources = {k: v for k, v in given.items() if v}
    if not sources:
        raise errors.ConfigError(
            "no source given; pass at least one of --" + ", --".join(_SOURCE_OPTIONS)
        )
    with _open(output_dir, history_url_env) as history:
        rec = history.record(sources, system=system, env=env, commit=commit, report=report_link)
        click.echo(f"{rec} [{history.where}]")
        found = _check(history, system, env, history_min_change)
    _echo_findings(found)
    click.echo(f"{len(found)} history finding(s): {json.dumps(found.counts())}")
    click.get_current_context().exit(_code(0, found, fail_on))


@history_cmd.command("import")
@click.argument("reports_dir", type=click.Path(file_okay=False, exists=True))
@click.option(
    "-o",
    "--output-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder holding history.sqlite (default: REPORTS_DIR).",
)
@_where
@click.option("--system", default="", help="System tag of the imported runs.")
@click.option("--env", default="", help="Environment tag of the imported runs.")
@_guard
def import_cmd(
    reports_dir: str,
    output_dir: str | None,
    history_url_env: str | None,
    system: str,
    env: str,
) -> None:
    """Backfill the history from existing report folders (report.json / run.json); repeats are no-ops."""
    from perfnb.history.importer import import_reports

    with _open(output_dir or reports_dir, history_url_env) as history:
        results = import_reports(history, reports_dir, system=system, env=env)
    for r in results:
        click.echo(str(r))
    new = sum(r.result.created for r in results)
    click.echo(f"{len(results)} folder(s), {new} new run(s)")
