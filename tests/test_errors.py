from __future__ import annotations

import pickle

import pytest

from perfnb import errors
from perfnb.errors import (
    ConfigError,
    EmptyInputError,
    FormatError,
    InputError,
    PerfnbError,
    SchemaError,
    SourceError,
    UnknownFormatError,
)


def test_message_is_compiler_style_with_attributes() -> None:
    err = FormatError(
        "column 'Average Response Time' is {found}",
        path="data/run1_stats.csv",
        line=14,
        expected="a number of milliseconds",
        found="N/A",
    )
    assert str(err) == (
        "data/run1_stats.csv:14: column 'Average Response Time' is 'N/A'; "
        "expected a number of milliseconds"
    )
    assert (err.path, err.line, err.expected, err.found) == (
        "data/run1_stats.csv",
        14,
        "a number of milliseconds",
        "N/A",
    )


def test_key_location_and_hint() -> None:
    err = FormatError(
        "missing 'Actual Total Time'",
        path="plan.json",
        key="$[0].Plan.Plans[2]",
        hint="was EXPLAIN run with ANALYZE?",
    )
    assert str(err) == (
        "plan.json: key $[0].Plan.Plans[2]: missing 'Actual Total Time' (was EXPLAIN run with ANALYZE?)"
    )


def test_found_values_are_truncated() -> None:
    err = FormatError("bad value", path="x.csv", line=1, found="y" * 10_000)
    assert len(str(err)) < 200
    assert "…" in str(err)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (InputError, ValueError),
        (FormatError, ValueError),
        (UnknownFormatError, ValueError),
        (EmptyInputError, ValueError),
        (SchemaError, ValueError),
        (ConfigError, ValueError),
    ],
)
def test_tree_mixes_in_builtins(cls: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(cls, PerfnbError)
    assert issubclass(cls, builtin)


def test_source_error_is_connection_error() -> None:
    err = SourceError("connection refused", source="postgresql+psycopg://app:***@db/app")
    assert isinstance(err, ConnectionError)
    assert str(err) == "postgresql+psycopg://app:***@db/app: connection refused"


@pytest.mark.parametrize(
    "err",
    [
        FormatError("bad", path="a.csv", line=3, key="k", expected="e", found=1, hint="h"),
        EmptyInputError("empty", path="b.json"),
        SourceError("down", source="http://localhost:9090"),
        ConfigError("bad threshold"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_exceptions_pickle(err: Exception) -> None:
    back = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert type(back) is type(err)
    assert str(back) == str(err)


def test_concat_collects_then_raises_once() -> None:
    errs = [FormatError("bad row", path="a.csv", line=n) for n in range(2, 10)]
    combined = errors.concat(errs, limit=3)
    assert isinstance(combined, FormatError)
    assert combined.line == 2
    assert str(combined).splitlines()[-1].strip() == "... and 5 more"


def test_every_public_error_is_listed() -> None:
    public = {
        name
        for name, obj in vars(errors).items()
        if isinstance(obj, type)
        and issubclass(obj, PerfnbError | Warning)
        and obj.__module__ == errors.__name__
    }
    assert public <= set(errors.__all__)
    assert errors.__all__ == sorted(errors.__all__)


def test_source_errors_redact_credentials_whatever_the_caller_passed() -> None:
    import pickle

    from perfnb.errors import SourceError

    err = SourceError(
        "HTTP 401 for http://prom:9090/api/v1/query?query=up&token=abc123",
        source=" postgresql://u:pw9@db/app?password=pw9 ",
    )
    assert "abc123" not in str(err) and "pw9" not in str(err)
    assert "token=***" in str(err) and "u:***@db" in str(err)
    assert str(pickle.loads(pickle.dumps(err))) == str(err)  # noqa: S301 - our own bytes


def test_cli_log_lines_are_redacted(caplog) -> None:
    import logging

    from perfnb._secrets import RedactingFilter

    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "dsn %s", ("host=h password=pw7",), None
    )
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "dsn host=h password=***"
