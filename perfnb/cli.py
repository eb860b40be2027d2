"""The ``perfnb`` command line: ``run``, ``list``, ``inspect``, ``check``, ``read``, ``flame``.

Exit codes (:class:`~perfnb.report.run.ExitCode`): 0 ok, 1 findings at or above ``--fail-on``, 2 usage,
3 input error, 4 live source unreachable, 5 notebook bug. Errors are one line on stderr, the exception's
own text; ``--verbose`` adds the traceback. This is the only module that configures logging.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml

from perfnb import errors
from perfnb._secrets import RedactingFilter
from perfnb.history.cli import history_cmd, history_options, record_report, record_run
from perfnb.report.run import ExitCode

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

_SEVERITIES = click.Choice(["info", "warning", "critical"], case_sensitive=False)
_fail_on = click.option(
    "--fail-on",
    default="critical",
    show_default=True,
    type=_SEVERITIES,
    help="Exit 1 when a finding is at or above this severity.",
)


def _output_dir(help_text: str, default: str = "reports") -> Callable[[F], F]:
    """The ``-o/--output-dir`` option shared by the commands that write reports."""
    return click.option(
        "-o",
        "--output-dir",
        default=default,
        show_default=True,
        type=click.Path(file_okay=False),
        help=help_text,
    )


def _engine(func: F) -> F:
    """The ``--engine`` and ``--scheduler`` options of the commands that read load tests and logs."""
    func = click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler for --engine dask (default: a local cluster on this machine).",
    )(func)
    return click.option(
        "--engine",
        default="pandas",
        show_default=True,
        type=click.Choice(["pandas", "stream", "dask"]),
        help="Load tests and auto_explain logs: in memory (exact, every plan), streamed in bounded "
        "memory, or on a Dask cluster (a log then keeps the worst plan of each query group).",
    )(func)


def _read(path: str, engine: str, scheduler: str | None, *, intervals: bool | None = None) -> Any:
    """Read *path* like :func:`perfnb.read` (files, folders, globs, Locust prefixes).

    ``--engine stream``/``dask`` reads a load test in bounded memory or on Dask (a progress bar on
    stderr for large streamed inputs); *intervals=True* builds the per-interval histograms in the
    same pass (the rules need them). An auto_explain server log is grouped by query in bounded memory
    (:func:`perfnb.read_plans` with the engine: the worst plan of each group).
    """
    import perfnb
    from perfnb.io._common import sniff

    if engine == "pandas":
        return perfnb.read(path)
    client: Any = scheduler
    if engine == "dask" and scheduler is None:
        from perfnb.engine import local_client

        client = local_client()
    if Path(path).is_file() and sniff(path).name == "auto_explain":
        return perfnb.read_plans(path, engine=engine, client=client)
    return perfnb.scan_loadtest(path, engine=engine, client=client, intervals=intervals)


def _fail(err: BaseException, verbose: bool) -> int:
    if verbose:
        traceback.print_exception(err)
    text = str(err).replace("\n", " ")
    click.echo(f"perfnb: {type(err).__name__}: {text}", err=True)
    if isinstance(err, errors.InputError):
        return ExitCode.INPUT
    if isinstance(err, errors.SourceError):
        return ExitCode.SOURCE
    if isinstance(err, errors.ConfigError):
        return ExitCode.USAGE
    return ExitCode.NOTEBOOK


def _guard(func: F) -> F:
    """Turn perfnb exceptions into one line on stderr and the documented exit code."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        verbose = bool(ctx.find_root().params.get("verbose"))
        try:
            return func(*args, **kwargs)
        except errors.PerfnbError as err:
            ctx.exit(_fail(err, verbose))
        except OSError as err:  # permission, is a directory, I/O: the input's fault, one line
            problem = errors.InputError(f"cannot read: {err.strerror or err}", path=err.filename)
            ctx.exit(_fail(problem, verbose))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress and show tracebacks on errors.")
