"""``privetl web [--port N] [--host H]``: serve the REST API, docs and admin with gunicorn.

The process becomes gunicorn (``exec``), so a container's SIGTERM reaches gunicorn's
arbiter directly and workers finish their requests. Workers: ``PRIVETL_WEB_WORKERS``;
threads per worker: ``PRIVETL_WEB_THREADS``.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from privetl.platform.database import runtime_role_refuse
from privetl.platform.servers import default_host, gunicorn_argv, gunicorn_environment


class Command(BaseCommand):
    help = "Serve the HTTP API with gunicorn (production WSGI server)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.HTTP_PORT)
        parser.add_argument("--host", default=None, help="Interface to bind (default: see docs).")
        parser.add_argument("--workers", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        runtime_role_refuse()
        argv = gunicorn_argv(
            host=options["host"] or default_host(), port=options["port"], workers=options["workers"]
        )
        self.stdout.write(
            f"HTTP API on http://{options['host'] or default_host()}:{options['port']}/"
        )
        self.stdout.flush()
        os.execve(argv[0], argv, gunicorn_environment())  # noqa: S606 - fixed argv, no shell
