"""The database-side guard of the audit log: triggers refusing to edit history.

- ``audit_auditlog``: UPDATE, DELETE and TRUNCATE are refused (migration ``0002``), and an
  INSERT must follow the chain head: sequence = head + 1, prev_hash = the head's hash
  (migration ``0003``).
- ``audit_auditchainhead``: DELETE and TRUNCATE are refused; an UPDATE must advance the head
  by exactly one, to the newest record, whose prev_hash is the old head's hash (``0003``).

Kept in one place because the migrations install them and the test suite lifts them
around the wipe of its own test database (``tests/conftest.py``).

On PostgreSQL they bind the platform only because it does not own the tables: an owner
or a superuser can disable or drop a trigger, or switch triggers off with
``session_replication_role``. So the tables belong to an *owner* role that only
``privetl migrate`` uses (``DATABASE_OWNER_URL``), and the platform connects as a
*runtime* role with INSERT and SELECT on the audit tables and UPDATE of the head's two
columns (``privetl.platform.database``); ``privetl serve``, ``web`` and ``grpc`` refuse to
start in production as an owner or a superuser. On SQLite (embedded, one file, no roles)
they stop every application bug that would edit history.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditlog"
HEAD_TABLE = "audit_auditchainhead"
MESSAGE = "audit_auditlog is append-only"
HEAD_MESSAGE = "audit_auditchainhead is append-only"
GENESIS = "0" * 64

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

# S608: the SQL below is built from this module's constants only, never from input.
_POSTGRES_CHAIN_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION audit_auditlog_check_append() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        head_sequence bigint;
        head_hash varchar;
    BEGIN
        SELECT last_sequence, last_hash INTO head_sequence, head_hash
        FROM {HEAD_TABLE} WHERE id = 1;
        IF NOT FOUND THEN
            head_sequence := 0;
            head_hash := '{GENESIS}';
        END IF;
        IF NEW.sequence IS DISTINCT FROM head_sequence + 1
           OR NEW.prev_hash IS DISTINCT FROM head_hash THEN
            RAISE EXCEPTION '{MESSAGE}: a new record must follow the chain head (#%)',
                head_sequence;
        END IF;
        RETURN NEW;
    END
    $$;
    """,  # noqa: S608
    f"""
    CREATE TRIGGER audit_auditlog_append BEFORE INSERT ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_auditlog_check_append();
    """,
    f"""
    CREATE OR REPLACE FUNCTION audit_auditchainhead_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
           AND NEW.id = OLD.id
           AND NEW.last_sequence = OLD.last_sequence + 1
           AND EXISTS (
               SELECT 1 FROM {TABLE}
               WHERE sequence = NEW.last_sequence
                 AND hash = NEW.last_hash
                 AND prev_hash = OLD.last_hash
           ) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '{HEAD_MESSAGE}: % refused (the head only advances by one, to the newest record)',
            TG_OP;
    END
    $$;
    """,  # noqa: S608
    f"""
    CREATE TRIGGER audit_auditchainhead_guard BEFORE UPDATE OR DELETE ON {HEAD_TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_auditchainhead_guard();
    """,
    f"""
    CREATE TRIGGER audit_auditchainhead_no_truncate BEFORE TRUNCATE ON {HEAD_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditchainhead_guard();
    """,
]
_POSTGRES_CHAIN_DROP = [
    f"DROP TRIGGER IF EXISTS audit_auditlog_append ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_auditchainhead_guard ON {HEAD_TABLE};",
    f"DROP TRIGGER IF EXISTS audit_auditchainhead_no_truncate ON {HEAD_TABLE};",
]
_POSTGRES_CHAIN_DROP_FUNCTIONS = [
    "DROP FUNCTION IF EXISTS audit_auditlog_check_append();",
    "DROP FUNCTION IF EXISTS audit_auditchainhead_guard();",
]

_SQLITE_CHAIN_CREATE = [
    f"""
    CREATE TRIGGER audit_auditlog_append BEFORE INSERT ON {TABLE}
    WHEN NEW.sequence IS NOT COALESCE((SELECT last_sequence FROM {HEAD_TABLE} WHERE id = 1), 0) + 1
      OR NEW.prev_hash IS NOT COALESCE((SELECT last_hash FROM {HEAD_TABLE} WHERE id = 1), '{GENESIS}')
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: a new record must follow the chain head'); END;
    """,  # noqa: S608
    f"""
    CREATE TRIGGER audit_auditchainhead_advance BEFORE UPDATE ON {HEAD_TABLE}
    WHEN NOT (
        NEW.id = OLD.id
        AND NEW.last_sequence = OLD.last_sequence + 1
        AND EXISTS (
            SELECT 1 FROM {TABLE}
            WHERE sequence = NEW.last_sequence AND hash = NEW.last_hash
              AND prev_hash = OLD.last_hash
        )
    )
    BEGIN SELECT RAISE(ABORT, '{HEAD_MESSAGE}: UPDATE refused (the head only advances by one, to the newest record)'); END;
    """,  # noqa: S608
    f"""
    CREATE TRIGGER audit_auditchainhead_no_delete BEFORE DELETE ON {HEAD_TABLE}
    BEGIN SELECT RAISE(ABORT, '{HEAD_MESSAGE}: DELETE refused'); END;
    """,
]
_SQLITE_CHAIN_DROP = [
    "DROP TRIGGER IF EXISTS audit_auditlog_append;",
    "DROP TRIGGER IF EXISTS audit_auditchainhead_advance;",
    "DROP TRIGGER IF EXISTS audit_auditchainhead_no_delete;",
]

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
    """SQL that makes the log refuse UPDATE, DELETE, TRUNCATE (migration 0002)."""
    return {"postgresql": _POSTGRES_CREATE, "sqlite": _SQLITE_CREATE}.get(vendor, [])


def drop_statements(vendor: str, *, with_function: bool = False) -> list[str]:
    """SQL that removes the log's UPDATE/DELETE/TRUNCATE guard (reverse of 0002)."""
    if vendor == "postgresql":
        return _POSTGRES_DROP + (_POSTGRES_DROP_FUNCTION if with_function else [])
    if vendor == "sqlite":
        return list(_SQLITE_DROP)
    return []


def chain_create_statements(vendor: str) -> list[str]:
    """SQL that makes inserts follow the head and the head only advance (migration 0003)."""
    return {"postgresql": _POSTGRES_CHAIN_CREATE, "sqlite": _SQLITE_CHAIN_CREATE}.get(vendor, [])


def chain_drop_statements(vendor: str, *, with_functions: bool = False) -> list[str]:
    """SQL that removes the guard of migration 0003."""
    if vendor == "postgresql":
        return _POSTGRES_CHAIN_DROP + (_POSTGRES_CHAIN_DROP_FUNCTIONS if with_functions else [])
    if vendor == "sqlite":
        return list(_SQLITE_CHAIN_DROP)
    return []


def install(connection: BaseDatabaseWrapper) -> None:
    """Install the whole guard through ``connection`` (idempotent: drops first)."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for sql in (
            drop_statements(vendor)
            + chain_drop_statements(vendor)
            + create_statements(vendor)
            + chain_create_statements(vendor)
        ):
            cursor.execute(sql)


def remove(connection: BaseDatabaseWrapper) -> None:
    """Remove the whole guard's triggers through ``connection``."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for sql in drop_statements(vendor) + chain_drop_statements(vendor):
            cursor.execute(sql)