@click.version_option(package_name="perfnb")
def cli(verbose: bool) -> None:
    r"""perfnb: performance evidence into pandas, findings and shareable notebook reports.

    \b
    Exit codes: 0 ok · 1 findings at/above --fail-on · 2 usage · 3 input error ·
                4 live source unreachable · 5 notebook failed (a bug)
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:  # no password reaches a log line
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def _load_params(param: Sequence[tuple[str, str]], params_file: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if params_file:
        try:
            data = yaml.safe_load(Path(params_file).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise errors.ConfigError(f"{params_file}: cannot read parameters file: {err}") from err
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise errors.ConfigError(
                f"{params_file}: expected a mapping of parameter names to values"
            )
        values.update(data)
    for name, value in param:
        values[name] = value
    return values


@cli.command("run")
@click.argument("notebook")
@click.option(
    "-p",
    "--parameter",
    "param",
    multiple=True,
    type=(str, str),
    metavar="NAME VALUE",
    help="Set a notebook parameter (repeatable).",
)
@click.option(
    "-f",
    "--parameters-file",
    "params_file",
    type=click.Path(dir_okay=False),
    help="YAML file of parameters (values from -p win).",
)
@_output_dir("Parent folder of <notebook>/<UTC timestamp>/.")
@_fail_on
@click.option("--timeout", "timeout_s", type=float, default=None, help="Per-cell timeout, seconds.")
@history_options
@_guard
def run_cmd(
    notebook: str,
    param: Sequence[tuple[str, str]],
    params_file: str | None,
    output_dir: str,
    fail_on: str,
    timeout_s: float | None,
    **history: Any,
) -> None:
    """Execute NOTEBOOK (a suite name or a path) and write its report folder."""
    from perfnb.report.run import run_notebook

    values = _load_params(param, params_file)
    result = run_notebook(
        notebook, values, output_dir=output_dir, fail_on=fail_on, timeout_s=timeout_s
    )
    click.echo(f"{result.folder}")
    click.echo(f"  report: {result.html}")
    if result.exit_code in (ExitCode.OK, ExitCode.FINDINGS):
        click.echo(f"  {result.message}")
    else:
        click.echo(f"perfnb: {result.message}", err=True)
    code = record_run(result, output_dir=output_dir, fail_on=fail_on, **history)
    click.get_current_context().exit(code)


@cli.command("list")
@_guard
def list_cmd() -> None:
    """List the suite's notebooks and their parameters."""
    from perfnb.report.run import list_notebooks, notebook_parameters

    for nb in list_notebooks():
        click.echo(click.style(nb.stem, bold=True))
        for name, info in notebook_parameters(nb).items():
            click.echo(f"  {name} ({info['type']}) = {info['default']}  # {info['help']}")


@cli.command("inspect")
@click.argument("notebook")
@_guard
def inspect_cmd(notebook: str) -> None:
    """Show NOTEBOOK's parameters as YAML (a starting point for -f)."""
    from perfnb.report.run import notebook_parameters

    for name, info in notebook_parameters(notebook).items():
        click.echo(f"# {info['help']} ({info['type']})")
        click.echo(f"{name}: {info['default']}")


@cli.command("read")
@click.argument("path", type=click.Path())
@_engine
@_guard
def read_cmd(path: str, engine: str, scheduler: str | None) -> None:
    """Read PATH (a file, a folder, a glob or a Locust prefix) and print what was loaded.

    PATH is read as perfnb.read does: a folder or glob of plans, profiles, load-test files or metrics
    exports becomes one object per kind. With --engine stream or dask, PATH is a load test (a file, a
    folder of worker files or a glob) and its summary is printed, or an auto_explain server log and its
    query groups are printed.
    """
    obj = _read(path, engine, scheduler)
    groups = getattr(obj, "meta", {}).get("groups")
    if engine != "pandas" and groups is not None:  # an auto_explain log read in bounded memory
        click.echo(f"{obj!r}: the worst of each query group, of {obj.meta['plans_read']:,} plans")
        cols = ["query_group", "plans", "total_time_s", "max_time_s", "worst_plan_ref", "query"]
        click.echo(groups[cols].to_string(index=False, max_colwidth=60))
        return
    if engine != "pandas":
        click.echo(repr(obj))
        click.echo(obj.summary().drop(columns=["source", "run"]).to_string(index=False))
        return
    for item in obj if type(obj).__name__ == "EvidenceSet" else [obj]:
        click.echo(f"{path}: {_describe(item)}")
        click.echo(repr(item))


