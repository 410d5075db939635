"""Fixtures of the audit pages' tests: signed-in users, records written for real, and a
long chain laid down at once (valid hashes, the triggers lifted and put back around it)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from privetl.audit import triggers
from privetl.audit.chain import hashed_fields, record_hash
from privetl.audit.models import GENESIS_HASH, AuditChainHead, AuditLog
from privetl.users.models import User, UserRole

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def login(client: Client, user_id: str, *roles: str) -> Client:
    """Create ``user_id`` with ``roles`` (as rows: no audit records of their own) and sign in."""
    user = User.objects.create(id=user_id, name=user_id.title())
    for role in roles:
        UserRole.objects.create(user=user, role=role, granted_by="test")
    client.post("/ui/login/", {"user_id": user_id})
    return client


def lay_chain(count: int, *, actors: tuple[str, ...] = ("alice", "bob")) -> list[AuditLog]:
    """Append ``count`` records with a valid chain in a few bulk inserts (the writer's four
    queries a record would take seconds for 10,000); the chain head follows, the append-only
    triggers are lifted for the inserts and put back (the test's transaction undoes all)."""
    head = AuditChainHead.objects.filter(pk=1).first()
    sequence = head.last_sequence if head else 0
    prev = head.last_hash if head else GENESIS_HASH
    records = []
    for n in range(count):
        sequence += 1
        record = AuditLog(
            id=f"bulk-{sequence:06d}",
            sequence=sequence,
            occurred_at=START + dt.timedelta(minutes=sequence),
            actor_user_id=actors[n % len(actors)],
            service="things",
            action="thing.change",
            target_type="thing",
            target_id=str(n % 7),
            address="10.0.0.1",
            before_json='{"n":0}',
            after_json=f'{{"n":{n}}}',
            prev_hash=prev,
        )
        record.hash = record_hash(hashed_fields(record))
        prev = record.hash
        records.append(record)
    triggers.remove(connection)
    AuditLog.objects.bulk_create(records, batch_size=500)
    AuditChainHead.objects.update_or_create(
        pk=1, defaults={"last_sequence": sequence, "last_hash": prev}
    )
    triggers.install(connection)
    return records


def tamper(sql: str, params: list[object]) -> None:
    """What an attacker with DDL rights does: lift the guard and edit (the test rolls back)."""
    triggers.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    triggers.install(connection)


@pytest.fixture
def checkpoint_dir(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A fresh checkpoint directory and key, so no file of a developer's machine is read."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_KEY = "k" * 40
    return Path(settings.AUDIT_CHECKPOINT_DIR)
