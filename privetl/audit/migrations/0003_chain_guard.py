"""Guard the chain itself: a new record must follow the head, the head only advances.

The log's append-only triggers (``0002``) did not cover the chain-head row, which anyone
able to write the table could set back or delete. Now the head refuses DELETE and
TRUNCATE and any UPDATE but one step to the newest record; a record can be inserted only
right after the head. The head row is created here, by the owner, so the platform's
runtime role needs no INSERT on it (``privetl.platform.database``).
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from privetl.audit import triggers


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    head = apps.get_model("audit", "AuditChainHead")
    alias = schema_editor.connection.alias
    if not head.objects.using(alias).filter(pk=1).exists():
        head.objects.using(alias).create(pk=1)
    for sql in triggers.chain_create_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in triggers.chain_drop_statements(vendor, with_functions=True):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
