"""The one error vocabulary of privetl, and its two mappings (gRPC status, HTTP status).

Service functions and selectors raise only these. The gRPC interceptor and the DRF
exception handler are the only places that translate them, through ``GRPC_CODE`` and
``HTTP_STATUS`` below, so both doors always answer the same failure with the same message.
Messages are written for a person: they say what was wrong and what to do, and never
contain a secret or a token.
"""

from __future__ import annotations

from typing import ClassVar

import grpc


class PrivetlError(Exception):
    """Base of every expected failure. ``message`` is shown to the caller as is.

    ``identified_user_id`` names the user whose credentials were verified before the
    refusal (a blocked user, an admin who may not impersonate): the doors name that user in
    the audit record of the refusal. Empty when nobody was identified.

    ``reason`` classifies a refused authentication with a short fixed phrase ("expired
    token", "unknown issuer", ...) chosen by the platform, never the caller's text: refusals
    that identified nobody are counted per address, minute and reason in the login history,
    so the set of reasons must stay small whatever a caller sends.
    """

    code: ClassVar[str] = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        identified_user_id: str = "",
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.identified_user_id = identified_user_id
        self.reason = reason

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class InvalidArgument(PrivetlError):
    """The request itself is malformed: empty or over-long ids, unknown enum values, bad JSON."""

    code = "INVALID_ARGUMENT"


class NotFound(PrivetlError):
    """The thing named does not exist (or the caller may not know that it does)."""

    code = "NOT_FOUND"


class AlreadyExists(PrivetlError):
    """A create named an id that is taken."""

    code = "ALREADY_EXISTS"


class PermissionDenied(PrivetlError):
    """The caller is known but may not do this."""

    code = "PERMISSION_DENIED"


class Unauthenticated(PrivetlError):
    """No valid credentials: missing, expired, malformed or foreign-signed token, blocked user."""

    code = "UNAUTHENTICATED"


class FailedPrecondition(PrivetlError):
    """The request is well-formed but the system is not in a state to accept it."""

    code = "FAILED_PRECONDITION"


HTTP_STATUS: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "FAILED_PRECONDITION": 409,
    "INTERNAL": 500,
}
"""The REST side's status for each code: the single HTTP mapping."""


def grpc_status_code(code: str) -> grpc.StatusCode:
    """The gRPC status for an error code: the single gRPC mapping."""
    return getattr(grpc.StatusCode, code, grpc.StatusCode.INTERNAL)
