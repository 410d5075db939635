"""``${NAME}`` references in connection strings, headers and environments, expanded at run time.

Secrets stay out of the data module document: it names the variable, the run supplies the
value. An unset variable is an error naming the variable (never any value), because running
with an empty password or token would fail later with a far less helpful message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

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
