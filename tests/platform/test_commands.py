"""The server commands as an operator runs them: real processes, real ports, real signals."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.platform import grpc_probe

REPO = Path(__file__).resolve().parents[2]
PRIVETL = [sys.executable, "-m", "privetl.cli"]

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(tmp_path: Path) -> dict[str, str]:
    """Embedded mode on a fresh SQLite database, probe gRPC service only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVETL_")}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "PRIVETL_MODE": "embedded",
            "PRIVETL_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "tests.platform.probe_settings",
            "PRIVETL_WEB_WORKERS": "1",
        }
    )
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PRIVETL, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=180
    )


def http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return response.read().decode()


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_until(check, what: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None:
            pytest.fail(f"process exited before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def grpc_serving(port: int) -> bool:
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=grpc_probe.SERVICE_NAME), timeout=1
            )
            return answer.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


@contextmanager
def started(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen]:
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*PRIVETL, *args], env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def stop(process: subprocess.Popen, log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=40) == 0, log.read_text()[-3000:]
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not stop on SIGTERM:\n{log.read_text()[-3000:]}")


def test_serve_runs_http_and_grpc_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = environment(tmp_path)
    http_port, grpc_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    with started(
        env, log, "serve", "--http-port", str(http_port), "--grpc-port", str(grpc_port)
    ) as process:
        wait_until(
            lambda: http_status(f"http://127.0.0.1:{http_port}/healthz") == 200,
            "health",
            process,
            log,
        )
        wait_until(lambda: grpc_serving(grpc_port), "gRPC SERVING", process, log)
        assert http_status(f"http://127.0.0.1:{http_port}/api/v1/audit-logs") == 401
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            probe = channel.unary_unary(
                grpc_probe.METHOD,
                request_serializer=StringValue.SerializeToString,
                response_deserializer=StringValue.FromString,
            )
            with pytest.raises(grpc.RpcError) as caught:
                probe(StringValue(value="whoami"), timeout=10)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        stop(process, log)
    output = log.read_text()
    assert f"http://localhost:{http_port}/api/docs/" in output
    assert f"localhost:{grpc_port}" in output
    assert http_status(f"http://127.0.0.1:{http_port}/healthz") is None  # gunicorn is gone too
    assert not grpc_serving(grpc_port)

    # the two refused calls identified nobody: counted in the login history (issue 10), not
    # audited; an audited change then verifies, and tampering with it is caught
    with sqlite3.connect(tmp_path / "var" / "privetl.sqlite3") as db:
        refused = db.execute("SELECT reason, SUM(count) FROM users_loginrefusal GROUP BY reason")
        assert dict(refused.fetchall()) == {"no credentials": 2}
    assert "chain intact: 0 records" in run(env, "audit", "verify").stdout
    assert run(env, "createadmin", "root", "Root").returncode == 0
    verified = run(env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "chain intact: 1 records" in verified.stdout
    # outside a test database, flush cannot erase history either
    flushed = run(env, "manage", "flush", "--no-input")
    assert flushed.returncode != 0
    assert "append-only" in flushed.stderr
    assert "chain intact: 1 records" in run(env, "audit", "verify").stdout
    with sqlite3.connect(tmp_path / "var" / "privetl.sqlite3") as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit_auditlog SET detail = 'nothing happened'")
        db.execute("DROP TRIGGER audit_auditlog_no_update")
        db.execute("UPDATE audit_auditlog SET detail = 'nothing happened' WHERE sequence = 1")
    broken = run(env, "audit", "verify")
    assert broken.returncode == 1
    assert "record #1" in broken.stderr and "was edited" in broken.stderr


def test_grpc_command_serves_and_stops_gracefully(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert run(env, "migrate", "--no-input", "-v", "0").returncode == 0
    port, metrics_port = free_port(), free_port()
    log = tmp_path / "grpc.log"
    with started(
        env, log, "grpc", "--port", str(port), "--metrics-port", str(metrics_port)
    ) as process:
        wait_until(lambda: grpc_serving(port), "gRPC SERVING", process, log)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            probe = channel.unary_unary(
                grpc_probe.METHOD,
                request_serializer=StringValue.SerializeToString,
                response_deserializer=StringValue.FromString,
            )
            with pytest.raises(grpc.RpcError):
                probe(StringValue(value="whoami"), timeout=10)
        metrics = http_text(f"http://127.0.0.1:{metrics_port}/metrics")
        assert (
            'privetl_grpc_requests_total{code="UNAUTHENTICATED",method="Call",service="probe"} 1.0'
            in metrics
        )
        stop(process, log)
    assert "gRPC server stopped" in log.read_text()


def test_web_command_serves_with_gunicorn(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert run(env, "migrate", "--no-input", "-v", "0").returncode == 0
    port = free_port()
    log = tmp_path / "web.log"
    with started(env, log, "web", "--port", str(port)) as process:
        wait_until(
            lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, "health", process, log
        )
        assert http_status(f"http://127.0.0.1:{port}/api/docs/") == 200
        stop(process, log)
    assert "gunicorn" in log.read_text().lower()
