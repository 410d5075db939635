"""The platform's gRPC server: every service of ``settings.GRPC_SERVICERS`` on one port.

Besides the services it serves ``grpc.health.v1.Health`` (SERVING for each service and for
"", so Kubernetes' gRPC probes and load balancers can check it) and server reflection
(``grpcurl list`` works without the .proto files).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from django.conf import settings
from django.utils.module_loading import import_string
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection


@dataclass(frozen=True)
class _Refused:
    """Stands in for a request that cannot be served as sent, so the call can be refused."""

    message: str


TIMESTAMP_MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
TIMESTAMP_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_TIMESTAMP = "google.protobuf.Timestamp"


def request_problem(message: Message) -> str | None:
    """What makes a parsed request unusable, naming the field; None when it is usable.

    Two things parse as valid protobuf yet cannot be served: text holding a NUL (PostgreSQL
    cannot store it, SQLite would) and a Timestamp outside the range the well-known type
    defines (0001-01-01 to 9999-12-31, nanos 0..999,999,999), which no date can hold.
    Iterative, so nesting cannot exhaust the stack.
    """
    stack: list[tuple[Message, str]] = [(message, "")]
    while stack:
        current, prefix = stack.pop()
        if current.DESCRIPTOR.full_name == _TIMESTAMP:
            seconds, nanos = current.seconds, current.nanos  # type: ignore[attr-defined]
            if not TIMESTAMP_MIN_SECONDS <= seconds <= TIMESTAMP_MAX_SECONDS:
                return (
                    f"{prefix or 'timestamp'}.seconds is {seconds}: a Timestamp must lie "
                    "between 0001-01-01 and 9999-12-31"
                )
            if not 0 <= nanos <= 999_999_999:
                return f"{prefix or 'timestamp'}.nanos is {nanos}: it must be 0 to 999999999"
            continue
        for field, value in current.ListFields():
            name = f"{prefix}.{field.name}" if prefix else field.name
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                items = [*value.keys(), *value.values()]
            elif field.is_repeated:
                items = list(value)
            else:
                items = [value]
            for item in items:
                if isinstance(item, str):
                    if "\x00" in item:
                        return f"{name} must not contain a NUL character (\\u0000)"
                elif isinstance(item, Message):
                    stack.append((item, name))
    return None


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            request = deserializer(data)
        except Exception as exc:  # protobuf's DecodeError, or anything a parser raises
            return _Refused(
                f"the request is not a valid protobuf message ({type(exc).__name__}); "
                "send the message the contract defines"
            )
        problem = request_problem(request) if isinstance(request, Message) else None
        return _Refused(problem) if problem else request

    return deserialize


class RequestCheckingInterceptor(grpc.ServerInterceptor):
    """Answers INVALID_ARGUMENT, not INTERNAL, to a request that cannot be served as sent.

    gRPC deserializes a request before any servicer code runs and answers INTERNAL when
    that fails ("Exception deserializing request!"). This wraps each unary-request
    handler: a request that fails to parse, or that ``request_problem`` finds unusable,
    reaches the handler as a marker, and the call is refused with a message naming the
    method and what was wrong. Every rpc of the contracts is unary.
    """

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        """The method's handler, with a deserializer that never raises."""
        handler = continuation(handler_call_details)
        if handler is None or handler.request_streaming:
            return handler
        method = handler_call_details.method
        behaviour = handler.unary_unary or handler.unary_stream
        if behaviour is None:  # pragma: no cover - a unary-request handler has one of the two
            return handler

        def refuse(request: Any, context: grpc.ServicerContext) -> Any:
            if isinstance(request, _Refused):
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"{method}: {request.message}"
                )
            return behaviour(request, context)

        make = (
            grpc.unary_unary_rpc_method_handler
            if handler.unary_unary
            else grpc.unary_stream_rpc_method_handler
        )
        return make(
            refuse,
            request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )


class _RecordingServer:
    """Passes every call to the real server and notes the names of the services added.

    ``register(server)`` functions call the generated ``add_*Servicer_to_server``, which
    uses these two public methods; the names feed health checking and reflection.
    """

    def __init__(self, server: grpc.Server) -> None:
        self._server = server
        self.names: list[str] = []

    def _note(self, name: str) -> None:
        if name and name not in self.names:
            self.names.append(name)

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        for handler in handlers:
            service_name = getattr(handler, "service_name", None)
            if callable(service_name):
                self._note(str(service_name()))
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service_name: str, method_handlers: Any) -> None:
        self._note(service_name)
        self._server.add_registered_method_handlers(service_name, method_handlers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


@dataclass(frozen=True)
class PlatformServer:
    """A built gRPC server with what was decided while building it.

    The port actually bound (``port=0`` asks for a free one) and the application services
    registered are kept beside the server, not patched onto the foreign ``grpc.Server``.
    """

    server: grpc.Server
    port: int
    services: tuple[str, ...]

    def start(self) -> None:
        """Start serving (the server is built stopped)."""
        self.server.start()

    def stop(self, grace: float | None) -> Any:
        """Stop serving; in-flight calls get ``grace`` seconds (see ``grpc.Server.stop``)."""
        return self.server.stop(grace)

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or ``timeout`` passes)."""
        return bool(self.server.wait_for_termination(timeout))


def build_server(
    *, port: int, max_workers: int | None = None, host: str = "[::]"
) -> PlatformServer:
    """A gRPC server with every configured servicer, health and reflection, bound to ``port``.

    The server is not started. ``port=0`` binds a free port; read it back from
    ``PlatformServer.port``. A servicer path in ``settings.GRPC_SERVICERS`` that cannot be
    imported is an error: a deployment must never start with a service silently missing.
    """
    workers = max_workers or settings.GRPC_MAX_WORKERS
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grpc"),
        options=[("grpc.so_reuseport", 0)],
        interceptors=[RequestCheckingInterceptor()],
    )
    recorder = _RecordingServer(server)
    for dotted in settings.GRPC_SERVICERS:
        try:
            register = import_string(dotted)
        except ImportError as exc:
            raise RuntimeError(
                f"GRPC_SERVICERS lists {dotted!r}, which cannot be imported: {exc}"
            ) from exc
        register(recorder)
    services = recorder.names

    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ["", *services]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    reflection.enable_server_reflection(
        [
            *services,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise RuntimeError(f"cannot listen for gRPC on {host}:{port} (port in use?)")
    return PlatformServer(server=server, port=bound, services=tuple(services))
