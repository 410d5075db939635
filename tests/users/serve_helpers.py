"""A real ``privetl serve`` subprocess for end-to-end tests: SQLite in a temp dir, free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PRIVETL = [sys.executable, "-m", "privetl.cli"]

ONCE = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="serve() always runs on its own SQLite database, so the SQLite pass runs this already",
)
"""For tests on ``serve()``: it ignores DATABASE_URL, so the PostgreSQL pass would repeat them."""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """A running server: the environment that points at its database, and its ports."""

    env: dict[str, str]
    http_port: int
    grpc_port: int

    def cli(self, *args: str) -> str:
        """Run ``privetl ARGS`` against the server's database; its stdout."""
        done = subprocess.run(
            [*PRIVETL, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


@contextmanager
def serve(directory: Path) -> Iterator[Served]:
    """Migrate a fresh SQLite database under ``directory`` and run ``privetl serve`` on it."""
    env = {**os.environ, "PRIVETL_VAR_DIR": str(directory / "var"), "PRIVETL_MODE": "embedded"}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([*PRIVETL, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=180)
    http_port, grpc_port = free_port(), free_port()
    log = directory / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*PRIVETL, "serve", "--http-port", str(http_port), "--grpc-port", str(grpc_port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"privetl serve exited early:\n{log.read_text()[-3000:]}")
            try:
                url = f"http://127.0.0.1:{http_port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"privetl serve was not healthy within 60s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Served(env=env, http_port=http_port, grpc_port=grpc_port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