def _describe(obj: Any) -> str:
    """What kind of evidence *obj* is and where it came from (its source format)."""
    source = getattr(obj, "source", "") or "?"
    return f"{type(obj).__name__} from {source}"


@cli.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@_fail_on
@click.option(
    "--thresholds",
    "thresholds_file",
    type=click.Path(dir_okay=False),
    help="TOML or YAML file of threshold overrides.",
)
@click.option("--json", "as_json", is_flag=True, help="Print findings as JSON.")
@_engine
@_guard
def check_cmd(
    paths: Sequence[str],
    fail_on: str,
    thresholds_file: str | None,
    as_json: bool,
    engine: str,
    scheduler: str | None,
) -> None:
    """Read each of PATHS and run every rule that applies; no notebook involved."""
    import perfnb
    from perfnb.findings import Findings, Severity

    found = Findings()
    for p in paths:
        lt = _read(p, engine, scheduler, intervals=True)  # LT006 (capacity) needs the intervals
        found = found + perfnb.check(lt, thresholds_file=thresholds_file)
    if as_json:
        click.echo(found.to_json())
    else:
        for f in found:
            click.echo(f"{f.severity.name:8} {f.rule} {f.name}: {f.title} [{f.location}]")
        click.echo(f"{len(found)} finding(s): {json.dumps(found.counts())}")
    top = found.max_severity
    code = ExitCode.FINDINGS if top is not None and top >= Severity.parse(fail_on) else ExitCode.OK
    click.get_current_context().exit(int(code))


@cli.command("report")
@click.option("--profile", type=click.Path(), help="Profile file, folder or glob.")
@click.option("--plans", type=click.Path(), help="EXPLAIN JSON file, folder or auto_explain log.")
@click.option("--statements", type=click.Path(), help="pg_stat_statements CSV export.")
@click.option("--loadtest", type=click.Path(), help="Load-test results: file, prefix or folder.")
@click.option(
    "--metrics", type=click.Path(), help="Metrics export (Prometheus JSON, scrape, Grafana CSV)."
)
@click.option("--lighthouse", type=click.Path(), help="Lighthouse JSON report(s).")
@click.option("--cache", type=click.Path(), help="Redis INFO / memcached stats snapshot(s).")
@click.option(
    "--baseline-dir", type=click.Path(file_okay=False), help="Baseline inputs, matched by name."
)
@_output_dir("Parent of the dated report folders and index.html.")
@_fail_on
@history_options
@_guard
def report_cmd(
    profile: str | None,
    plans: str | None,
    statements: str | None,
    loadtest: str | None,
    metrics: str | None,
    lighthouse: str | None,
    cache: str | None,
    baseline_dir: str | None,
    output_dir: str,
    fail_on: str,
    **history: Any,
) -> None:
    r"""Run the notebooks that apply to the given sources into a dated folder; update index.html.

    \b
    crontab:  0 6 * * *  cd /srv/perf && perfnb report --loadtest results/ -o reports
    CI:       perfnb report --loadtest out/run --baseline-dir baseline/ --fail-on warning
    """
    from perfnb.report.suite import run_report

    given = {
        "profile": profile,
        "plans": plans,
        "statements": statements,
        "loadtest": loadtest,
        "metrics": metrics,
        "lighthouse": lighthouse,
        "cache": cache,
    }
    sources = {k: v for k, v in given.items() if v}
    result = run_report(sources, output_dir=output_dir, baseline_dir=baseline_dir, fail_on=fail_on)
    for match in result.baselines:
        click.echo(f"perfnb: {match.describe()}", err=True)
    for run in result.runs:
        click.echo(f"  {run.notebook.stem}: {run.html}")
        if not run.ok:
            click.echo(f"perfnb: {run.notebook.stem}: {run.message}", err=True)
    click.echo(f"{result.message}; index: {result.index}")
    code = record_report(result, output_dir=output_dir, fail_on=fail_on, **history)
    click.get_current_context().exit(code)


