"""Runs in real ``privetl worker`` processes against a real ``privetl serve`` (SQLite, or
PostgreSQL in that pass): Stop interrupting a long stage, a worker killed with -9 in the
middle of a stage and its run continuing on another worker from its last finished stage,
two workers racing for one run, the refusals of the run controls.

The long stage comes from the data: the CRM's customers file is made large (the same
quasi-identifiers copied under new ids, so the privacy targets still hold).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.runs.conftest import TASK, Platform, enlarge_customers

pytestmark = pytest.mark.slow

ACTIVE = {"QUEUED", "RUNNING", "PAUSED", "AWAITING_UPLOAD"}


def _start(platform: Platform) -> str:
    response = platform.call("POST", f"/tasks/{TASK}/start")
    assert response.status_code == 202, response.text
    return str(response.json()["run_id"])


def _stop(platform: Platform, clear_outbox: bool = True) -> None:
    response = platform.call("POST", f"/tasks/{TASK}/stop", {"clear_outbox": clear_outbox})
    assert response.status_code in (200, 409), response.text


def test_the_run_controls_refuse_what_the_state_does_not_allow(platform: Platform) -> None:
    # no run yet (or the last one ended): nothing to pause, resume or stop
    for control in ("pause", "resume"):
        refused = platform.call("POST", f"/tasks/{TASK}/{control}")
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "FAILED_PRECONDITION"
    run_id = _start(platform)  # no worker runs: it stays queued
    second = platform.call("POST", f"/tasks/{TASK}/start")
    assert second.status_code == 409 and run_id in second.json()["message"]
    paused = platform.call("POST", f"/tasks/{TASK}/pause")
    assert paused.status_code == 200 and paused.json()["state"] == "PAUSED"
    again = platform.call("POST", f"/tasks/{TASK}/pause")
    assert again.status_code == 409
    # who may: the admin has no PROCESS_ETL_TASK; a missing task is 404
    denied = platform.call("POST", f"/tasks/{TASK}/resume", token=platform.admin)
    assert denied.status_code == 403, denied.text
    assert platform.call("POST", "/tasks/no-such-task/start").status_code == 404
    stopped = platform.call("POST", f"/tasks/{TASK}/stop", {"clear_outbox": True})
    assert stopped.status_code == 200 and stopped.json()["state"] == "STOPPED"
    assert platform.run(run_id)["state"] == "STOPPED"
    bad = platform.call("POST", f"/tasks/{TASK}/stop", {"clear_outbox": "yes"})
    assert bad.status_code == 400 and bad.json()["field"] == "clear_outbox"


def test_stop_interrupts_a_long_stage_and_frees_the_worker(platform: Platform) -> None:
    enlarge_customers(platform.sources, copies=1500)
    try:
        with platform.worker(processes=1):
            run_id = _start(platform)
            platform.wait(
                run_id, lambda r: r["state"] == "RUNNING" and r["stage"] == "clean", 180, "cleaning"
            )
            time.sleep(1.0)  # well inside the long clean stage
            asked = time.monotonic()
            stopped = platform.call("POST", f"/tasks/{TASK}/stop", {"clear_outbox": True})
            assert stopped.status_code == 200 and stopped.json()["state"] == "STOPPED"
            run = platform.run(run_id)
            assert run["state"] == "STOPPED" and "clean" not in run["stages_done"]
            # the single worker process is free again within seconds: a new run starts on it
            enlarge_customers(platform.sources, copies=1)
            second = _start(platform)
            platform.wait(second, lambda r: r["state"] != "QUEUED", 30, "taken by the freed worker")
            freed = time.monotonic() - asked
            assert freed < 15, f"the worker took {freed:.1f}s to let the stopped run go"
            platform.wait(second, lambda r: r["state"] == "AWAITING_UPLOAD", 180, "verified")
            _stop(platform)
            assert platform.run(run_id)["stages_done"] == run["stages_done"]  # nothing more done
    finally:
        _stop(platform)  # a failure above leaves no run behind for the next test
        enlarge_customers(platform.sources, copies=1)


def test_a_worker_killed_mid_stage_is_replaced_and_the_run_continues_after_its_last_stage(
    platform: Platform,
) -> None:
    enlarge_customers(platform.sources, copies=1500)
    try:
        with platform.worker(processes=1) as first:
            run_id = _start(platform)
            platform.wait(
                run_id, lambda r: r["stage"] == "clean" and r["state"] == "RUNNING", 180, "cleaning"
            )
            time.sleep(1.0)
            os.killpg(first.pid, signal.SIGKILL)  # the whole cluster, mid-stage
            first.wait()
        killed = platform.run(run_id)
        assert killed["state"] == "RUNNING" and killed["stages_done"] == ["extract"]
        time.sleep(3.5)  # the lease (3 s in these tests) runs out: nobody renews it
        with platform.worker(processes=1):
            run = platform.wait(
                run_id, lambda r: r["state"] not in {"QUEUED", "RUNNING"}, 300, "finished"
            )
        assert run["state"] == "AWAITING_UPLOAD", run["error"]
        assert run["stage_executions"]["extract"] == 1  # finished before the kill: not redone
        assert run["stage_executions"]["clean"] == 2  # cut by the kill, redone from its start
        assert run["attempts"] == 2
        audit = platform.call("GET", "/audit-logs", token=platform.admin, target_id=run_id).json()
        actions = [r["action"] for r in audit["audit_logs"]]
        assert "run.recover" in actions
        _stop(platform)
    finally:
        _stop(platform)  # a failure above leaves no run behind for the next test
        enlarge_customers(platform.sources, copies=1)


def test_two_workers_racing_for_one_run_execute_it_once(platform: Platform) -> None:
    with platform.worker(processes=2), platform.worker(processes=1):
        run_id = _start(platform)
        run = platform.wait(
            run_id, lambda r: r["state"] not in {"QUEUED", "RUNNING"}, 180, "verified"
        )
    assert run["state"] == "AWAITING_UPLOAD", run["error"]
    assert run["attempts"] == 1
    assert set(run["stage_executions"].values()) == {1}
    _stop(platform)


FLOW = (
    "import os, sys, pathlib, django;"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'privetl.config.settings');"
    "django.setup();"
    "from privetl.demo.run_flow import run_run_flow;"
    "run_run_flow(http_port=int(sys.argv[1]), grpc_port=int(sys.argv[2]), "
    "work_dir=pathlib.Path(sys.argv[3]), grant=False)"
)


def test_the_demo_run_flow_pauses_resumes_and_uploads_the_edited_result(platform: Platform) -> None:
    """The seed story as `make demo` prints it: Start, Pause at a stage boundary, Resume
    without redoing a stage, the outbox reviewed and edited, the upload, the run history."""
    import subprocess
    import sys

    with platform.worker(processes=1):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                FLOW,
                str(platform.http_port),
                str(platform.grpc_port),
                str(platform.sources.parent),
            ],
            env=platform.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "takes effect at the next stage boundary" in out
    assert "PAUSED after ['" in out  # paused after a finished stage, not in the middle of one
    assert "each stage executed once: True" in out
    assert "SUCCEEDED, published version" in out
    assert "gone: True" in out and "amount 1234.5" in out
    events = next(line for line in out.splitlines() if "run events:" in line)
    for action in (
        "run.queue",
        "run.pause_request",
        "run.paused",
        "run.resume",
        "run.stage_finish",
        "run.awaiting_upload",
        "run.uploaded",
    ):
        assert action in events, action


SECRET = "planted-S3cret-5e1f0c"
"""A source password the tests plant, then look for everywhere a person or a tool could see."""


def _owner_token(platform: Platform, user_id: str) -> str:
    import subprocess

    from tests.users.serve_helpers import PRIVETL

    done = subprocess.run(
        [*PRIVETL, "token", user_id],
        env=platform.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.split()[-1]


def _everything_seen(platform: Platform, run_id: str) -> dict[str, str]:
    """What the run left where anyone looks: its history, report, outbox entries, the audit
    records (all pages), the worker's and the server's logs, every file under the platform's
    directory (database, work directories, checkpoints)."""
    import json

    seen = {
        "run": json.dumps(platform.run(run_id)),
        "runs": platform.call("GET", "/runs", page_size=100).text,
        "outbox": platform.call("GET", "/outbox", token=platform.dana).text,
    }
    for entry in platform.call("GET", "/outbox", token=platform.dana).json().get("entries", []):
        seen[f"outbox/{entry['id']}"] = platform.call(
            "GET", f"/outbox/{entry['id']}", token=platform.dana
        ).text
    token, pages = "", []
    while True:
        page = platform.call(
            "GET", "/audit-logs", token=platform.admin, page_size=500, page_token=token
        )
        assert page.status_code == 200, page.text
        pages.append(page.text)
        token = page.json().get("next_page_token", "")
        if not token:
            break
    seen["audit"] = "\n".join(pages)
    for path in platform.directory.rglob("*"):
        if path.is_file():
            seen[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return seen


@pytest.mark.postgres
def test_a_source_password_never_leaves_the_worker(platform: Platform) -> None:
    """The source connection's string carries a password; a run reads through it, and a run
    whose source refuses the connection fails — neither leaves the password anywhere."""
    import uuid

    import psycopg

    from privetl.demo.connections_flow import SOURCE
    from tests.pg_available import main as pg_answers

    base = os.environ.get("PG_TEST_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if pg_answers(base) != 0:
        # as `make test` does: under CI nothing is skipped, elsewhere the reason is shown
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"no PostgreSQL at {base} for the source database (CI must provide one)")
        pytest.skip(f"no PostgreSQL at {base} for the source database")
    name = f"privetl_src_{uuid.uuid4().hex[:8]}"
    maintenance = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    olga = _owner_token(platform, "olga")
    original = platform.call("GET", f"/connections/{SOURCE}", token=olga).json()
    host = base.split("@", 1)[1].rsplit("/", 1)[0]  # 127.0.0.1:5432
    try:
        with psycopg.connect(base.rsplit("/", 1)[0] + "/" + name, autocommit=True) as source:
            source.execute((platform.sources / "customers_legacy.sql").read_text())

        def point_source_at(connection_string: str) -> None:
            changed = platform.call(
                "PATCH",
                f"/connections/{SOURCE}",
                {"connection_string": connection_string, "update_mask": ["connection_string"]},
                token=olga,
            )
            assert changed.status_code == 200, changed.text
            assert SECRET not in changed.text

        point_source_at(f"postgresql://postgres:{SECRET}@{host}/{name}")
        with platform.worker():
            run_id = _start(platform)
            read = platform.wait(
                run_id, lambda r: r["state"] not in ("QUEUED", "RUNNING"), what="through verify"
            )
            assert read["state"] == "AWAITING_UPLOAD", read["error"]
            assert read["rows_in"] > 0
            _stop(platform)
            point_source_at(f"postgresql://postgres:{SECRET}@127.0.0.1:1/{name}")
            failed_id = _start(platform)
            failed = platform.wait(
                failed_id, lambda r: r["state"] == "FAILED", what="failed on its source"
            )
        assert "127.0.0.1" in failed["error"] or "connect" in failed["error"].lower(), failed
        assert SECRET not in failed["error"]
        for run in (run_id, failed_id):
            leaks = [
                where for where, text in _everything_seen(platform, run).items() if SECRET in text
            ]
            assert not leaks, f"the planted password is in: {leaks}"
    finally:
        point_back = platform.call(
            "PATCH",
            f"/connections/{SOURCE}",
            {
                "connection_string": f"sqlite:///{platform.sources / 'customers_legacy.sqlite'}",
                "update_mask": ["connection_string"],
            },
            token=olga,
        )
        assert point_back.status_code == 200, (original, point_back.text)
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
