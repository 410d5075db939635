"""Opening a connection once, with a timeout, to tell whether it works ("Test connection").

One probe per connection type, each the smallest thing that proves the system answers with
these credentials: SQL ``SELECT 1`` (PostgreSQL through psycopg, SQLite read-only, as the
engine's SQL extraction opens them), S3 a listing of at most one key under the prefix
(pyarrow's S3 filesystem, as the engine's file sources read S3), API an HTTP ``HEAD`` of
the base URL, FILE the directory exists and is readable. GRPC has no extractor yet.

A probe never raises: it returns a ``ProbeOutcome`` whose message has had the secret and
every credential inside it scrubbed (``scrubbed``), because driver errors may quote the
host, the user, or — with some drivers — parts of the string they were given.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
import pyarrow.fs as pafs
import requests

from privetl.common.redaction import (
    REDACTED,
    query_value_is_secret,
    redact_connection_string,
    redact_text,
)

SQL_SCHEMES = ("postgresql://", "postgres://", "sqlite:///")
S3_SCHEME = "s3://"
API_SCHEMES = ("http://", "https://")
FILE_SCHEME = "file://"


@dataclass(frozen=True)
class ProbeOutcome:
    """What a probe found: success or not, a message safe to show, how long it took."""

    ok: bool
    message: str
    duration_ms: int


class ShapeError(ValueError):
    """A connection string of the wrong shape; the message never quotes the string."""


class UnsupportedType(Exception):
    """The connection's type has no probe (GRPC)."""


def _credentials_in(secret: str) -> list[str]:
    """Every credential-looking part of a connection string, plain and percent-decoded."""
    found: list[str] = []
    if "://" in secret:
        try:
            parts = urlsplit(secret)
            userinfo = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
            for piece in (userinfo, *userinfo.split(":", 1)):
                if piece:
                    found += [piece, unquote(piece)]
            for name, value in parse_qsl(parts.query, keep_blank_values=False):
                if query_value_is_secret(name):
                    found.append(value)
        except ValueError:
            pass
    for token in secret.replace(";", " ").split():
        name, _, value = token.partition("=")
        if value and "pass" in name.lower():
            found.append(value.strip("'\""))
    return sorted({f for f in found if len(f) >= 3}, key=len, reverse=True)


def scrubbed(message: str, secret: str) -> str:
    """``message`` with the connection string (shown redacted) and each credential in it removed."""
    message = message.replace(secret, redact_connection_string(secret))
    for credential in _credentials_in(secret):
        message = message.replace(credential, REDACTED)
    return redact_text(message)


def sqlite_file(connection_string: str) -> Path:
    """``sqlite:////abs/db`` -> /abs/db; a relative path has no base here, so it is refused."""
    rest = connection_string[len("sqlite://") :]
    path = Path(unquote(rest[1:].split("?", 1)[0]))
    if not path.is_absolute():
        raise ShapeError("a SQLite connection needs an absolute path: sqlite:////absolute/path.db")
    return path


def _probe_sql(secret: str, timeout: float) -> str:
    if secret.startswith("sqlite:"):
        path = sqlite_file(secret)
        if not path.is_file():
            raise FileNotFoundError(f"SQLite database not found: {path}")
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=timeout)
        try:
            conn.execute("SELECT 1").fetchone()
        finally:
            conn.close()
        return f"SELECT 1 answered by SQLite database {path}"
    with psycopg.connect(secret, connect_timeout=max(1, round(timeout))) as pg:
        pg.execute(f"SET statement_timeout = {int(timeout * 1000)}")
        pg.execute("SELECT 1").fetchone()
        version = pg.info.server_version
    return f"SELECT 1 answered by PostgreSQL {version // 10000}.{version % 10000}"


def s3_location(connection_string: str) -> tuple[dict[str, object], str, str]:
    """``s3://[KEY:SECRET@]bucket[/prefix][?region=&endpoint_override=&scheme=]`` ->
    (S3FileSystem arguments, bucket, prefix)."""
    parts = urlsplit(connection_string)
    bucket = parts.hostname or ""
    if not bucket:
        raise ShapeError(
            "an S3 connection is s3://[ACCESS_KEY:SECRET_KEY@]bucket[/prefix][?region=...]"
        )
    options: dict[str, object] = {}
    if parts.username:
        options["access_key"] = unquote(parts.username)
        options["secret_key"] = unquote(parts.password or "")
    query = dict(parse_qsl(parts.query))
    for name in ("region", "endpoint_override", "scheme", "session_token"):
        if query.get(name):
            options[name] = query[name]
    return options, bucket, parts.path.strip("/")


def _probe_s3(secret: str, timeout: float) -> str:
    options, bucket, prefix = s3_location(secret)
    filesystem = pafs.S3FileSystem(
        **options,  # type: ignore[arg-type]
        connect_timeout=timeout,
        request_timeout=timeout,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
    )
    root = f"{bucket}/{prefix}" if prefix else bucket
    listed = filesystem.get_file_info(
        pafs.FileSelector(root, recursive=False, allow_not_found=True)
    )
    if not listed and filesystem.get_file_info(bucket).type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"bucket {bucket!r} not found")
    return f"listed s3://{root} ({len(listed)} entr{'y' if len(listed) == 1 else 'ies'})"


def _probe_api(secret: str, timeout: float) -> str:
    response = requests.head(secret, timeout=timeout, allow_redirects=True)
    if response.status_code == 405:  # HEAD not allowed: a GET that reads no body
        response = requests.get(secret, timeout=timeout, stream=True)
        response.close()
    if response.status_code >= 400:
        raise ConnectionError(f"HTTP {response.status_code} {response.reason}")
    return f"HTTP {response.status_code} {response.reason}"


def file_directory(connection_string: str) -> Path:
    """A FILE connection's directory: an absolute path, or a ``file://`` URL of one."""
    text = (
        unquote(urlsplit(connection_string).path)
        if connection_string.startswith(FILE_SCHEME)
        else connection_string
    )
    return Path(text)


def _probe_file(secret: str, timeout: float) -> str:
    directory = file_directory(secret)
    if not directory.is_dir():
        raise FileNotFoundError(f"directory not found: {directory}")
    if not os.access(directory, os.R_OK | os.X_OK):
        raise PermissionError(f"directory not readable: {directory}")
    return f"directory {directory} exists and is readable"


PROBES: dict[str, Callable[[str, float], str]] = {
    "SQL": _probe_sql,
    "S3": _probe_s3,
    "API": _probe_api,
    "FILE": _probe_file,
}


def probe(*, type: str, secret: str, timeout: float) -> ProbeOutcome:  # noqa: A002
    """Open the connection once; never raises for a failure of the far side (see the module)."""
    run = PROBES.get(type)
    if run is None:
        raise UnsupportedType(type)
    started = time.monotonic()
    try:
        message, ok = run(secret, timeout), True
    except Exception as exc:  # noqa: BLE001 - any failure of the far side is the answer
        message, ok = f"{exc.__class__.__name__}: {exc}", False
    duration = int((time.monotonic() - started) * 1000)
    return ProbeOutcome(ok=ok, message=scrubbed(message, secret)[:1000], duration_ms=duration)
