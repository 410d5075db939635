"""``privetl.demo.connections_flow`` (used by ``make demo``, after the access flow) against a
real ``privetl serve``: both connections made, tested and listed with alice's access."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.users.serve_helpers import ONCE, Served, serve

pytestmark = [pytest.mark.slow, ONCE]

RUN = (
    "import os, sys, pathlib, django;"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'privetl.config.settings');"
    "django.setup();"
    "from privetl.demo.access_flow import run_access_flow;"
    "from privetl.demo.connections_flow import run_connections_flow;"
    "run_access_flow(http_port=int(sys.argv[1]), grpc_port=int(sys.argv[2]));"
    "run_connections_flow(http_port=int(sys.argv[1]), grpc_port=int(sys.argv[2]),"
    " work_dir=pathlib.Path(sys.argv[3]))"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path) as served:
        yield served


def test_connections_flow_makes_tests_and_lists_both_connections(
    server: Served, tmp_path: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN,
            str(server.http_port),
            str(server.grpc_port),
            str(tmp_path / "work"),
        ],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "CreateConnection 'customers-legacy-db' (SQL, SQLite) → owners ['olga']" in out
    assert "TestConnection 'customers-legacy-db' → ok=True: SELECT 1 answered" in out
    assert "POST /connections/customers/test → ok=True" in out
    assert (
        "GET /connections as alice → [('customers', 'GRANTED', ['READ']), "
        "('customers-legacy-db', 'NONE', [])]" in out
    )
    assert out.splitlines()[-1].strip().startswith("connections ready")
    assert "eyJ" not in out  # no token is printed
