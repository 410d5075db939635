"""``privetl serve [--http-port N] [--grpc-port N]``: the whole platform in one command.

For the embedded default (and a single-container deployment): gunicorn serves HTTP as a
child process and the gRPC server runs in this process; both stop cleanly on Ctrl-C or
SIGTERM (gunicorn gets SIGTERM and finishes its requests; gRPC gets a grace period).

``--workers N`` also starts ``privetl worker --processes N`` as a child (default: 1 in
embedded mode, so a Start over the APIs runs; 0 in production, where workers are their own
deployment), stopped with the rest.

In embedded mode the database is migrated first (``--no-migrate`` skips it): SQLite
under ./var/ is created on first start, so ``privetl serve`` works on a fresh checkout.
In production mode run ``privetl migrate`` as a separate deployment step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import start_http_server

from privetl.platform.database import runtime_role_refuse
from privetl.platform.grpc_server import build_server
from privetl.platform.servers import default_host, gunicorn_argv, gunicorn_environment


class Command(BaseCommand):
    help = "Serve HTTP (gunicorn) and gRPC together; migrates first in embedded mode."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--http-port", type=int, default=settings.HTTP_PORT)
        parser.add_argument("--grpc-port", type=int, default=settings.GRPC_PORT)
        parser.add_argument("--host", default=None)
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument("--grace", type=float, default=10.0)
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=int(os.environ.get("PRIVETL_GRPC_METRICS_PORT", "0")),
            help="Expose the gRPC server's Prometheus metrics on this port (0: off).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Run worker processes for queued runs beside the servers (default: 1 embedded, 0 production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        runtime_role_refuse()
        host = options["host"] or default_host()
        if settings.EMBEDDED and not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        server = build_server(port=options["grpc_port"], host=host)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        # A session of its own: a terminal Ctrl-C reaches only us, and we stop gunicorn
        # gracefully (SIGTERM) instead of both racing to quit.
        web = subprocess.Popen(
            gunicorn_argv(host=host, port=options["http_port"]),
            env=gunicorn_environment(),
            start_new_session=True,
        )
        workers = options["workers"]
        if workers is None:
            workers = 1 if settings.EMBEDDED else 0
        worker = (
            subprocess.Popen(
                [sys.executable, "-m", "privetl.cli", "worker", "--processes", str(workers)],
                start_new_session=True,
            )
            if workers > 0
            else None
        )
        server.start()
        if options["metrics_port"]:
            start_http_server(options["metrics_port"], addr=host)
            self.stdout.write(f"gRPC metrics on http://{host}:{options['metrics_port']}/metrics")
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
        self.stdout.write(f"HTTP API  http://{shown}:{options['http_port']}/api/docs/")
        self.stdout.write(f"gRPC      {shown}:{server.port} ({', '.join(server.services)})")
        if worker is not None:
            self.stdout.write(f"worker    {workers} process(es) executing queued runs")
        self.stdout.flush()
        while not stop.wait(0.5):
            if web.poll() is not None:
                break
        web_failed = web.poll() is not None and not stop.is_set()
        self.stdout.write("stopping...")
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        if web.poll() is None:
            web.send_signal(signal.SIGTERM)
            try:
                web.wait(timeout=30)
            except subprocess.TimeoutExpired:
                web.kill()
                web.wait()
        server.stop(grace=options["grace"]).wait()
        if worker is not None:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self.stdout.write("stopped")
        if web_failed:
            raise CommandError(f"the HTTP server exited with status {web.returncode}")
