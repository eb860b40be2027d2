"""Live Prometheus: ``query`` and ``query_range`` over the HTTP API (standard library ``urllib`` only).

``query_range`` splits long ranges so that no request asks for more than 11,000 points per series (Prometheus'
hard limit), concatenates the chunks (dropping the duplicated boundary sample) and returns the METRIC_SAMPLES
frame of :mod:`perfnb.io.prometheus`. Failures raise :class:`~perfnb.errors.SourceError` carrying Prometheus'
``errorType`` and ``error`` (``bad_data``, ``execution``, ``timeout`` …), HTTP status, or the network error.

Credentials are never passed as values: name the environment variables that hold them
(``bearer_token_env="PROM_TOKEN"``, or ``username_env``/``password_env`` for basic auth). Messages never echo them.
"""

from __future__ import annotations

import base64
import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from perfnb._secrets import redact
from perfnb.errors import ConfigError, FormatError, SourceError
from perfnb.io.prometheus import concat_samples, parse_api_response
from perfnb.units import parse_duration

__all__ = ["MAX_POINTS", "query", "query_live", "query_range", "to_unix", "url_from_env"]

#: Prometheus refuses ranges with more than this many steps per series.
MAX_POINTS = 11_000

TimeLike = float | int | str | datetime | pd.Timestamp


def to_unix(t: TimeLike) -> float:
    """Seconds since the epoch from a number, ISO string, datetime or Timestamp (naive = UTC).

    >>> to_unix("2024-01-01T00:00:00Z")
    1704067200.0
    """
    if isinstance(t, (int, float)):
        return float(t)
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return float(ts.value) / 1e9


def _step_s(step: float | int | str | timedelta) -> float:
    if isinstance(step, timedelta):
        return step.total_seconds()
    if isinstance(step, (int, float)):
        return float(step)
    try:
        return float(step)
    except ValueError:
        return parse_duration(step)


def _headers(
    bearer_token_env: str | None, username_env: str | None, password_env: str | None
) -> dict[str, str]:
    h = {"Accept": "application/json", "User-Agent": "perfnb"}
    if bearer_token_env:
        token = os.environ.get(bearer_token_env)
        if token is None:
            raise SourceError(
                f"environment variable {bearer_token_env} (bearer token) is not set",
                source="prometheus",
            )
        h["Authorization"] = f"Bearer {token}"
    elif username_env:
        user = os.environ.get(username_env)
        pw = os.environ.get(password_env or "", "")
        if user is None:
            raise SourceError(
                f"environment variable {username_env} (user name) is not set", source="prometheus"
            )
        h["Authorization"] = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    return h


