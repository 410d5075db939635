"""``flush`` that says why it cannot erase the audit log, instead of failing on a trigger.

The audit log is append-only: its triggers refuse DELETE and TRUNCATE on every database,
so Django's ``flush`` would fail halfway with "couldn't be flushed". This command refuses
up front, with the reason and what to do, while the log holds records; otherwise it is
Django's flush. It has no test switch: the test suite empties its own test database by
wrapping this command from the test side (``tests/conftest.py``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections

from privetl.audit import triggers


class Command(DjangoFlush):
    help = DjangoFlush.help + " Refused while the append-only audit log holds records."

    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if triggers.TABLE in connection.introspection.table_names():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {triggers.TABLE}")  # noqa: S608 - a constant
                (count,) = cursor.fetchone()
            if count:
                raise CommandError(
                    f"flush refused: the audit log is append-only and holds {count} records "
                    "the database will not delete. To start over, create a new database."
                )
        super().handle(**options)
