"""A real platform for the run tests: ``privetl serve`` (no embedded worker) on a database of
its own — SQLite in a temp dir, or a fresh PostgreSQL database in the PostgreSQL pass — with
the demo's access, connections and task flows run against it through the APIs, so a released
task (``customers-from-scripts``) and a Task-Manager (tom) wait for the tests. Workers are
started by each test as real ``privetl worker`` processes, killed as the test needs.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.users.serve_helpers import PRIVETL, free_port

TASK = "customers-from-scripts"
SETUP = (
    "import os, sys, pathlib, django;"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'privetl.config.settings');"
    "django.setup();"
    "from privetl.demo.access_flow import run_access_flow, _Rest, _token;"
    "from privetl.demo.connections_flow import run_connections_flow;"
    "from privetl.demo.task_flow import run_task_flow;"
    "from privetl.demo.run_flow import grant_run_roles;"
    "ports = dict(http_port=int(sys.argv[1]), grpc_port=int(sys.argv[2]));"
    "work = pathlib.Path(sys.argv[3]);"
    "run_access_flow(**ports);"
    "run_connections_flow(**ports, work_dir=work);"
    "run_task_flow(**ports, work_dir=work, run_export=False);"
    "grant_run_roles(**ports);"
    "print('TOKEN', _token('tom'));"
    "print('ADMIN', _token('demo-admin'));"
    "print('DANA', _token('dana'))"
)


@dataclass
class Platform:
    """The served platform, its environment, the Task-Manager's token, the sources' folder."""

    env: dict[str, str]
    http_port: int
    grpc_port: int
    tom: str
    admin: str
    dana: str
    sources: Path
    directory: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/api/v1"

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        **params: Any,
    ) -> requests.Response:
        return requests.request(
            method,
            self.base + path,
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {token or self.tom}"},
            timeout=30,
        )

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.call("GET", f"/runs/{run_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait(
        self, run_id: str, predicate: Any, timeout: float = 120, what: str = ""
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if predicate(run):
                return run
            if time.monotonic() > deadline:
                pytest.fail(
                    f"run {run_id} not {what or 'there'} within {timeout:.0f}s: {run['state']} {run['stage']} {run['error']}"
                )
            time.sleep(0.1)

    @contextmanager
    def worker(
        self, processes: int = 1, metrics_port: int = 0
    ) -> Iterator[subprocess.Popen[bytes]]:
        """A real ``privetl worker`` (its own process group, so kill -9 takes all of it)."""
        log = (self.directory / f"worker-{uuid.uuid4().hex[:6]}.log").open("wb")
        process = subprocess.Popen(
            [
                *PRIVETL,
                "worker",
                "--processes",
                str(processes),
                "--metrics-port",
                str(metrics_port),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()


def _database_url(directory: Path) -> Iterator[str | None]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield None
        return
    import psycopg

    name = f"privetl_runs_{uuid.uuid4().hex[:8]}"
    maintenance = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The served platform of a test module; a module's ``PLATFORM_ENV`` (a dict) adds settings
    to every process of it (e.g. the run engine)."""
    directory = tmp_path_factory.mktemp("runs")
    for database_url in _database_url(directory):
        env = {
            **os.environ,
            "PRIVETL_VAR_DIR": str(directory / "var"),
            "PRIVETL_MODE": "embedded",
            "PRIVETL_RUN_LEASE_SECONDS": "3",
            "PRIVETL_WORKER_POLL_SECONDS": "0.2",
            **getattr(request.module, "PLATFORM_ENV", {}),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        subprocess.run(
            [*PRIVETL, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=300
        )
        http_port, grpc_port = free_port(), free_port()
        log = (directory / "serve.log").open("wb")
        server = subprocess.Popen(
            [
                *PRIVETL,
                "serve",
                "--workers",
                "0",
                "--http-port",
                str(http_port),
                "--grpc-port",
                str(grpc_port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (
                        requests.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2).status_code
                        == 200
                    ):
                        break
                except requests.RequestException:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "privetl serve did not start:\n"
                        + (directory / "serve.log").read_text()[-3000:]
                    )
                time.sleep(0.3)
            work = directory / "work"
            done = subprocess.run(
                [sys.executable, "-c", SETUP, str(http_port), str(grpc_port), str(work)],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            tokens = dict(
                line.split(" ", 1)
                for line in done.stdout.splitlines()
                if line.startswith(("TOKEN ", "ADMIN ", "DANA "))
            )
            yield Platform(
                env=env,
                http_port=http_port,
                grpc_port=grpc_port,
                tom=tokens["TOKEN"],
                admin=tokens["ADMIN"],
                dana=tokens["DANA"],
                sources=(work / "module").resolve(),
                directory=directory,
            )
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


def enlarge_customers(sources: Path, copies: int) -> int:
    """Make the CRM's customers file ``copies`` times larger: each copy of a record a new id,
    the same quasi-identifiers (so the privacy targets still hold). Returns the rows."""
    path = sources / "customers_crm.csv"
    original = path.with_suffix(".original.csv")
    if not original.exists():
        original.write_bytes(path.read_bytes())
    with original.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for copy in range(copies):
            for row in rows:
                writer.writerow(
                    {
                        **row,
                        "id": int(row["id"]) + copy * 1_000_000,
                        "email": f"c{copy}.{row['email']}",
                    }
                )
    return len(rows) * copies
