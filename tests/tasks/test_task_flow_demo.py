"""``privetl.demo.task_flow`` (used by ``make demo``, after the access and connections flows)
against a real ``privetl serve``: the sample module built from scripts through the APIs,
Release refused naming the missing uploader and then done, the export run by ``privetl run``
publishing the rows the hand-written examples/customers/module.json publishes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from privetl.engine.publish import read_table
from tests.users.serve_helpers import ONCE, Served, serve

pytestmark = [pytest.mark.slow, ONCE]

RUN = (
    "import os, sys, pathlib, django;"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'privetl.config.settings');"
    "django.setup();"
    "from privetl.demo.access_flow import run_access_flow;"
    "from privetl.demo.connections_flow import run_connections_flow;"
    "from privetl.demo.task_flow import run_task_flow;"
    "ports = dict(http_port=int(sys.argv[1]), grpc_port=int(sys.argv[2]));"
    "work = pathlib.Path(sys.argv[3]);"
    "run_access_flow(**ports);"
    "run_connections_flow(**ports, work_dir=work);"
    "run_task_flow(**ports, work_dir=work)"
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path) as served:
        yield served


def _rows(root: Path, table: str) -> list[dict]:
    return sorted(
        read_table(root, table).to_pylist(),
        key=lambda r: json.dumps(r, sort_keys=True, default=str),
    )


def test_task_flow_releases_after_the_uploader_and_the_export_publishes_the_sample(
    server: Served, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(server.http_port), str(server.grpc_port), str(work)],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()

    refused = next(i for i, line in enumerate(lines) if "Release (no uploader yet)" in line)
    assert "FAILED_PRECONDITION" in lines[refused]
    assert lines[refused + 1].strip().startswith("- the task has no uploader")
    released = next(i for i, line in enumerate(lines) if "/release → RELEASED" in line)
    assert refused < released

    # The export ran with the connections supplied as docs/tasks.md says, no string printed.
    exported = work / "task-run" / "module.json"
    document = json.loads(exported.read_text(encoding="utf-8"))
    assert document["privetl:upload"]["destination"]["path"].startswith("${PRIVETL_CONNECTION_")
    assert "sqlite:" not in exported.read_text(encoding="utf-8")
    assert "sqlite:" not in done.stdout and "eyJ" not in done.stdout

    # The same rows as the hand-written module on the same sources, checked here too.
    published, reference = work / "published", work / "hand-written"
    for table in ("customers", "orders"):
        ours = _rows(published, table)
        assert ours and ours == _rows(reference, table), table
        assert f"{table}: the task published {len(ours)} rows" in done.stdout
    assert lines[-1].strip().startswith("task flow complete")
