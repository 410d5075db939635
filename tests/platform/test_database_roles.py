"""The two PostgreSQL roles, for real: migrate as the owner, serve as the runtime role, and
every way around the audit log's triggers refused to the runtime role.

A throwaway database and two throwaway roles (``privetl_audit_t_*``) on the server at
127.0.0.1:5432 (trust auth, user postgres), dropped afterwards; skipped without it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql

from tests.platform.test_commands import free_port

REPO = Path(__file__).resolve().parents[2]
PRIVETL = [sys.executable, "-m", "privetl.cli"]
SERVER = "postgres://{user}@127.0.0.1:5432/{db}"


def _reachable() -> bool:
    try:
        with psycopg.connect(SERVER.format(user="postgres", db="postgres"), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _reachable(), reason="needs PostgreSQL on 127.0.0.1:5432"),
]


@dataclass(frozen=True)
class Roles:
    """The throwaway database and the URLs of its three roles."""

    database: str
    owner: str
    runtime: str

    def url(self, role: str) -> str:
        return SERVER.format(user=role, db=self.database)


@pytest.fixture(scope="module")
def roles() -> Iterator[Roles]:
    suffix = uuid.uuid4().hex[:10]
    made = Roles(
        database=f"privetl_audit_t_{suffix}",
        owner=f"privetl_audit_t_{suffix}_owner",
        runtime=f"privetl_audit_t_{suffix}_runtime",
    )
    with psycopg.connect(SERVER.format(user="postgres", db="postgres"), autocommit=True) as pg:
        pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(made.owner)))
        pg.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(made.runtime)))
        pg.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(made.database), sql.Identifier(made.owner)
            )
        )
    try:
        yield made
    finally:
        with psycopg.connect(SERVER.format(user="postgres", db="postgres"), autocommit=True) as pg:
            pg.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(made.database)
                )
            )
            for role in (made.runtime, made.owner):
                pg.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def environment(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRIVETL_", "DATABASE_"))}
    env.update(
        {
            "PRIVETL_MODE": "embedded",
            "PRIVETL_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "tests.platform.probe_settings",
            "DATABASE_URL": database_url,
            **extra,
        }
    )
    return env


def production(tmp_path: Path, database_url: str) -> dict[str, str]:
    return environment(
        tmp_path,
        database_url,
        PRIVETL_MODE="production",
        PRIVETL_SECRET_KEY="s" * 48,
        PRIVETL_TOKEN_SIGNING_KEY="t" * 48,
        PRIVETL_ALLOWED_HOSTS="localhost",
        PRIVETL_SMTP_HOST="127.0.0.1",
    )


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PRIVETL, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def migrated(roles: Roles, tmp_path_factory: pytest.TempPathFactory) -> Roles:
    """Migrated as the owner (which grants the runtime role); one audited change made by
    the runtime role through the real writer."""
    tmp = tmp_path_factory.mktemp("roles")
    migrate = run(
        environment(tmp, roles.url(roles.runtime), DATABASE_OWNER_URL=roles.url(roles.owner)),
        "migrate",
        "--no-input",
    )
    assert migrate.returncode == 0, migrate.stderr
    assert f"Granted the runtime role {roles.runtime!r}" in migrate.stdout
    runtime = environment(tmp, roles.url(roles.runtime))
    created = run(runtime, "createadmin", "root", "Root")  # audit_record, as the runtime role
    assert created.returncode == 0, created.stderr
    return roles


def test_tables_belong_to_the_owner_and_the_runtime_role_holds_little(migrated: Roles) -> None:
    with psycopg.connect(migrated.url(migrated.runtime)) as db:
        owners = dict(
            db.execute(
                "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchall()
        )
        assert set(owners.values()) == {migrated.owner}
        assert db.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone() == (False,)
        privileges = {
            (table, what): db.execute(
                "SELECT has_table_privilege(current_user, %s, %s)", [table, what]
            ).fetchone()[0]
            for table in ("audit_auditlog", "audit_auditchainhead", "users_user")
            for what in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")
        }
    assert {k for k, held in privileges.items() if held} == {
        ("audit_auditlog", "SELECT"),
        ("audit_auditlog", "INSERT"),
        ("audit_auditchainhead", "SELECT"),
        ("users_user", "SELECT"),
        ("users_user", "INSERT"),
        ("users_user", "UPDATE"),
        ("users_user", "DELETE"),
    }


BYPASSES = [
    "SET LOCAL session_replication_role = replica",
    "SET session_replication_role = replica",
    "ALTER TABLE audit_auditlog DISABLE TRIGGER audit_auditlog_no_change",
    "ALTER TABLE audit_auditlog DISABLE TRIGGER ALL",
    "ALTER TABLE audit_auditchainhead DISABLE TRIGGER audit_auditchainhead_guard",
    "DROP TRIGGER audit_auditlog_no_change ON audit_auditlog",
    "DROP TRIGGER audit_auditlog_no_truncate ON audit_auditlog",
    "DROP TRIGGER audit_auditchainhead_guard ON audit_auditchainhead",
    "CREATE OR REPLACE FUNCTION audit_auditlog_refuse_change() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
    "CREATE TRIGGER sneak BEFORE INSERT ON audit_auditlog "
    "FOR EACH ROW EXECUTE FUNCTION audit_auditlog_check_append()",
    "UPDATE audit_auditlog SET detail = 'nothing happened'",
    "DELETE FROM audit_auditlog",
    "TRUNCATE audit_auditlog",
    "UPDATE audit_auditchainhead SET last_hash = repeat('f', 64)",
    "UPDATE audit_auditchainhead SET last_sequence = 0, last_hash = repeat('0', 64)",
    "UPDATE audit_auditchainhead SET id = 2",
    "DELETE FROM audit_auditchainhead",
    "TRUNCATE audit_auditchainhead",
    "INSERT INTO audit_auditchainhead (id, last_sequence, last_hash) VALUES (2, 0, 'x')",
    "ALTER TABLE audit_auditlog ADD COLUMN note text",
    "ALTER TABLE audit_auditlog RENAME TO audit_old",
    "ALTER TABLE audit_auditlog OWNER TO CURRENT_USER",
    "ALTER TABLE audit_auditchainhead ALTER COLUMN last_hash DROP NOT NULL",
    "DROP TABLE audit_auditlog",
    "DROP TABLE audit_auditchainhead",
    # a forged record must follow the head
    "INSERT INTO audit_auditlog (id, sequence, occurred_at, actor_user_id, impersonator_user_id,"
    " service, action, target_type, target_id, outcome, address, request_id, before_json,"
    " after_json, detail, prev_hash, hash) VALUES ('forged', 99, now(), 'mallory', '', 'users',"
    " 'user.delete', '', '', 'success', '', '', '', '', '', repeat('0', 64), repeat('e', 64))",
]


@pytest.mark.parametrize("statement", BYPASSES)
def test_each_bypass_is_refused_to_the_runtime_role(migrated: Roles, statement: str) -> None:
    with psycopg.connect(migrated.url(migrated.runtime)) as db:
        with pytest.raises(psycopg.Error) as caught, db.transaction():
            db.execute(statement)
        assert isinstance(
            caught.value, psycopg.errors.InsufficientPrivilege | psycopg.errors.RaiseException
        ), caught.value
        # and the owner's role is out of reach too
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction():
            db.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(migrated.owner)))


def test_the_runtime_role_still_writes_verifies_and_checkpoints(
    migrated: Roles, tmp_path: Path
) -> None:
    runtime = environment(tmp_path, migrated.url(migrated.runtime))
    assert run(runtime, "token", "root").returncode == 0  # an issued token is audited
    again = run(runtime, "createadmin", "admin2", "Second Admin")  # another audited change
    assert again.returncode == 0, again.stderr
    verified = run(runtime, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "chain intact: 3 records" in verified.stdout
    checkpoint = run(runtime, "audit", "checkpoint")
    assert checkpoint.returncode == 0, checkpoint.stderr
    assert "checkpoint written: #3" in checkpoint.stdout


@pytest.mark.parametrize("command", ["grpc", "web", "serve"])
def test_production_refuses_to_start_as_the_owner(
    migrated: Roles, tmp_path: Path, command: str
) -> None:
    refused = run(production(tmp_path, migrated.url(migrated.owner)), command)
    assert refused.returncode == 1
    assert "privetl refuses to start in production mode" in refused.stderr
    assert f"{migrated.owner!r} of DATABASE_URL owns the audit table audit_auditlog" in (
        refused.stderr
    )
    assert "DATABASE_OWNER_URL" in refused.stderr and "privetl migrate" in refused.stderr


def test_production_refuses_to_start_as_a_superuser(migrated: Roles, tmp_path: Path) -> None:
    refused = run(production(tmp_path, migrated.url("postgres")), "grpc")
    assert refused.returncode == 1
    assert "'postgres' of DATABASE_URL is a superuser" in refused.stderr


def test_production_serves_as_the_runtime_role(migrated: Roles, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "grpc.log"
    env = production(tmp_path, migrated.url(migrated.runtime))
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*PRIVETL, "grpc", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                    health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(), timeout=1
                    )
                break
            except grpc.RpcError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
