"""Web UI pages on the embedded default with 10,000 audit records and 1,000 runs.

    .venv/bin/python bench/ui_bench.py [--audit 10000] [--runs 1000] [--repeat 30]

Migrates a fresh SQLite database in a temporary directory (the embedded default), writes
``--audit`` records through the real audit writer (the hash chain and all), ``--runs`` runs of
two tasks, 50 connections and access requests, then renders every list page (and a run's and
an audit record's page) ``--repeat`` times as the person who uses it, in this process through
Django's test client: the time is the server's whole request — session, rights, queries,
template — without a network. Prints per page the median and p95 in ms, the queries, and the
ratio to the login page (a template with no data, the baseline, measured in the same run).

Goal (issue #13): every page under 200 ms at these sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_MS = 200.0


def _setup(directory: Path) -> None:
    os.environ.update({"PRIVETL_VAR_DIR": str(directory), "PRIVETL_MODE": "embedded"})
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privetl.config.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0, interactive=False)


def _data(audit: int, runs: int) -> str:
    """The people, connections, tasks, runs and audit records; a run id to open."""
    from django.db import transaction
    from django.utils import timezone

    from privetl.audit.services import audit_record
    from privetl.common.context import Actor
    from privetl.datamodules.models import Connection
    from privetl.runs.models import Run
    from privetl.tasks.models import Task
    from privetl.users import services as users

    users.user_bootstrap_admin(id="root", name="Root")
    root = Actor(user_id="root", roles=frozenset({"ADMIN"}))
    for user_id, role in (
        ("tom", "PROCESS_ETL_TASK"),
        ("dana", "MANAGE_DATA"),
        ("eddie", "EDIT_TASK"),
    ):
        users.user_create(actor=root, id=user_id, name=user_id.title())
        users.user_role_add(actor=root, user_id=user_id, role=role)
    now = timezone.now()
    Connection.objects.bulk_create(
        Connection(
            id=f"c{i:03d}",
            name=f"connection {i}",
            type="FILE",
            contract="",
            connection_string_ciphertext="x",
            created_by="root",
            created_at=now,
            updated_at=now,
        )
        for i in range(50)
    )
    for i in range(50):
        users.access_request_file(
            actor=Actor(user_id="tom"),
            user_id="tom",
            ext_datamodule_id=f"c{i:03d}",
            access_types=["READ"],
            reason="bench",
        )
    for task_id in ("t1", "t2"):
        Task.objects.create(id=task_id, name=task_id, ext_datamodule_id="c000", created_by="eddie")
    states = ("SUCCEEDED", "FAILED", "AWAITING_UPLOAD")
    report = json.dumps({"tables": [{"table": "customers", "rows_in": 100, "rows_out": 90}]})
    Run.objects.bulk_create(
        Run(
            id=f"r{i:05d}",
            task_id="t1" if i % 2 else "t2",
            module_sha256="0" * 64,
            state=states[i % 3],
            started_by="tom",
            queued_at=now - dt.timedelta(minutes=runs - i),
            timings={"extract": 1.0, "clean": 2.0, "anonymize": 0.5, "verify": 0.2},
            rows_in=100 + i,
            rows_out=90 + i,
            report_json=report,
        )
        for i in range(runs)
    )
    written = 0
    started = time.perf_counter()
    while written < audit:
        with transaction.atomic():
            for _ in range(min(500, audit - written)):
                audit_record(
                    actor=Actor(user_id="tom" if written % 2 else "dana"),
                    service="bench",
                    action="bench.change",
                    target_type="run",
                    target_id=f"r{written % max(runs, 1):05d}",
                    before={"n": written},
                    after={"n": written + 1},
                )
                written += 1
    print(
        f"set-up: {audit:,} audit records through the writer in {time.perf_counter() - started:.1f} s, "
        f"{runs:,} runs, 50 connections and requests",
        flush=True,
    )
    return f"r{runs - 1:05d}"


def _measure(path: str, user_id: str | None, repeat: int) -> tuple[float, float, int, int]:
    """(median ms, p95 ms, queries of one request, status)."""
    from django.db import connection
    from django.test import Client

    client = Client()
    if user_id:
        client.post("/ui/login/", {"user_id": user_id})
    client.get(path)  # warm: templates compiled, caches filled
    queries: list[str] = []

    def counted(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        status = client.get(path).status_code
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], len(queries), status


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--audit", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="privetl-ui-bench-") as work:
        _setup(Path(work))
        run_id = _data(args.audit, args.runs)
        from privetl.audit.models import AuditLog

        record = AuditLog.objects.order_by("-sequence").values_list("id", flat=True).first()
        pages = [
            ("login page (baseline)", "/ui/login/", None),
            ("dashboard", "/ui/", "tom"),
            ("connections", "/ui/connections/", "tom"),
            ("access requests", "/ui/access-requests/?tab=mine", "tom"),
            ("tasks", "/ui/tasks/", "tom"),
            ("run history", "/ui/runs/", "tom"),
            ("run history, filtered", "/ui/runs/?task=t1&state=FAILED", "tom"),
            ("run history of a task (+ chart)", "/ui/runs/?task=t2", "tom"),
            ("a run", f"/ui/runs/{run_id}/", "tom"),
            ("outbox", "/ui/outbox/", "dana"),
            ("audit log (admin: all)", "/ui/audit/", "root"),
            ("audit log, filtered", "/ui/audit/?actor_user_id=dana&action=bench.change", "root"),
            ("audit log (own records)", "/ui/audit/", "tom"),
            ("an audit record", f"/ui/audit/{record}/", "root"),
            ("users", "/ui/users/", "root"),
        ]
        print(f"\n{'page':<34} {'median':>8} {'p95':>8} {'queries':>8} {'× login':>8}")
        baseline = 0.0
        worst = 0.0
        for label, path, user_id in pages:
            median, p95, queries, status = _measure(path, user_id, args.repeat)
            if status != 200:
                print(f"{label:<34} HTTP {status}: the bench's data or rights are wrong")
                return 1
            baseline = baseline or median
            if user_id:
                worst = max(worst, p95)
            print(
                f"{label:<34} {median:7.1f}ms {p95:7.1f}ms {queries:8d} {median / baseline:7.1f}×"
            )
        verdict = "met" if worst <= GOAL_MS else "NOT met"
        print(
            f"\nslowest page p95 {worst:.1f} ms — goal ≤ {GOAL_MS:.0f} ms with {args.audit:,} audit "
            f"records and {args.runs:,} runs: {verdict}"
        )
        return 0 if worst <= GOAL_MS else 2


if __name__ == "__main__":
    sys.exit(main())
