"""``privetl grpc [--port N]``: serve every gRPC service, health and reflection.

SIGTERM / Ctrl-C stop accepting calls and give running ones ``--grace`` seconds.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from prometheus_client import start_http_server

from privetl.platform.database import runtime_role_refuse
from privetl.platform.grpc_server import build_server
from privetl.platform.servers import default_host


class Command(BaseCommand):
    help = "Serve the gRPC API (all services of settings.GRPC_SERVICERS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.GRPC_PORT)
        parser.add_argument("--host", default=None)
        parser.add_argument("--workers", type=int, default=settings.GRPC_MAX_WORKERS)
        parser.add_argument("--grace", type=float, default=10.0)
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=int(os.environ.get("PRIVETL_GRPC_METRICS_PORT", "0")),
            help="Expose the gRPC server's Prometheus metrics on this port (0: off).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        runtime_role_refuse()
        host = options["host"] or default_host()
        server = build_server(port=options["port"], max_workers=options["workers"], host=host)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        server.start()
        if options["metrics_port"]:
            start_http_server(options["metrics_port"], addr=host)
            self.stdout.write(f"gRPC metrics on http://{host}:{options['metrics_port']}/metrics")
        self.stdout.write(
            f"gRPC on {host}:{server.port} ({', '.join(server.services) or 'no services'})"
        )
        self.stdout.flush()
        stop.wait()
        self.stdout.write("stopping gRPC server...")
        server.stop(grace=options["grace"]).wait()
        self.stdout.write("gRPC server stopped")
