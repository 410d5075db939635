"""``privetl audit verify``: walk the audit hash chain and name the first broken record.

Exit status 0 with ``chain intact: N records`` (and the head hash, worth copying somewhere
else as an anchor); exit status 1 naming the first record that was edited (its content no
longer matches its hash), inserted, or the records deleted before it or at the end.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from privetl.audit.chain import verify_chain
from privetl.audit.models import AuditLog


class Command(BaseCommand):
    help = "Audit log tools. 'verify' checks the hash chain (exit 1 on tampering)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify}")
        sub.add_parser("verify", help="Walk the hash chain and name the first broken record.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            if AuditLog._meta.db_table not in connection.introspection.table_names():
                raise CommandError(
                    "there is no audit log in this database yet: run 'privetl migrate'"
                )
            report = verify_chain()
            if report.problem:
                raise CommandError(f"audit chain broken: {report.problem}", returncode=1)
            self.stdout.write(f"chain intact: {report.count} records (head {report.head_hash})")
