"""The two database roles of a PostgreSQL deployment: the owner migrates, the runtime serves.

The audit log's triggers (``privetl.audit.triggers``) bind only a role that neither owns
the audit tables nor is a superuser: an owner can ``ALTER TABLE ... DISABLE TRIGGER`` or
``DROP TRIGGER``, a superuser can also ``SET session_replication_role = replica``. So:

- the **owner** role (``DATABASE_OWNER_URL``, used by ``privetl migrate`` only) owns every
  table and runs the migrations;
- the **runtime** role (``DATABASE_URL``, what ``serve``, ``web``, ``grpc`` and every
  other command use) gets, from ``runtime_privileges_grant`` (which ``privetl migrate``
  runs after migrating): SELECT, INSERT, UPDATE, DELETE on the platform's tables;
  SELECT only on ``django_migrations``; on the audit log only SELECT and INSERT; on the
  chain head SELECT and UPDATE of ``last_sequence`` and ``last_hash`` (the head's trigger
  lets that UPDATE only advance the head by one, to the newest record). Never TRUNCATE,
  TRIGGER or REFERENCES, never ownership. Default privileges give it the same on tables
  the owner creates later (the audit tables are narrowed again by every migrate).

``runtime_role_problem`` is what ``serve``, ``web`` and ``grpc`` check before starting in
production mode. SQLite (embedded) has no roles: nothing to grant or check.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from privetl.audit.models import AuditChainHead, AuditLog

LOG_TABLE = AuditLog._meta.db_table
HEAD_TABLE = AuditChainHead._meta.db_table
HEAD_COLUMNS = ("last_sequence", "last_hash")
READ_ONLY_TABLES = ("django_migrations",)
FIX = (
    "Connect as a runtime role that owns nothing: set DATABASE_URL to that role and "
    "DATABASE_OWNER_URL to the role owning the tables, then run 'privetl migrate' (it "
    "grants the runtime role its privileges); see docs/audit.md, 'Database roles'."
)


def _role(connection: BaseDatabaseWrapper) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (name,) = cursor.fetchone()
    return str(name)


def runtime_privileges_grant(*, owner: BaseDatabaseWrapper, runtime_role: str) -> list[str]:
    """Grant ``runtime_role`` what the platform needs, through the owner's connection.

    Returns the statements run (none on SQLite, or when both URLs name the same role).
    Idempotent: run after every migration.
    """
    if owner.vendor != "postgresql":
        return []
    owner_role = _role(owner)
    if runtime_role == owner_role:
        return []
    quote = owner.ops.quote_name
    runtime, owner_name = quote(runtime_role), quote(owner_role)
    with owner.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema_name,) = cursor.fetchone()
    schema = quote(schema_name)
    log, head = quote(LOG_TABLE), quote(HEAD_TABLE)
    statements = [
        f"GRANT USAGE ON SCHEMA {schema} TO {runtime}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {runtime}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {runtime}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_name} IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_name} IN SCHEMA {schema} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {runtime}",
        *(
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {quote(t)} FROM {runtime}"
            for t in READ_ONLY_TABLES
        ),
        f"REVOKE ALL ON {log}, {head} FROM {runtime}",
        f"GRANT SELECT, INSERT ON {log} TO {runtime}",
        f"GRANT SELECT ON {head} TO {runtime}",
        f"GRANT UPDATE ({', '.join(quote(c) for c in HEAD_COLUMNS)}) ON {head} TO {runtime}",
    ]
    # One transaction: the runtime role never holds, even for a moment, the broad grant on
    # the audit tables that the statements after the first narrow again.
    with transaction.atomic(using=owner.alias), owner.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return statements


def runtime_role_problem(connection: BaseDatabaseWrapper) -> str | None:
    """Why this connection's role must not serve the platform, or None.

    Refused: a superuser (it can switch triggers off), a role that owns an audit table or
    is a member of its owner (it can disable or drop the triggers), one that may UPDATE,
    DELETE, TRUNCATE the log or add triggers to it, or a database not migrated yet.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        role, superuser = cursor.fetchone()
        if superuser:
            return (
                f"the database role {role!r} of DATABASE_URL is a superuser: it could switch "
                f"the audit log's append-only triggers off. {FIX}"
            )
        cursor.execute(
            """
            SELECT t.name, c.oid IS NULL, pg_get_userbyid(c.relowner),
                   c.oid IS NOT NULL AND pg_has_role(current_user, c.relowner, 'USAGE'),
                   c.oid IS NOT NULL AND has_table_privilege(current_user, c.oid, 'UPDATE'),
                   c.oid IS NOT NULL AND has_table_privilege(current_user, c.oid, 'DELETE'),
                   c.oid IS NOT NULL AND has_table_privilege(current_user, c.oid, 'TRUNCATE'),
                   c.oid IS NOT NULL AND has_table_privilege(current_user, c.oid, 'TRIGGER')
            FROM unnest(%s::text[]) AS t(name)
            LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)
            """,
            [[LOG_TABLE, HEAD_TABLE]],
        )
        rows = cursor.fetchall()
    for name, missing, owner, owns, update, delete, truncate, trigger in rows:
        if missing:
            return f"the audit table {name} does not exist: run 'privetl migrate' first. {FIX}"
        if owns:
            relation = "owns" if owner == role else f"is a member of {owner!r}, which owns"
            return (
                f"the database role {role!r} of DATABASE_URL {relation} the audit table "
                f"{name}: it could disable or drop the append-only triggers. {FIX}"
            )
        granted = [
            what
            for what, held in (
                ("UPDATE", update),
                ("DELETE", delete),
                ("TRUNCATE", truncate),
                ("TRIGGER", trigger),
            )
            if held
        ]
        if granted:
            return (
                f"the database role {role!r} of DATABASE_URL holds {', '.join(granted)} on "
                f"the audit table {name}; it may only INSERT and SELECT. {FIX}"
            )
    return None


def runtime_role_refuse() -> None:
    """Stop a server from starting in production mode as a role that could edit history.

    Called by ``serve``, ``web`` and ``grpc`` before they listen; embedded mode (one SQLite
    file, or a developer's single PostgreSQL URL) is not checked.
    """
    if settings.EMBEDDED:
        return
    try:
        problem = runtime_role_problem(default_connection)
    finally:
        default_connection.close()
    if problem:
        raise CommandError(f"privetl refuses to start in production mode: {problem}")
