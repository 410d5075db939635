"""The REST door: bearer-token authentication and the one exception handler of the API.

``BearerTokenAuthentication`` turns ``Authorization``, ``X-Act-As``, ``X-Request-ID`` and
the peer address into an ``Actor`` (door ``"rest"``) with the same rules as the gRPC door.
``exception_handler`` renders every failure as ``{"code", "message", "field"}`` with the
HTTP status of ``privetl.common.errors.HTTP_STATUS``, and records every 401/403 by
``refusal_record``: in the audit log when a user was identified, else as a count in the
login history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response

from privetl.common.context import Actor, new_request_id
from privetl.common.errors import HTTP_STATUS, PrivetlError, Unauthenticated
from privetl.common.redaction import redacted_traceback
from privetl.platform.auth import NO_CREDENTIALS_REASON, authenticate_bearer, refusal_record

logger = logging.getLogger(__name__)

REQUEST_ID_MAX = 128
NO_CREDENTIALS = (
    "no credentials: send 'Authorization: Bearer <token>' "
    "(get a token with 'privetl token USER_ID' or from your SSO provider)"
)


class ErrorSerializer(serializers.Serializer):
    """The shape of every error response of the API (for the OpenAPI schema)."""

    code = serializers.CharField(help_text="INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND, ...")
    message = serializers.CharField(help_text="What went wrong and what to do about it.")
    field = serializers.CharField(allow_null=True, help_text="The offending input, if any.")


@dataclass(frozen=True)
class Principal:
    """What DRF sees as ``request.user``: authenticated, carrying the ``Actor``."""

    actor: Actor
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def pk(self) -> str:
        """DRF's throttles and Django's logging expect a primary key."""
        return self.actor.user_id

    def __str__(self) -> str:
        return self.actor.user_id


def request_id_of(request: Any) -> str:
    """The caller's ``X-Request-ID`` when sane, else a fresh one (kept on the request)."""
    cached = getattr(request, "_privetl_request_id", None)
    if cached:
        return str(cached)
    meta = getattr(request, "META", {})
    given = str(meta.get("HTTP_X_REQUEST_ID", "")).strip()
    value = (
        given
        if given and len(given) <= REQUEST_ID_MAX and given.isprintable()
        else new_request_id()
    )
    try:
        request._privetl_request_id = value
    except AttributeError:  # pragma: no cover - exotic request objects
        pass
    return value


class BearerTokenAuthentication(BaseAuthentication):
    """DRF authentication with the platform's bearer tokens (own issuer or SSO)."""

    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        """The caller's principal; None without an Authorization header.

        None lets public views (schema, docs) answer anonymous callers; protected views
        then fail DRF's ``IsAuthenticated`` and answer 401 UNAUTHENTICATED, as gRPC does.
        A header that is present but bad is refused here with the precise reason.
        """
        meta = request.META
        authorization = meta.get("HTTP_AUTHORIZATION")
        if not authorization:
            return None
        actor = authenticate_bearer(
            authorization,
            act_as=meta.get("HTTP_X_ACT_AS") or None,
            address=meta.get("REMOTE_ADDR") or None,
            request_id=request_id_of(request._request),
            door="rest",
        )
        token = (authorization or "").partition(" ")[2].strip()
        return Principal(actor=actor), token

    def authenticate_header(self, request: Request) -> str:
        """Makes DRF answer 401 (not 403) with ``WWW-Authenticate`` when credentials fail."""
        return 'Bearer realm="privetl"'


def actor_from(request: Request) -> Actor:
    """The authenticated ``Actor`` of a DRF request (views call this, never ``request.user``)."""
    user = getattr(request, "user", None)
    actor = getattr(user, "actor", None)
    if not isinstance(actor, Actor):
        raise Unauthenticated(NO_CREDENTIALS)
    return actor


