"""The engine's errors. Each names what is wrong and where, for a person to act on.

The engine is framework-free, so these do not derive from ``privetl.common.errors``; the
services map them once (``MetadataError`` -> INVALID_ARGUMENT, the rest -> FAILED_PRECONDITION).
"""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base of every expected engine failure; the run publishes nothing."""


@dataclass(frozen=True)
class Problem:
    """One mistake in a data module document, at a JSON path such as ``$.recordSet[1].key``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class MetadataError(EngineError):
    """The document is not a valid data module; ``problems`` lists every mistake found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the data module has {len(self.problems)} problem(s):\n{lines}")


class ExtractionError(EngineError):
    """A collection-protocol script failed; names the script and the cause."""

    def __init__(self, script_id: str, message: str) -> None:
        self.script_id = script_id
        self.message = message
        super().__init__(f"extraction script {script_id!r} failed: {message}")


class TransformationError(EngineError):
    """A transformation's SQL was refused or failed."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"transformation {name!r}: {message}")


class PrivacyTargetNotMet(EngineError):
    """A declared privacy target cannot be met within the allowed suppression; nothing is published."""


class PublishError(EngineError):
    """The new version could not be written; the previous version is intact."""


class EngineOutOfMemory(EngineError):
    """The engine ran past its memory bound; the run failed and published nothing.

    Raised by the backend, because only the backend knows its bound (the limit it was given,
    else its own default) and what loosens it; the runner reports it like any other engine
    failure and never has to recognise one engine's exceptions or read its defaults.
    ``limit`` is the bound in the engine's own notation, ``hint`` what to do about it.
    """

    def __init__(self, *, limit: str, cause: str, hint: str) -> None:
        self.limit = limit
        self.cause = cause
        self.hint = hint
        super().__init__(f"the engine ran out of memory (limit {limit}): {cause}. {hint}")


class EngineInterrupted(EngineError):
    """The engine's running work was interrupted on request (``Backend.interrupt``); the
    backend cannot be used further and the result of the interrupted call is lost."""


class PseudonymCollision(EngineError):
    """Two values of a pseudonymized column met on one integer token: publishing would merge
    their records, so the run fails and publishes nothing (widen the token range)."""


class UnprotectedPersonalData(EngineError):
    """A published column with no anonymization rule looks like personal data (e-mail
    addresses, phone numbers, ...); nothing is published. ``findings`` names each column,
    the pattern and how many sampled values matched."""

    def __init__(self, findings: list[str]) -> None:
        self.findings = list(findings)
        lines = "\n".join(f"  - {f}" for f in self.findings)
        super().__init__(
            f"{len(self.findings)} published column(s) look like personal data and have no anonymization rule:\n"
            f"{lines}\nGive each a rule in privetl:anonymize (suppress, pseudonymize, generalize, ...), or mark a "
            'column whose values are truly public with "privetl:public": true'
        )
