"""Make the audit table append-only in the database itself (PostgreSQL and SQLite).

Triggers refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL), so even a bug or a stray
``QuerySet.update()`` cannot rewrite history. Other engines get no trigger; ``privetl audit
verify`` still detects tampering there.
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from privetl.audit import triggers


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for sql in triggers.create_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for sql in triggers.drop_statements(schema_editor.connection.vendor, with_function=True):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