def _first_field_error(detail: Any, path: str = "") -> tuple[str | None, str]:
    """The first (field path, message) of a DRF ValidationError detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = str(key) if not path else f"{path}.{key}"
            if key == "non_field_errors":
                sub = path
            return _first_field_error(value, sub)
        return (path or None), "invalid input"
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                return _first_field_error(value, f"{path}[{index}]" if path else str(index))
            return (path or None), str(value)
        return (path or None), "invalid input"
    return (path or None), str(detail)


def _body(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field}


def _service_of(context: dict[str, Any]) -> tuple[str, str]:
    """(service, action) for the audit of a refused call: the view's app and its method."""
    view = context.get("view")
    request = context.get("request")
    module = type(view).__module__ if view is not None else ""
    parts = module.split(".")
    service = getattr(view, "audit_service", None) or (
        parts[1] if len(parts) > 2 and parts[0] == "privetl" else "rest"
    )
    action = f"{getattr(request, 'method', '') or ''} {type(view).__name__ if view else ''}"
    return str(service), action.strip() or "unknown"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The API's single error renderer: same shape for every error, same codes as gRPC."""
    request = context.get("request")
    if isinstance(exc, PrivetlError):
        code, message, field = exc.code, exc.message, exc.field
    elif isinstance(exc, exceptions.ParseError):
        code, message, field = "INVALID_ARGUMENT", f"malformed request body: {exc.detail}", None
    elif isinstance(exc, exceptions.ValidationError):
        field, text = _first_field_error(exc.detail)
        code = "INVALID_ARGUMENT"
        message = f"{field}: {text}" if field else text
    elif isinstance(exc, exceptions.NotAuthenticated):
        code, message, field = "UNAUTHENTICATED", NO_CREDENTIALS, None
    elif isinstance(exc, exceptions.AuthenticationFailed):
        code, message, field = "UNAUTHENTICATED", str(exc.detail), None
    elif isinstance(exc, exceptions.PermissionDenied):
        code, message, field = "PERMISSION_DENIED", str(exc.detail), None
    elif isinstance(exc, exceptions.NotFound | Http404):
        code, message, field = "NOT_FOUND", "not found: check the URL and the id", None
    elif isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"request body larger than the limit of {limit} bytes: send less per request"
        return Response(_body("INVALID_ARGUMENT", message, None), status=413)
    elif isinstance(exc, exceptions.MethodNotAllowed):
        response = Response(_body("INVALID_ARGUMENT", str(exc.detail), None), status=405)
        return response
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        response = Response(_body("INVALID_ARGUMENT", str(exc.detail), None), status=415)
        return response
    elif isinstance(exc, exceptions.Throttled):
        response = Response(_body("RESOURCE_EXHAUSTED", str(exc.detail), None), status=429)
        return response
    elif isinstance(exc, exceptions.APIException):
        code, message, field = "INVALID_ARGUMENT", str(exc.detail), None
    else:
        request_id = (
            request_id_of(getattr(request, "_request", request)) if request else new_request_id()
        )
        logger.error(
            "unexpected %s in the REST API (request id %s)\n%s",
            type(exc).__name__,
            request_id,
            redacted_traceback(exc),
        )
        return Response(
            _body(
                "INTERNAL", f"internal error; quote request id {request_id} to an operator", None
            ),
            status=500,
        )
    status = HTTP_STATUS.get(code, 500)
    if status in (401, 403):
        _record_refusal(request, exc, context, message)
    response = Response(_body(code, message, field), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="privetl"'
    return response


def _refusal_reason(exc: Exception) -> str:
    """The fixed phrase a refusal that identified nobody is counted under."""
    if isinstance(exc, PrivetlError):
        return exc.reason or "refused"
    if isinstance(exc, exceptions.NotAuthenticated):
        return NO_CREDENTIALS_REASON
    if isinstance(exc, exceptions.AuthenticationFailed):
        return "invalid credentials"
    return "refused"


def _record_refusal(request: Any, exc: Exception, context: dict[str, Any], message: str) -> None:
    """Audit what an identified user was refused; count an anonymous refusal (``refusal_record``)."""
    service, action = _service_of(context)
    actor = getattr(getattr(request, "_user", None), "actor", None) if request else None
    meta = getattr(request, "META", {}) if request is not None else {}
    address = meta.get("REMOTE_ADDR") or None
    refusal_record(
        actor=actor if isinstance(actor, Actor) else None,
        error=exc if isinstance(exc, PrivetlError) else None,
        service=service,
        action=action,
        message=message,
        reason=_refusal_reason(exc),
        address=address,
        host=address,
        request_id=(
            request_id_of(getattr(request, "_request", request)) if request else new_request_id()
        ),
        door="rest",
    )


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes ``BearerTokenAuthentication`` in the OpenAPI schema (Swagger's Authorize)."""

    target_class = "privetl.platform.rest.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "A token of this platform (`privetl token USER_ID`) or an ID token of a "
                "configured SSO provider. Admins may add `X-Act-As: <user id>` to act as "
                "another user; `X-Request-ID` is echoed into the audit log."
            ),
        }
