"""Execute a notebook with papermill and lay out its results: what ``perfnb run`` does.

A run writes ``<output_dir>/<notebook>/<UTC timestamp>/`` holding the executed ``<notebook>.ipynb``, the
self-contained ``<notebook>.html`` (no code cells), ``findings.json``, ``parameters.yaml`` (the values used)
and ``run.json`` (status, exit code, times, versions). A failing cell still yields the HTML, with
papermill's error banner, and a non-zero exit code chosen from the exception's class name (``ename``).

Parameters are validated against the notebook's ``parameters`` cell (papermill's inspector): unknown names
are refused, values given as strings on the command line are converted to the declared type, parameters
whose names end in ``_path``, ``_dir`` or ``_file`` are made absolute (the kernel's working directory is not
the caller's), and values that carry a secret are refused: a notebook takes the *name* of an environment
variable instead (``pg_dsn_env="PERFNB_PG_DSN"``), because papermill writes parameters into the output.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from perfnb import errors, samples
from perfnb._secrets import find_secret, is_env_name
from perfnb.errors import ConfigError, NotebookError
from perfnb.findings import Findings, Severity

__all__ = [
    "ExitCode",
    "RunResult",
    "find_notebook",
    "list_notebooks",
    "notebook_parameters",
    "prepare_parameters",
    "project_root",
    "run_notebook",
]

logger = logging.getLogger(__name__)


class ExitCode(enum.IntEnum):
    """Exit codes of ``perfnb`` commands (pytest's ``ExitCode`` is the model)."""

    OK = 0  #: ran; no finding at or above ``--fail-on``
    FINDINGS = 1  #: ran; findings at or above ``--fail-on``
    USAGE = 2  #: usage or configuration error
    INPUT = 3  #: input error (an ``InputError``, in-process or inside the notebook)
    SOURCE = 4  #: a live source was unreachable (``SourceError``)
    NOTEBOOK = 5  #: the notebook failed for another reason (a bug: please report it)


def _subclass_names(cls: type[BaseException]) -> set[str]:
    names = {cls.__name__}
    for sub in cls.__subclasses__():
        names |= _subclass_names(sub)
    return names


def exit_code_for(ename: str) -> ExitCode:
    """The exit code for an exception class name as papermill reports it (``ename``)."""
    if ename in _subclass_names(errors.InputError):
        return ExitCode.INPUT
    if ename in _subclass_names(errors.SourceError):
        return ExitCode.SOURCE
    if ename in _subclass_names(errors.ConfigError):
        return ExitCode.USAGE
    return ExitCode.NOTEBOOK


def project_root() -> Path:
    """The folder that holds ``notebooks/`` and ``data/``: the checkout, or the installed package's copy."""
    here = Path(__file__).resolve().parent.parent  # perfnb/
    checkout = here.parent
    if (checkout / "notebooks").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout
    return here / "_root"


def list_notebooks() -> list[Path]:
    """The suite's notebooks, sorted by name."""
    folder = project_root() / "notebooks"
    return sorted(folder.glob("*.ipynb")) if folder.is_dir() else []


def find_notebook(name: str | os.PathLike[str]) -> Path:
    """Resolve a notebook by path or by suite name (``profile_hotspots`` or ``profile_hotspots.ipynb``).

    Raises
    ------
    ConfigError
        If there is no such notebook; the message lists the suite's notebooks.
    """
    p = Path(name)
    if p.suffix == ".ipynb" and p.is_file():
        return p.resolve()
    stem = p.name.removesuffix(".ipynb")
    for nb in list_notebooks():
        if nb.stem == stem:
            return nb
    known = ", ".join(nb.stem for nb in list_notebooks()) or "(none)"
    raise ConfigError(f"no notebook {os.fspath(name)!r}; the suite has: {known}")


def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares: ``{name: {"type", "default", "help"}}``.

    Raises
    ------
    NotebookError
        If the notebook has no cell tagged ``parameters``.
    """
    import papermill

    path = find_notebook(notebook)
    try:
        params = papermill.inspect_notebook(str(path))
    except Exception as err:
        raise NotebookError(f"{path}: cannot inspect parameters: {err}") from err
    if not params:
        raise NotebookError(
            f"{path}: no cell tagged 'parameters'; expected one as the first code cell"
        )
    return {
        name: {
            "type": (info.get("inferred_type_name") or "None").replace("None", "str"),
            "default": info.get("default"),
            "help": info.get("help") or "",
        }
        for name, info in params.items()
    }


_SECRET_NAME = re.compile(r"(password|passwd|secret|token|api_?key|credential)", re.IGNORECASE)
_PATH_PARAM = re.compile(r"_(path|dir|file)$")


def _strings(value: Any) -> list[str]:
    """Every string inside a parameter value (lists and dicts from YAML included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _literal_default(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text.strip("\"'")


def _coerce(name: str, value: Any, type_name: str) -> Any:
    if not isinstance(value, str):
        return value
    t = type_name.lower()
    try:
        if t in ("int",):
            return int(value)
        if t in ("float",):
            return float(value)
        if t in ("bool",):
            low = value.strip().lower()
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            raise ValueError(value)
    except ValueError:
        raise ConfigError(f"parameter {name!r} expects {type_name}, got {value!r}") from None
    if t.startswith(("list", "dict")):
        parsed = yaml.safe_load(value)
        return parsed
    return value


def prepare_parameters(
    notebook: str | os.PathLike[str],
    given: dict[str, Any],
    *,
    cwd: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Validate and convert user parameters for *notebook* (see the module docstring for the rules).

    Raises
    ------
    ConfigError
        On an unknown parameter, a value of the wrong type, or a secret in a value.
    """
    declared = notebook_parameters(notebook)
    base = Path(cwd) if cwd is not None else Path.cwd()
    out: dict[str, Any] = {}
    for name, value in given.items():
        if name not in declared:
            known = ", ".join(declared)
            raise ConfigError(
                f"notebook {Path(notebook).stem!r} has no parameter {name!r}; it has: {known}"
            )
        if _SECRET_NAME.search(name) and not name.endswith("_env"):
            raise ConfigError(
                f"parameter {name!r} looks like a secret; pass the name of an environment variable instead"
            )
        value = _coerce(name, value, declared[name]["type"])
        for text in _strings(value):
            reason = find_secret(text)
            if reason:
                raise ConfigError(
                    f"parameter {name!r} holds {reason}; put it in an environment variable and pass "
                    "that variable's name (papermill records parameters in the output notebook)"
                )
        if name.endswith("_env") and isinstance(value, str) and value.strip():
            if not is_env_name(value.strip()):
                raise ConfigError(
                    f"parameter {name!r} takes the NAME of an environment variable "
                    "(letters, digits, '_'), not its value"
                )
            value = value.strip()
        if isinstance(value, str) and value and _PATH_PARAM.search(name):
            value = samples.resolve(value, cwd=base)
        out[name] = value
    return out


@dataclass
class RunResult:
    """What :func:`run_notebook` produced."""

    exit_code: ExitCode
    folder: Path
    notebook: Path
    html: Path
    findings: Findings = field(default_factory=Findings)
    message: str = ""
    verdict: str = ""

    @property
    def ok(self) -> bool:
        """Whether the notebook ran to the end (findings may still be present)."""
        return self.exit_code in (ExitCode.OK, ExitCode.FINDINGS)


#: parameters that name an input (and so never keep a bundled default in a user's run)
_INPUT_PARAM = re.compile(r"_(path|file)$")


def input_parameters(declared: dict[str, dict[str, Any]]) -> list[str]:
    """The declared parameters that name an input file, folder or glob."""
    return [name for name in declared if _INPUT_PARAM.search(name)]


def _inputs(
    declared: dict[str, dict[str, Any]], params: dict[str, Any], *, defaults: bool
) -> dict[str, Any]:
    """Every input parameter set: given ones as given; the rest empty, or the resolved sample default."""
    out = dict(params)
    for name in input_parameters(declared):
        if name in out:
            continue
        value = _literal_default(declared[name]["default"]) if defaults else ""
        out[name] = samples.resolve(value) if isinstance(value, str) else value
    return out


_BACKEND_LOCK = threading.Lock()
_BACKEND_USERS: list[Any] = [0, ""]


def _inline_backend(delta: int) -> None:
    """Hold MPLBACKEND at the inline backend while any run executes (runs may be concurrent threads).

    Figures must reach the notebook as inline images even when the caller runs with MPLBACKEND=Agg
    (CI, make): the kernel inherits the environment at launch.
    """
    with _BACKEND_LOCK:
        users = int(_BACKEND_USERS[0])
        if delta > 0 and users == 0:
            _BACKEND_USERS[1] = os.environ.get("MPLBACKEND", "")
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        users += delta
        _BACKEND_USERS[0] = users
        if users == 0:
            saved = str(_BACKEND_USERS[1])
            if saved:
                os.environ["MPLBACKEND"] = saved
            else:
                os.environ.pop("MPLBACKEND", None)


def run_notebook(
    notebook: str | os.PathLike[str],
    parameters: dict[str, Any] | None = None,
    *,
    output_dir: str | os.PathLike[str] = "reports",
    fail_on: str | Severity = Severity.critical,
    kernel_name: str = "python3",
    cwd: str | os.PathLike[str] | None = None,
    timeout_s: float | None = None,
    defaults: bool = False,
) -> RunResult:
    """Execute *notebook* with *parameters* and write its run folder.

    Parameters
    ----------
    notebook
        A path or a suite name (``profile_hotspots``).
    parameters
        Values by parameter name; strings are converted to the declared types.
    output_dir
        Parent folder of ``<notebook>/<timestamp>/``.
    fail_on
        Findings at or above this severity make the exit code 1.
    cwd
        Folder that relative path parameters are resolved against (default: the current one).
    timeout_s
        Per-cell execution timeout.
    defaults
        Run on the notebook's sample defaults (``perfnb demo``, tests). Otherwise every input parameter
        that is not given is set to ``""``, so a bundled sample never enters a user's report.

    Returns
    -------
    RunResult
        Exit code, folder, paths, findings and a one-line message.

    Raises
    ------
    ConfigError
        On bad parameters, no parameter at all (without *defaults*) or an unknown notebook (nothing
        is executed).
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from perfnb import __version__
    from perfnb.report import files
    from perfnb.report.header import Header, header_html, headings, verdict
    from perfnb.report.html import esc as escape
    from perfnb.report.record import read_records
    from perfnb.report.render import render_html

    level = Severity.parse(fail_on)
    path = find_notebook(notebook)
    declared = notebook_parameters(path)
    given = prepare_parameters(path, dict(parameters or {}), cwd=cwd)
    if not defaults and not given:
        raise ConfigError(
            f"notebook {path.stem!r}: no parameter given; pass its inputs with -p NAME VALUE "
            f"({', '.join(input_parameters(declared))}), or run `perfnb demo` for the bundled samples"
        )
    params = _inputs(declared, given, defaults=defaults)
    started = dt.datetime.now(dt.timezone.utc)
    folder = files.unique_folder(Path(output_dir).resolve() / path.stem, started)
    if "output_dir" in declared:
        params["output_dir"] = str(folder)
    executed = folder / f"{path.stem}.ipynb"
    html = folder / f"{path.stem}.html"
    used = {name: _literal_default(info["default"]) for name, info in declared.items()}
    used.update(params)
    files.atomic_write(folder / "parameters.yaml", yaml.safe_dump(used, sort_keys=True))
    files.atomic_write_json(
        folder / "run.json",
        {
            "notebook": path.stem,
            "status": "running",
            "started": started.isoformat(),
            **files.owner(),
        },
    )

    exit_code = ExitCode.OK
    message = ""
    error: dict[str, str] | None = None
    _inline_backend(+1)
    try:
        papermill.execute_notebook(
            str(path),
            str(executed),
            parameters=params,
            kernel_name=kernel_name,
            # the run folder: nothing relative may resolve against the checkout (no sample leaks in)
            cwd=str(folder),
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout_s,
            # the kernel warns on every start that its loopback TCP is unencrypted, and jupyter_client's
            # shutdown always sends SIGINT first (KernelManager._async_shutdown_kernel), which ipykernel
            # logs as "ERROR | KeyboardInterrupt caught in kernel." when it lands in its loop: noise in
            # cron mail and CI logs. A failing cell still reaches us through papermill, not the log.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except PapermillExecutionError as err:
        exit_code = exit_code_for(err.ename)
        message = f"{err.ename}: {err.evalue}".replace("\n", " ")
        error = {"ename": err.ename, "evalue": str(err.evalue), "cell": str(err.exec_count)}
    except Exception as err:  # kernel died, no such kernel … : a notebook failure, not a user error
        exit_code = ExitCode.NOTEBOOK
        message = f"{type(err).__name__}: {err}".replace("\n", " ")
        error = {"ename": type(err).__name__, "evalue": str(err), "cell": ""}
    finally:
        _inline_backend(-1)

    findings = Findings()
    records: dict[str, Any] = {}
    if executed.exists():
        records = read_records(executed)
        if "findings" in records:
            findings = Findings.from_json(json.dumps(records["findings"]))
    findings_path = folder / "findings.json"
    if not findings_path.exists() or error:
        findings.to_json(findings_path)

    if error is None:
        top = findings.max_severity
        if top is not None and top >= level:
            exit_code = ExitCode.FINDINGS
            message = f"{len(findings.at_least(level))} finding(s) at or above {level.name}"
        else:
            message = f"ok: {len(findings)} finding(s), none at or above {level.name}"
    outcome = verdict(findings, fail_on=level, failed=error is not None)
    if executed.exists():
        nb = nbformat.read(str(executed), as_version=4)
        title = str(nb.metadata.get("title") or path.stem.replace("_", " ").capitalize())
        head = Header(
            title=title,
            verdict=outcome,
            findings=findings,
            fail_on=level,
            exit_code=int(exit_code),
            started=started,
            sources={
                n.removesuffix("_path").removesuffix("_file"): str(v)
                for n, v in params.items()
                if _INPUT_PARAM.search(n) and v
            },
            window=records.get("window") or {},
            message=message,
            toc=headings(c.source for c in nb.cells if c.cell_type == "markdown"),
        )
        render_html(nb, html, header=header_html(head))
    else:
        files.atomic_write(
            html,
            "<!DOCTYPE html><html><body><p>Notebook did not run: "
            f"{escape(message)}</p></body></html>",
        )
    finished = dt.datetime.now(dt.timezone.utc)
    run_info = {
        "notebook": path.stem,
        "status": "failed" if error else "ok",
        "verdict": outcome,
        "exit_code": int(exit_code),
        "message": message,
        "error": error,
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "duration_s": (finished - started).total_seconds(),
        "max_severity": findings.max_severity.name if findings.max_severity else None,
        "counts": findings.counts(),
        "fail_on": level.name,
        "perfnb_version": __version__,
    }
    files.atomic_write_json(folder / "run.json", run_info)
    logger.info("%s: %s (%s)", path.stem, message, folder)
    return RunResult(exit_code, folder, executed, html, findings, message, outcome)
