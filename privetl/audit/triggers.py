"""The database-side guard of the audit log: triggers refusing UPDATE, DELETE, TRUNCATE.

Kept in one place because the migration installs them and the test suite lifts them
around the wipe of its own test database (``tests/conftest.py``).
On PostgreSQL the application role cannot get around them (dropping a trigger needs the
table's owner); on SQLite they stop every application bug that would edit history.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditlog"
MESSAGE = "audit_auditlog is append-only"

_POSTGRES_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION audit_auditlog_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP;
    END
    $$;
    """,
    f"""
    CREATE TRIGGER audit_auditlog_no_change BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_auditlog_refuse_change();
    """,
    f"""
    CREATE TRIGGER audit_auditlog_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditlog_refuse_change();
    """,
]
_POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS audit_auditlog_no_change ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_auditlog_no_truncate ON {TABLE};",
]
_POSTGRES_DROP_FUNCTION = ["DROP FUNCTION IF EXISTS audit_auditlog_refuse_change();"]

_SQLITE_CREATE = [
    f"""
    CREATE TRIGGER audit_auditlog_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END;
    """,
    f"""
    CREATE TRIGGER audit_auditlog_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END;
    """,
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_auditlog_no_update;",
    "DROP TRIGGER IF EXISTS audit_auditlog_no_delete;",
]


def create_statements(vendor: str) -> list[str]:
    """SQL that installs the guard on this engine (none for engines we do not support)."""
    return {"postgresql": _POSTGRES_CREATE, "sqlite": _SQLITE_CREATE}.get(vendor, [])


def drop_statements(vendor: str, *, with_function: bool = False) -> list[str]:
    """SQL that removes the guard (used by the reverse migration)."""
    if vendor == "postgresql":
        return _POSTGRES_DROP + (_POSTGRES_DROP_FUNCTION if with_function else [])
    if vendor == "sqlite":
        return list(_SQLITE_DROP)
    return []


def install(connection: BaseDatabaseWrapper) -> None:
    """Install the guard through ``connection`` (idempotent: drops first)."""
    with connection.cursor() as cursor:
        for sql in drop_statements(connection.vendor) + create_statements(connection.vendor):
            cursor.execute(sql)


def remove(connection: BaseDatabaseWrapper) -> None:
    """Remove the guard's triggers through ``connection``."""
    with connection.cursor() as cursor:
        for sql in drop_statements(connection.vendor):
            cursor.execute(sql)
