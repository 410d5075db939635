"""``privetl task export ID [--out FILE]``: write a released task's data module document.

The document goes to FILE (or stdout) byte for byte as stored, so its SHA-256 is the
task's ``module_sha256``; what a run of it needs is printed to stderr: for each connection
the environment variable to set to its connection string (``docs/tasks.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from privetl.common.context import Actor
from privetl.common.errors import PrivetlError
from privetl.tasks.selectors import task_module_for_actor

CLI = Actor(user_id="system", roles=frozenset({"ADMIN"}), door="cli")
"""Whoever runs the command on the platform's machine (it can read the database anyway)."""


class Command(BaseCommand):
    help = (
        "Task tools: 'task export ID [--out FILE]' writes a released task's data module document."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser(
            "export", help="Write a released task's compiled data module document."
        )
        export.add_argument("task_id", help="The released task.")
        export.add_argument("--out", default=None, help="Write to this file (default: stdout).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            module = task_module_for_actor(actor=CLI, task_id=options["task_id"])
        except PrivetlError as exc:
            raise CommandError(exc.message) from None
        if options["out"]:
            Path(options["out"]).write_text(module.document, encoding="utf-8")
        else:
            self.stdout.write(module.document, ending="")
        self.stderr.write(f"sha256 {module.sha256}")
        for connection in module.connections:
            self.stderr.write(
                f"set {connection['variable']} to the connection string of "
                f"{connection['connection_id']} ({connection['type']})"
            )
