"""``${NAME}`` references in connection strings, headers, environments, file paths and
directory destinations, expanded at run time.

Secrets stay out of the data module document: it names the variable, the run supplies the
value. An unset variable is an error naming the variable (never any value), because running
with an empty password or token would fail later with a far less helpful message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingVariable(LookupError):
    """A ``${NAME}`` reference names an environment variable that is not set."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"environment variable {name} is not set")


def expand_env(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every ``${NAME}`` replaced by the variable's value; MissingVariable if unset."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise MissingVariable(name)
        return env[name]

    return _REFERENCE.sub(substitute, text)


def referenced_values(text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values ``text`` pulls from the environment, so errors can redact them."""
    env = os.environ if environ is None else environ
    return [env[m] for m in _REFERENCE.findall(text) if env.get(m)]


def redact(message: str, secrets: list[str]) -> str:
    """``message`` with every secret value replaced by ``***`` (longest first, non-empty only)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


S3_OPTIONS = ("region", "endpoint_override", "scheme", "session_token")
"""Query parameters of an ``s3://`` value that configure the S3 client (as a connection's
string gives them); the user-info, when there is one, is the access key and secret key."""


@dataclass(frozen=True)
class ExpandedLocation:
    """A file path, ``s3://`` URL or directory with its ``${NAME}`` references expanded.

    A referenced value is the *base* the rest of the text resolves under (a connection's
    directory or bucket): a ``file://`` value is its local path; an ``s3://`` value loses
    its user-info and query (``s3://KEY:SECRET@bucket/prefix?region=...``), which become
    ``s3_options``, so a glob's ``?`` in the rest is never taken for a query. ``raw`` is the
    text as the document has it: what messages, reports and published metadata show.
    """

    raw: str
    path: str
    s3_options: dict[str, str] = field(default_factory=dict)
    """pyarrow ``S3FileSystem`` arguments from the values (access_key, secret_key, region, ...)."""
    shown: tuple[tuple[str, str, bool], ...] = ()
    """(expanded text, what to show instead, whether it is a credential), longest first."""

    def hide(self, message: str) -> str:
        """``message`` with every expanded value put back as its ``${NAME}`` and credentials as ``***``.

        A location value is replaced where it stands as a whole path (not inside a longer
        name); a credential wherever it appears.
        """
        for value, replacement, credential in self.shown:
            if credential:
                message = message.replace(value, replacement)
            else:
                message = re.sub(
                    rf"(?<![\w.-]){re.escape(value)}(?![\w.-])", replacement.replace("\\", "\\\\"), message
                )
        return message

    def delta_storage_options(self) -> dict[str, str]:
        """The S3 options as deltalake's storage options (its ``AWS_*`` keys)."""
        options = self.s3_options
        found: dict[str, str] = {}
        if "access_key" in options:
            found["AWS_ACCESS_KEY_ID"] = options["access_key"]
            found["AWS_SECRET_ACCESS_KEY"] = options.get("secret_key", "")
        if "session_token" in options:
            found["AWS_SESSION_TOKEN"] = options["session_token"]
        if "region" in options:
            found["AWS_REGION"] = options["region"]
        scheme = options.get("scheme", "https")
        if "endpoint_override" in options:
            endpoint = options["endpoint_override"]
            found["AWS_ENDPOINT_URL"] = endpoint if "://" in endpoint else f"{scheme}://{endpoint}"
        if scheme == "http":
            found["AWS_ALLOW_HTTP"] = "true"
        return found


def expand_location(text: str, environ: Mapping[str, str] | None = None) -> ExpandedLocation:
    """``text`` (a source path or a destination) expanded as ``ExpandedLocation`` says.

    MissingVariable names the first unset variable. Text without references is returned
    as it is (its own ``s3://`` URL keeps the meaning it always had).
    """
    env = os.environ if environ is None else environ
    options: dict[str, str] = {}
    shown: dict[str, tuple[str, bool]] = {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise MissingVariable(name)
        value = env[name]
        placeholder = match.group(0)
        if value.startswith("file://"):
            base = unquote(urlsplit(value).path).rstrip("/") or "/"
        elif value.startswith("s3://"):
            base = _s3_base(value, options, shown)
            shown.setdefault(base.removeprefix("s3://"), (placeholder, False))  # pyarrow's paths lack the scheme
        else:
            base = value.rstrip("/") or value
        real = os.path.realpath(base) if base.startswith("/") else ""
        for expanded in (value, base, real):  # a linked directory shows in messages as its target
            if expanded and expanded != "/":
                shown.setdefault(expanded, (placeholder, False))
        return base

    path = _REFERENCE.sub(substitute, text)
    ordered = tuple(
        (value, replacement, credential)
        for value, (replacement, credential) in sorted(shown.items(), key=lambda item: len(item[0]), reverse=True)
    )
    return ExpandedLocation(raw=text, path=path, s3_options=options, shown=ordered)


def _s3_base(value: str, options: dict[str, str], shown: dict[str, tuple[str, bool]]) -> str:
    """``s3://[KEY:SECRET@]bucket[/prefix][?options]`` → ``s3://bucket/prefix``; the rest into ``options``."""
    parts = urlsplit(value)
    bucket = parts.hostname or ""
    if parts.username:
        options["access_key"] = unquote(parts.username)
        options["secret_key"] = unquote(parts.password or "")
        for secret in (parts.username, parts.password, options["access_key"], options["secret_key"]):
            if secret:
                shown[secret] = ("***", True)
    for key, item in parse_qsl(parts.query):
        if key in S3_OPTIONS and item:
            options[key] = item
        if item and key == "session_token":
            shown[item] = ("***", True)
    prefix = parts.path.rstrip("/")
    return f"s3://{bucket}{prefix}"
