"""The gRPC door: authentication, error mapping, metrics and DB hygiene for every servicer method.

A servicer method is written as ``def GetUser(self, request, context, *, actor) -> Response``
and decorated with ``@grpc_door(service="users", action="GetUser")``. The decorator:

1. reads ``authorization``, ``x-act-as`` and ``x-request-id`` metadata and the peer
   address, and authenticates them into an ``Actor`` (door ``"grpc"``);
2. calls the method;
3. maps a ``PrivetlError`` to its status code with the same message as the REST door
   (recording PERMISSION_DENIED / UNAUTHENTICATED attempts by ``refusal_record``: in the
   audit log when a user was identified, else counted in the login history); logs any
   other exception (type and request id only, never the request) and answers INTERNAL
   with the request id so an operator can find the log line;
4. closes stale database connections before and after: gRPC runs handlers on pool
   threads that Django's request signals never see.

Every call is counted and timed in Prometheus per service, method and status code.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from django.db import close_old_connections
from prometheus_client import Counter, Histogram

from privetl.common.context import Actor, new_request_id
from privetl.common.errors import PrivetlError, grpc_status_code
from privetl.common.redaction import redacted_traceback
from privetl.platform.auth import authenticate_bearer, refusal_record

logger = logging.getLogger(__name__)

GRPC_REQUESTS = Counter(
    "privetl_grpc_requests_total",
    "gRPC calls handled, by service, method and status code.",
    ["service", "method", "code"],
)
GRPC_LATENCY = Histogram(
    "privetl_grpc_request_seconds",
    "gRPC call latency in seconds, by service, method and status code.",
    ["service", "method", "code"],
)

DENIAL_CODES = frozenset({"PERMISSION_DENIED", "UNAUTHENTICATED"})
REQUEST_ID_MAX = 128

Response = TypeVar("Response")


def _metadata(context: grpc.ServicerContext) -> dict[str, str]:
    """Invocation metadata as a dict (first value wins; binary headers are ignored)."""
    found: dict[str, str] = {}
    for name, value in context.invocation_metadata() or ():
        key = name.lower()
        if isinstance(value, str) and key not in found:
            found[key] = value
    return found


def peer_address(context: grpc.ServicerContext) -> str | None:
    """The caller's address without the transport prefix ("ipv4:127.0.0.1:5000" → "127.0.0.1:5000")."""
    peer = context.peer() or ""
    for prefix in ("ipv4:", "ipv6:", "unix:"):
        if peer.startswith(prefix):
            return peer[len(prefix) :]
    return peer or None


def peer_host(context: grpc.ServicerContext) -> str | None:
    """The caller's host, without transport prefix or port ("ipv6:[::1]:5000" → "::1")."""
    peer = context.peer() or ""
    for prefix in ("ipv4:", "ipv6:"):
        if peer.startswith(prefix):
            host = peer[len(prefix) :].rsplit(":", 1)[0]
            return host.strip("[]") or None
    return peer_address(context)


def _request_id(metadata: dict[str, str]) -> str:
    given = metadata.get("x-request-id", "").strip()
    if given and len(given) <= REQUEST_ID_MAX and given.isprintable():
        return given
    return new_request_id()


def grpc_door(
    *, service: str, action: str
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Wrap a servicer method as described in the module docstring."""

    def decorate(method: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(method)
        def handler(self: Any, request: Any, context: grpc.ServicerContext) -> Response:
            started = time.perf_counter()
            code = "OK"
            metadata = _metadata(context)
            request_id = _request_id(metadata)
            context.set_trailing_metadata((("x-request-id", request_id),))
            close_old_connections()
            actor: Actor | None = None
            try:
                try:
                    actor = authenticate_bearer(
                        metadata.get("authorization"),
                        act_as=metadata.get("x-act-as") or None,
                        address=peer_address(context),
                        request_id=request_id,
                        door="grpc",
                    )
                    return method(self, request, context, actor=actor)
                except PrivetlError as exc:
                    code = exc.code
                    if code in DENIAL_CODES:
                        refusal_record(
                            actor=actor,
                            error=exc,
                            service=service,
                            action=action,
                            message=exc.message,
                            reason=exc.reason,
                            address=peer_address(context),
                            host=peer_host(context),
                            request_id=request_id,
                            door="grpc",
                        )
                    context.abort(grpc_status_code(code), exc.message)
                except Exception as exc:
                    # The method called context.abort itself (it raises a bare Exception after
                    # setting the code): the status is already decided, let it through.
                    # ServicerContext.code() exists since grpcio 1.38; typeshed's stub lacks it.
                    decided = context.code()  # type: ignore[attr-defined]
                    if decided not in (None, grpc.StatusCode.OK):
                        code = decided.name
                        raise
                    code = "INTERNAL"
                    logger.error(
                        "unexpected %s in %s.%s (request id %s)\n%s",
                        type(exc).__name__,
                        service,
                        action,
                        request_id,
                        redacted_traceback(exc),
                    )
                    context.abort(
                        grpc.StatusCode.INTERNAL,
                        f"internal error; quote request id {request_id} to an operator",
                    )
                raise AssertionError("unreachable: context.abort always raises")
            finally:
                elapsed = time.perf_counter() - started
                GRPC_REQUESTS.labels(service, action, code).inc()
                GRPC_LATENCY.labels(service, action, code).observe(elapsed)
                close_old_connections()

        return handler

    return decorate
