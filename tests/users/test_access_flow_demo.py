"""``privetl.demo.access_flow`` (used by ``make demo``) against a real ``privetl serve``.

The flow runs in its own process, configured like ``make demo`` configures it: pointed at
the server's database so its management commands and the server agree.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.users.serve_helpers import ONCE, Served, serve

pytestmark = [pytest.mark.slow, ONCE]

RUN = (
    "import os, sys, django;"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'privetl.config.settings');"
    "django.setup();"
    "from privetl.demo.access_flow import run_access_flow;"
    "run_access_flow(http_port=int(sys.argv[1]), grpc_port=int(sys.argv[2]))"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path) as served:
        yield served


def test_access_flow_prints_every_step_and_ends_with_the_grant(server: Served) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(server.http_port), str(server.grpc_port)],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    doors = [line.split("]")[0].strip(" [") for line in lines if line.strip().startswith("[")]
    assert {"cli", "rest", "grpc"} <= set(doors)
    assert any("bootstrap" in line for line in lines)
    assert "GetUser alice → ext_datamodule_accesses [('customers', ['READ'])]" in done.stdout
    assert (
        "GET /users/alice → ext_datamodule_accesses [('customers', ['READ'], 'APPROVED')]"
        in done.stdout
    )
    assert lines[-1].strip().startswith("access flow complete")
    assert "eyJ" not in done.stdout  # no token is printed


def test_access_flow_module_starts_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "privetl.demo.access_flow"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "make demo" in done.stdout
