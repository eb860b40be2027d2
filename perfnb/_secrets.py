"""One detector for secrets in text: parameters, error messages, log records and reports all use it.

Entry points: :func:`find_secret` (why a value must not be stored, or ``None``), :func:`redact` (the same
text with every secret replaced by ``***``), :func:`is_env_name` and :class:`RedactingFilter` (a logging
filter). A core module: it imports nothing from perfnb.

What counts as a secret (surrounding white space is ignored, so ``" postgresql://u:pw@h/db"`` is caught):

* the password of a URL's userinfo: ``scheme://user:PASSWORD@host``;
* a credential in a URL's query string or fragment: ``?password=…``, ``&token=…``, ``sslpassword``,
  ``api_key``, ``access_token``, ``secret``, ``auth`` …;
* a libpq keyword/value DSN or any ``key=value`` text whose key names a credential:
  ``host=db password=…``, ``password = '…'``.

A user name alone is not a secret, and neither is a path: ``/home/u/token_list.csv`` passes.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "find_secret", "is_env_name", "redact"]

# key names that hold credentials, in query strings and keyword DSNs alike
_KEYS = (
    r"(?:ssl)?pass(?:word|wd)?|pwd|secret|client_secret|token|access_token|refresh_token|id_token|"
    r"auth|authorization|api[_-]?key|apikey|private[_-]?key|credentials?|session[_-]?key|sig|signature"
)
# scheme://user:password@  (the password may hold anything but '@', '/' and white space)
_URL_USERINFO = re.compile(
    r"(?P<pre>[a-z][a-z0-9+.-]*://[^/@\s:]*:)(?P<secret>[^/@\s]+)(?=@)", re.I
)
# ?password=… &token=… ;password=…  in a URL's query or fragment
_QUERY = re.compile(rf"(?P<pre>[?&#;](?:{_KEYS})=)(?P<secret>[^&#\s]*)", re.I)
# password=… in a keyword DSN or a config line; value quoted ('…', "…") or bare
_KEYWORD = re.compile(
    rf"(?P<pre>(?<![\w.-])(?:{_KEYS})\s*[=:]\s*)(?P<secret>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s'\",;&]+)",
    re.I,
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def find_secret(value: str) -> str | None:
    """Why *value* carries a secret, or ``None`` when it does not.

    Examples
    --------
    >>> find_secret("postgresql://app:hunter2@db/app")
    'a URL with a password'
    >>> find_secret(" host=localhost password=secret")
    "a 'password=' setting"
    >>> find_secret("postgresql://u@h/db?password=secret")
    "a URL whose query string holds 'password'"
    >>> find_secret("postgresql://u@h/db") is None
    True
    """
    text = value.strip()
    if _URL_USERINFO.search(text):
        return "a URL with a password"
    m = _QUERY.search(text)
    if m and m.group("secret"):
        return f"a URL whose query string holds {m.group('pre')[1:-1]!r}"
    m = _KEYWORD.search(text)
    if m:
        key = re.split(r"\s*[=:]", m.group("pre"))[0]
        return f"a {key + '='!r} setting"
    return None


def redact(text: str) -> str:
    """*text* with every secret :func:`find_secret` knows replaced by ``***``.

    Idempotent, so redacting an already redacted message changes nothing.

    Examples
    --------
    >>> redact("could not connect to postgresql://app:pw@db:5432/app?sslpassword=x&sslmode=require")
    'could not connect to postgresql://app:***@db:5432/app?sslpassword=***&sslmode=require'
    >>> redact("host=db user=app password='a b' dbname=app")
    'host=db user=app password=*** dbname=app'
    """
    text = _URL_USERINFO.sub(lambda m: m.group("pre") + "***", text)
    text = _QUERY.sub(lambda m: m.group("pre") + ("***" if m.group("secret") else ""), text)
    return _KEYWORD.sub(lambda m: m.group("pre") + "***", text)


def is_env_name(value: str) -> bool:
    """Whether *value* is a plain environment variable name (what ``*_env`` parameters must hold).

    >>> is_env_name("PERFNB_PG_DSN"), is_env_name("host=db password=x")
    (True, False)
    """
    return bool(_ENV_NAME.fullmatch(value))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets from every record's message (``cli.py`` installs it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its redacted text; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to logging
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
