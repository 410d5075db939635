"""A privetl process with gRPC at work still starts programs the way PySpark starts its JVM.

grpcio >= 1.81 crashes one child in 60 to 400 started with ``preexec_fn`` while a channel is
busy (grpc/grpc#43055); CI lost a whole Spark pass to one such JVM start. The check runs in a
fresh interpreter without the variable, so that only ``import privetl`` can set it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import subprocess, threading
    from concurrent import futures

    import privetl  # first, as in every privetl program
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(4))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    done = threading.Event()

    def busy():
        while not done.is_set():
            stub.Check(health_pb2.HealthCheckRequest())

    threading.Thread(target=busy, daemon=True).start()
    failed = sum(
        subprocess.Popen(["true"], stdin=subprocess.PIPE, preexec_fn=lambda: None).wait() != 0
        for _ in range(1000)
    )
    done.set()
    print("failed", failed)
    """
)


def test_children_started_with_preexec_fn_survive_a_busy_grpc_channel() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRPC_ENABLE_FORK_SUPPORT"}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["failed", "0"], done.stdout + done.stderr
