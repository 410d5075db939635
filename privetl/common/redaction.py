"""Hiding secrets: the one redaction used by audit records, logs and error messages.

Every place that stores or prints something a caller sent (audit ``before``/``after``,
exception tracebacks in the log, free-text details) passes it through here, so "a secret
never appears in a log or a record" is decided once. Framework-free: no app is imported.
"""

from __future__ import annotations

import re
import traceback
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

REDACTED = "***"

_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "key",
        "credential",
        "credentials",
        "dsn",
        "authorization",
        "cookie",
        "apikey",
        "passphrase",
    }
)
_SECRET_JOINED = ("connection_string", "connectionstring", "conn_str", "private_key", "api_key")
_NOT_SECRET = frozenset({"primary_key", "primary_keys", "foreign_key", "foreign_keys"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@"
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_ASSIGNED_SECRET = re.compile(
    r"(?i)\b(?P<name>[a-z_]*(?:password|passwd|pwd|secret|token|api_?key|private_?key)[a-z_]*)"
    r"(?P<sep>['\"]?\s*[=:]\s*['\"]?)(?P<value>[^\s'\",;&]+)"
)


def is_secret_key(key: str) -> bool:
    """Does a field name look like it holds a secret? (password, api_key, connectionString...)

    The name is split into words (snake_case, camelCase, kebab-case); any secret-sounding
    word is enough. ``primary_key`` and ``foreign_key(s)`` name columns, not secrets.
    """
    lowered = key.lower()
    if lowered in _NOT_SECRET:
        return False
    if any(joined in lowered for joined in _SECRET_JOINED):
        return True
    words = re.split(r"[^a-z0-9]+", _CAMEL.sub("_", key).lower())
    return any(word in _SECRET_WORDS for word in words)


def redact_text(text: str) -> str:
    """Hide credentials embedded in free text: URL passwords, bearer tokens, JWTs, and
    ``password=...`` / ``"api_key": "..."`` style assignments (exception messages, notes)."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    text = _BEARER.sub(f"Bearer {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _ASSIGNED_SECRET.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)


def redacted_traceback(exc: BaseException) -> str:
    """An exception's traceback for the log, with embedded credentials hidden."""
    return redact_text("".join(traceback.format_exception(exc)))


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking key's value replaced by ``"***"``."""
    if isinstance(value, dict):
        return {
            str(k): (REDACTED if is_secret_key(str(k)) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [redact(v) for v in items]
    if isinstance(value, str):
        return redact_text(value)
    return value


_QUERY_SECRET_NAMES = frozenset(
    {
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "auth",
        "sas",
    }
)
_USER_IS_CREDENTIAL = frozenset(
    {"http", "https", "s3", "s3a", "s3n", "grpc", "grpcs", "ftp", "sftp"}
)
"""Schemes whose whole user-info is a credential (``https://TOKEN@host``, ``s3://KEY:SECRET@bucket``)."""


def query_value_is_secret(name: str) -> bool:
    """Does a URL query parameter of this name carry a credential (``password``, ``X-Amz-Signature``)?"""
    return is_secret_key(name) or name.lower() in _QUERY_SECRET_NAMES


def redact_connection_string(value: str) -> str:
    """A connection string (URL or ``key=value`` DSN) with its credentials replaced by ``***``.

    In a URL: the password of the user-info (and, for schemes such as https and s3, a lone
    user name, which there is a token), and the value of every query parameter whose name
    sounds secret (``password``, ``token``, ``access_key_id``, ``X-Amz-Signature``, ...).
    Host, port, path and harmless parameters (``sslmode``) stay, so a person can still tell
    which system it is. Anything that does not parse as a URL is redacted as free text, and
    a URL that cannot be parsed at all keeps only its scheme.
    """
    if "://" not in value:
        return redact_text(value)
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return value.split("://", 1)[0] + "://" + REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if parts.scheme.lower() in _USER_IS_CREDENTIAL:
            userinfo = REDACTED
        elif ":" in userinfo:
            userinfo = f"{userinfo.split(':', 1)[0]}:{REDACTED}"
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if query_value_is_secret(k) and v else v) for k, v in pairs], safe="*/:"
        )
    fragment = redact_text(parts.fragment) if parts.fragment else ""
    # Spelled out rather than ``urlunsplit``, which turns ``sqlite:////abs/path`` into ``sqlite://abs/path``.
    rebuilt = f"{parts.scheme}://{netloc}{parts.path}"
    rebuilt += f"?{query}" if query else ""
    rebuilt += f"#{fragment}" if fragment else ""
    return redact_text(rebuilt)
