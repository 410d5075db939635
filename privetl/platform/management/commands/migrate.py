"""``privetl migrate``: Django's migrate, as the owner role, then the runtime role's grants.

With ``DATABASE_OWNER_URL`` set (PostgreSQL, two roles: see ``privetl.platform.database``)
the migrations run through that owner's connection (the ``owner`` database alias), and
the runtime role of ``DATABASE_URL`` is then granted its privileges, the audit tables
narrowed to INSERT and SELECT (and UPDATE of the head's two columns). Without it (SQLite,
or a development PostgreSQL with one URL) this is Django's migrate, unchanged.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections

from privetl.platform.database import runtime_privileges_grant

OWNER_ALIAS = "owner"


class Command(DjangoMigrate):
    help = (
        DjangoMigrate.help
        + " With DATABASE_OWNER_URL set, runs as that owner and then grants the runtime role"
        " of DATABASE_URL its privileges (INSERT and SELECT only on the audit log)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        if OWNER_ALIAS in connections.databases:
            parser.set_defaults(database=OWNER_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        if (
            options["database"] != OWNER_ALIAS
            or options.get("plan")
            or options.get("check_unapplied")
        ):
            return
        runtime_role = str(connections.databases[DEFAULT_DB_ALIAS].get("USER") or "")
        if not runtime_role:
            self.stderr.write(
                "DATABASE_URL names no role: nothing granted; name the runtime role in it "
                "(postgres://ROLE@host/db) and run 'privetl migrate' again"
            )
            return
        granted = runtime_privileges_grant(
            owner=connections[OWNER_ALIAS], runtime_role=runtime_role
        )
        if granted and options["verbosity"] >= 1:
            self.stdout.write(
                f"Granted the runtime role {runtime_role!r} its privileges "
                "(audit log: INSERT and SELECT only)."
            )
