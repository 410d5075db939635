"""An in-process gRPC server for tests: the platform's real server on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