def _call(
    url: str, endpoint: str, params: dict[str, str], headers: dict[str, str], timeout_s: float
) -> Any:
    full = url.rstrip("/") + "/api/v1/" + endpoint
    shown = (
        urllib.parse.urlsplit(full)
        ._replace(netloc=urllib.parse.urlsplit(full).hostname or "")
        .geturl()
        if "@" in urllib.parse.urlsplit(full).netloc
        else full
    )
    shown = redact(shown)
    if urllib.parse.urlsplit(full).scheme not in ("http", "https"):
        raise SourceError(f"{shown}: only http(s) URLs are supported", source="prometheus")
    data = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(  # noqa: S310 - scheme checked above
        full,
        data=data,
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - scheme checked above
            body = resp.read()
    except urllib.error.HTTPError as err:
        with err:
            body = err.read()
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("status") == "error":
            raise SourceError(
                f"{shown}: HTTP {err.code}: {doc.get('errorType', '?')}: {doc.get('error', '')}",
                source="prometheus",
            ) from err
        raise SourceError(f"{shown}: HTTP {err.code} {err.reason}", source="prometheus") from err
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        reason = getattr(err, "reason", err)
        raise SourceError(
            f"{shown}: cannot reach Prometheus: {reason}", source="prometheus"
        ) from err
    try:
        doc = json.loads(body)
    except ValueError as err:
        raise SourceError(f"{shown}: response is not JSON", source="prometheus") from err
    if isinstance(doc, dict) and doc.get("status") == "error":
        raise SourceError(
            f"{shown}: {doc.get('errorType', '?')}: {doc.get('error', '')}", source="prometheus"
        )
    return doc


def query(
    url: str,
    promql: str,
    *,
    time: TimeLike | None = None,
    timeout_s: float = 30.0,
    bearer_token_env: str | None = None,
    username_env: str | None = None,
    password_env: str | None = None,
) -> pd.DataFrame:
    """Instant query (``/api/v1/query``) → METRIC_SAMPLES.

    Raises
    ------
    SourceError
        Network failure, HTTP error or a Prometheus ``status: error`` body (its errorType in the message).
    """
    params = {"query": promql, "timeout": repr(float(timeout_s))}
    if time is not None:
        params["time"] = repr(to_unix(time))
    doc = _call(
        url, "query", params, _headers(bearer_token_env, username_env, password_env), timeout_s
    )
    try:
        return parse_api_response(doc, source="prometheus", run=promql)
    except FormatError as err:
        raise SourceError(f"unexpected response: {err}", source="prometheus") from err


def query_range(
    url: str,
    promql: str,
    start: TimeLike,
    end: TimeLike,
    step: float | int | str | timedelta,
    *,
    timeout_s: float = 30.0,
    max_points: int = MAX_POINTS,
    bearer_token_env: str | None = None,
    username_env: str | None = None,
    password_env: str | None = None,
) -> pd.DataFrame:
    """Range query (``/api/v1/query_range``), chunked below *max_points* steps per request.

    Parameters
    ----------
    url
        Prometheus base URL (``http://127.0.0.1:9090``).
    promql
        The expression.
    start, end
        Range (inclusive), as unix seconds, ISO strings, datetimes or Timestamps.
    step
        Resolution: seconds, or a duration string (``"15s"``, ``"1m"``).
    timeout_s
        Socket timeout and Prometheus' query ``timeout``, per request.
    max_points
        Most steps per request (Prometheus' limit is 11,000).
    bearer_token_env, username_env, password_env
        NAMES of environment variables holding credentials.
    """
    s0, s1, st = to_unix(start), to_unix(end), _step_s(step)
    if st <= 0 or s1 < s0 or not math.isfinite(s0 + s1 + st):
        raise SourceError(f"bad range: start={s0} end={s1} step={st}", source="prometheus")
    headers = _headers(bearer_token_env, username_env, password_env)
    frames = []
    n_steps = math.floor((s1 - s0) / st + 1e-9) + 1
    for k0 in range(0, n_steps, max_points):
        t = s0 + k0 * st
        t_end = s0 + (min(k0 + max_points, n_steps) - 1) * st
        doc = _call(
            url,
            "query_range",
            {
                "query": promql,
                "start": repr(t),
                "end": repr(t_end),
                "step": repr(st),
                "timeout": repr(float(timeout_s)),
            },
            headers,
            timeout_s,
        )
        try:
            frames.append(parse_api_response(doc, source="prometheus", run=promql))
        except FormatError as err:
            raise SourceError(f"unexpected response: {err}", source="prometheus") from err
    out = concat_samples(frames)
    out.attrs.setdefault("perfnb", {})["requests"] = len(frames)
    return out


def url_from_env(name: str, *, environ: dict[str, str] | None = None, what: str = "URL") -> str:
    """The value of the environment variable *name*, or a :class:`~perfnb.errors.ConfigError` naming it.

    An unset variable is a usage error (exit code 2), never a ``KeyError``; the value is never shown.
    """
    env = os.environ if environ is None else environ
    value = env.get(name, "").strip() if name else ""
    if not value:
        raise ConfigError(
            f"environment variable {name or '(no name given)'} is not set; it should hold the {what} "
            "(pass the variable's NAME, never the value)"
        )
    return value


def query_live(
    url_env: str,
    queries: str | list[str],
    *,
    range_s: float = 3600.0,
    step_s: float = 15.0,
    environ: dict[str, str] | None = None,
    end: TimeLike | None = None,
) -> Any:
    """Range-query a live Prometheus for each of *queries* and return one :class:`~perfnb.Metrics`.

    Fails closed: a live source that gives nothing is an error, never a report "ok" on 0 samples.

    Parameters
    ----------
    url_env
        NAME of the environment variable holding the Prometheus base URL.
    queries
        PromQL expressions, a list or one string separated by ``;``.
    range_s, step_s
        How far back from *end* (default now) and at what resolution.

    Raises
    ------
    ConfigError
        The variable is unset or no query is given (exit code 2).
    SourceError
        Prometheus is unreachable or refuses a query (exit code 4).
    EmptyInputError
        A query returns no samples (exit code 3); the message names the query.
    """
    import time

    from perfnb.errors import EmptyInputError
    from perfnb.io.prometheus import Metrics

    url = url_from_env(url_env, environ=environ, what="Prometheus base URL")
    items = queries.split(";") if isinstance(queries, str) else list(queries)
    exprs = [q.strip() for q in items if q.strip()]
    if not exprs:
        raise ConfigError("live Prometheus mode needs at least one PromQL query (queries='q1; q2')")
    stop = to_unix(end) if end is not None else time.time()
    frames = []
    for q in exprs:
        frame = query_range(url, q, stop - range_s, stop, step_s)
        if frame.empty:
            raise EmptyInputError(
                f"prometheus: query {q!r} returned no samples in the last {range_s:g} s",
                expected="at least one sample; check the metric name, labels and time range",
            )
        frames.append(frame)
    return Metrics(concat_samples(frames), source="prometheus", run="live")
