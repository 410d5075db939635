"""``flush`` that can wipe a *test* database despite the audit log's append-only triggers.

Test runners (Django's TransactionTestCase, pytest-django's ``transactional_db`` and
``live_server``) empty every table between tests with ``flush``; the triggers would refuse
that for the audit table. On a test database (``test_*``, or SQLite in memory) this command
lifts the triggers for the flush and puts them back in the same transaction. On any other
database it is Django's flush unchanged, so the triggers still refuse to erase history.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from privetl.audit import triggers


def is_test_database(connection: BaseDatabaseWrapper) -> bool:
    """Whether the connection points at a database the test runner created."""
    name = str(connection.settings_dict.get("NAME") or "")
    test_name = str((connection.settings_dict.get("TEST") or {}).get("NAME") or "")
    return (
        name.startswith("test_")
        or (bool(test_name) and name == test_name)
        or ":memory:" in name
        or "mode=memory" in name
    )


class Command(DjangoFlush):
    help = DjangoFlush.help + " On test databases the audit log is emptied too."

    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if triggers.TABLE not in connection.introspection.table_names():
            super().handle(**options)
            return
        if not is_test_database(connection):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {triggers.TABLE}")  # noqa: S608 - a constant
                (count,) = cursor.fetchone()
            if count:
                raise CommandError(
                    f"flush refused: the audit log is append-only and holds {count} records "
                    "the database will not delete. To start over, create a new database."
                )
            super().handle(**options)
            return
        with transaction.atomic(using=connection.alias):
            triggers.remove(connection)
            try:
                super().handle(**options)
            finally:
                if not connection.needs_rollback:
                    triggers.install(connection)
