"""gRPC in tests: the platform's real server on a free loopback port, or a servicer called
in the test thread (where query-counting fixtures can see its queries)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import grpc

from privetl.platform.grpc_server import build_server


@contextmanager
def running_server() -> Iterator[int]:
    """Build the server with every configured servicer, start it, yield its port, stop it."""
    server = build_server(port=0, host="127.0.0.1", max_workers=8)
    server.start()
    try:
        yield server.port
    finally:
        server.stop(grace=None).wait(5)


class _Metadatum(NamedTuple):
    """One metadata entry, shaped as grpc's own: a (key, value) named tuple."""

    key: str
    value: str


class InThreadContext:
    """The part of ``grpc.ServicerContext`` the door uses, for a call made in this thread."""

    def __init__(self, token: str) -> None:
        self._metadata = (_Metadatum("authorization", f"Bearer {token}"),)
        self.status: grpc.StatusCode | None = None

    def invocation_metadata(self) -> tuple[_Metadatum, ...]:
        return self._metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:40000"

    def set_trailing_metadata(self, metadata: object) -> None:
        pass

    def code(self) -> grpc.StatusCode | None:
        return self.status

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.status = code
        raise AssertionError(f"the call failed: {code.name}: {details}")