@cli.command("schemas")
@click.option(
    "--update-readme",
    "readme",
    type=click.Path(dir_okay=False),
    default=None,
    help="Rewrite the format reference between the markers in this README.",
)
@_guard
def schemas_cmd(readme: str | None) -> None:
    """Print the format reference of every table perfnb outputs (Markdown), or update a README."""
    from perfnb.schema import markdown_reference, update_readme

    if readme:
        changed = update_readme(readme)
        click.echo(f"{readme} {'updated' if changed else 'already up to date'}")
    else:
        click.echo(markdown_reference(), nl=False)


@cli.command("demo")
@_output_dir("Where the reports go.", default="reports/demo")
@_guard
def demo_cmd(output_dir: str) -> None:
    """Run every notebook of the suite on the bundled sample data and say where the reports are."""
    from perfnb.report.run import list_notebooks
    from perfnb.report.suite import run_concurrently

    notebooks = list_notebooks()
    if not notebooks:
        raise errors.ConfigError("no notebooks found")
    failed = []
    click.echo(f"running {', '.join(nb.stem for nb in notebooks)} …", err=True)
    results = run_concurrently(
        [(nb, {}) for nb in notebooks], output_dir=output_dir, fail_on="critical", defaults=True
    )
    for nb, result in zip(notebooks, results, strict=True):
        click.echo(f"  {result.html}")
        if not result.ok:
            failed.append(f"{nb.stem}: {result.message}")
    click.echo(
        f"Reports written under {Path(output_dir).resolve()}/ (open the .html files in a browser)"
    )
    if failed:
        for line in failed:
            click.echo(f"perfnb: {line}", err=True)
        click.get_current_context().exit(int(ExitCode.NOTEBOOK))


@cli.command("flame")
@click.argument("path", type=click.Path())
@click.option("-o", "--output", type=click.Path(), required=True, help="HTML file to write.")
@click.option("--baseline", type=click.Path(), help="Earlier profile: adds the differential view.")
@click.option(
    "--min-ratio",
    type=float,
    default=0.001,
    show_default=True,
    help="Fold frames under this share of the total into their caller.",
)
@click.option("--speedscope", type=click.Path(), help="Also write speedscope JSON here.")
@click.option("--folded", type=click.Path(), help="Also write folded stacks here (microseconds).")
@_guard
def flame_cmd(
    path: str,
    output: str,
    baseline: str | None,
    min_ratio: float,
    speedscope: str | None,
    folded: str | None,
) -> None:
    """Write PATH's interactive flame graphs (top-down, bottom-up, diff) to one offline HTML file."""
    from perfnb.io.profiles import read_profile
    from perfnb.plot.flame import write_flame

    prof = read_profile(path)
    base = read_profile(baseline) if baseline else None
    out = write_flame(prof, output, baseline=base, min_ratio=min_ratio)
    for target, write in ((speedscope, prof.to_speedscope), (folded, prof.to_folded)):
        if target:
            write(target)
    click.echo(f"wrote {out}")


cli.add_command(history_cmd)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``perfnb`` script; returns the exit code."""
    code: object = 0
    try:
        cli.main(
            args=list(argv) if argv is not None else None, prog_name="perfnb", standalone_mode=True
        )
    except SystemExit as exc:
        code = exc.code
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
