"""``privetl worker``: a django-q2 cluster executing queued runs.

Before the cluster starts, the worker makes sure the two periodic jobs exist (recovering
runs whose worker died, expiring outbox data past retention: django-q2 schedules, run by
whichever cluster's scheduler gets them first) and recovers at once the runs a dead worker
left, so a restarted machine picks its runs up without waiting for the schedule.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from privetl.runs import jobs, metrics

SCHEDULES = {
    "privetl: recover runs of dead workers": ("privetl.runs.jobs.recover_runs", 1),
    "privetl: expire outbox data past retention": ("privetl.runs.jobs.expire_outbox", 10),
}
"""name → (job, every N minutes)."""


def ensure_schedules() -> None:
    """Create or correct the periodic jobs (idempotent; any worker may do it)."""
    from django_q.models import Schedule

    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )


class Command(BaseCommand):
    help = "Execute queued runs of ETL tasks (a django-q2 cluster)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="Serve the workers' Prometheus metrics here (default PRIVETL_WORKER_METRICS_PORT, 9108; 0: off).",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Worker processes (default: PRIVETL_WORKER_PROCESSES, 2).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if (
            not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
            or os.environ.get("PRIVETL_DB_POOL") != "0"
        ):
            # The cluster forks its worker processes; their metrics reach the one endpoint
            # only through prometheus_client's multiprocess directory, which must be set
            # before prometheus_client loads: so start again with a fresh one.
            # The same for the database: no connection pool in a process that forks.
            os.environ["PRIVETL_DB_POOL"] = "0"
            if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                directory = tempfile.mkdtemp(prefix="privetl-worker-metrics-")
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
            os.execv(sys.executable, [sys.executable, "-m", "privetl.cli", "worker", *sys.argv[2:]])  # noqa: S606 - the same command again
        from django_q.conf import Conf

        if options["processes"]:
            Conf.WORKERS = options["processes"]  # django-q2 read Q_CLUSTER when it loaded
        ensure_schedules()
        recovered = jobs.recover_runs()
        port = options["metrics_port"]
        if port is None:
            port = metrics.worker_metrics_port()
        if port:
            try:
                metrics.start_worker_metrics_server(port)
            except OSError as exc:  # another worker on this machine has it: run without
                self.stderr.write(f"privetl worker: no metrics endpoint, port {port}: {exc}")
            else:
                self.stdout.write(f"privetl worker: metrics on port {port} (/metrics)")
        self.stdout.write(
            f"privetl worker: {Conf.WORKERS} process(es), "
            f"{recovered} run(s) recovered from dead workers"
        )
        self.stdout.flush()
        call_command("qcluster")
