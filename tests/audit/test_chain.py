"""The audit writer: one hash-chained, append-only record per change, secrets redacted."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from privetl.audit import triggers
from privetl.audit.chain import hashed_fields, record_hash, verify_chain
from privetl.audit.models import GENESIS_HASH, AuditChainHead, AuditLog
from privetl.audit.services import audit_denied, audit_record
from privetl.common.context import Actor
from tests.audit.conftest import actor_for, write

ALICE = actor_for("alice")


def test_records_form_a_hash_chain(db) -> None:
    ids = [write(ALICE, target_id=f"t{i}") for i in range(3)]
    records = list(AuditLog.objects.order_by("sequence"))
    assert [r.id for r in records] == ids
    assert [r.sequence for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS_HASH
    assert records[1].prev_hash == records[0].hash
    assert records[2].prev_hash == records[1].hash
    assert all(record_hash(hashed_fields(r)) == r.hash for r in records)
    report = verify_chain()
    assert (report.count, report.problem) == (3, None)


def test_record_says_who_what_when_where(db) -> None:
    admin_as_bob = actor_for("bob", impersonator_id="root")
    write(
        admin_as_bob,
        action="user.block",
        target_id="carol",
        before={"blocked": False},
        after={"blocked": True},
        detail="spam",
    )
    record = AuditLog.objects.get()
    assert (record.actor_user_id, record.impersonator_user_id) == ("bob", "root")
    assert (record.service, record.action, record.target_type, record.target_id) == (
        "things",
        "user.block",
        "thing",
        "carol",
    )
    assert (record.address, record.request_id) == ("127.0.0.1:5555", "req-bob")
    assert record.occurred_at.tzinfo is not None
    assert json.loads(record.before_json) == {"blocked": False}
    assert json.loads(record.after_json) == {"blocked": True}
    assert (record.outcome, record.detail) == ("success", "spam")


def test_secrets_are_redacted(db) -> None:
    write(
        ALICE,
        before={"password": "hunter2", "name": "x"},
        after={
            "connection": {"connectionString": "postgres://u:s3cr3t@db/x", "api_key": "AKIA123"},
            "dsn_url": "mysql://me:pw123@host/db",
            "clientSecret": "zq-81",
            "refresh-token": "rt-7731",
            "primary_key": ["id"],
            "note": "used Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig here",
        },
        detail="connect to postgres://u:pw999@h/db failed; password=pw777 token: 'tk-5'",
    )
    record = AuditLog.objects.get()
    stored = record.before_json + record.after_json + record.detail
    for secret in (
        "hunter2",
        "s3cr3t",
        "AKIA123",
        "pw123",
        "zq-81",
        "rt-7731",
        "eyJ",
        "pw999",
        "pw777",
        "tk-5",
    ):
        assert secret not in stored
    after = json.loads(record.after_json)
    assert json.loads(record.before_json) == {"password": "***", "name": "x"}
    assert after["connection"] == {"connectionString": "***", "api_key": "***"}
    assert after["primary_key"] == ["id"]
    assert after["clientSecret"] == "***"


def test_refuses_to_write_outside_a_transaction(transactional_db) -> None:
    assert not connection.in_atomic_block
    with pytest.raises(RuntimeError, match="inside the change's transaction"):
        audit_record(actor=ALICE, service="s", action="a", target_type="t", target_id="i")
    assert AuditLog.objects.count() == 0


def test_record_rolls_back_with_the_change(db) -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_record(actor=ALICE, service="s", action="a", target_type="t", target_id="i")
        1 / 0  # noqa: B018 - the change fails after its audit record was written
    assert AuditLog.objects.count() == 0
    write(ALICE)
    assert AuditLog.objects.get().sequence == 1


def test_denied_attempt_is_recorded_in_its_own_transaction(db) -> None:
    audit_denied(actor=ALICE, service="users", action="CreateUser", message="only an ADMIN may")
    first = AuditLog.objects.get()
    assert (first.outcome, first.actor_user_id, first.detail) == (
        "denied",
        "alice",
        "only an ADMIN may",
    )
    assert verify_chain().problem is None


def test_a_refusal_that_identified_nobody_is_not_an_audit_record(db) -> None:
    # issue 10: anonymous refusals go to the login history's counts, never to the chain
    with pytest.raises(ValueError, match="login history"):
        audit_denied(
            actor=Actor(user_id=""), service="users", action="GetUser", message="no credentials"
        )
    assert AuditLog.objects.count() == 0


def _refused(sql: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_database_refuses_update_and_delete(db, vendor: str) -> None:
    write(ALICE)
    _refused("UPDATE audit_auditlog SET detail = 'rewritten'")
    _refused("DELETE FROM audit_auditlog")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.update(actor_user_id="mallory")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLog.objects.all().delete()
    if vendor == "postgresql":
        _refused("TRUNCATE audit_auditlog")
    assert AuditLog.objects.get().actor_user_id == "alice"


def test_the_head_only_advances_to_the_newest_record(db, vendor: str) -> None:
    for i in range(3):
        write(ALICE, target_id=str(i))
    second = AuditLog.objects.get(sequence=2)
    _refused("UPDATE audit_auditchainhead SET last_hash = 'f00d'")
    _refused(  # set back by one, consistently: the newest record would look deleted
        f"UPDATE audit_auditchainhead SET last_sequence = 2, last_hash = '{second.hash}'"
    )
    _refused("UPDATE audit_auditchainhead SET last_sequence = last_sequence + 1")
    _refused("DELETE FROM audit_auditchainhead")
    if vendor == "postgresql":
        _refused("TRUNCATE audit_auditchainhead")
    write(ALICE, target_id="still appends")  # the one allowed step, through audit_record
    assert verify_chain().problem is None
    assert AuditChainHead.objects.get().last_sequence == 4


def test_a_record_can_only_be_inserted_right_after_the_head(db) -> None:
    write(ALICE)
    last = AuditLog.objects.get()
    for sequence, prev_hash in ((5, last.hash), (2, GENESIS_HASH), (1, GENESIS_HASH)):
        forged = AuditLog(
            id=f"forged-{sequence}-{prev_hash[:4]}",
            sequence=sequence,
            occurred_at=last.occurred_at,
            actor_user_id="mallory",
            service="users",
            action="user.delete",
            prev_hash=prev_hash,
        )
        forged.hash = record_hash(hashed_fields(forged))
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            forged.save(force_insert=True)
    assert AuditLog.objects.count() == 1


def _tamper(sql: str, params: list | None = None) -> None:
    """What an attacker with DDL rights does: lift the guard, edit, (the test rolls back)."""
    triggers.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _verify_fails() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("audit", "verify")
    assert caught.value.returncode == 1
    return str(caught.value)


def test_verify_reports_an_intact_chain(db, capsys) -> None:
    for i in range(4):
        write(ALICE, target_id=str(i))
    call_command("audit", "verify")
    assert "chain intact: 4 records" in capsys.readouterr().out


def test_verify_names_an_edited_record(db) -> None:
    ids = [write(ALICE, target_id=str(i)) for i in range(4)]
    _tamper("UPDATE audit_auditlog SET actor_user_id = 'mallory' WHERE id = %s", [ids[2]])
    message = _verify_fails()
    assert f"record #3 (id {ids[2]}) was edited" in message


def test_verify_names_a_deleted_record(db) -> None:
    ids = [write(ALICE, target_id=str(i)) for i in range(4)]
    _tamper("DELETE FROM audit_auditlog WHERE id = %s", [ids[1]])
    assert f"record(s) #2 deleted before record #3 (id {ids[2]})" in _verify_fails()


def test_verify_names_records_deleted_at_the_end(db) -> None:
    ids = [write(ALICE, target_id=str(i)) for i in range(4)]
    _tamper("DELETE FROM audit_auditlog WHERE id = %s", [ids[3]])
    assert "record(s) #4 deleted at the end of the chain" in _verify_fails()


def test_verify_names_an_inserted_record_even_with_a_forged_hash(db) -> None:
    for i in range(3):
        write(ALICE, target_id=str(i))
    last = AuditLog.objects.order_by("-sequence").first()
    forged = AuditLog(
        id="forged-0000",
        sequence=4,
        occurred_at=last.occurred_at,
        actor_user_id="mallory",
        service="users",
        action="user.role.add",
        target_type="user",
        target_id="mallory",
        prev_hash=last.hash,
    )
    forged.hash = record_hash(hashed_fields(forged))  # a perfectly chained forgery
    triggers.remove(connection)
    forged.save(force_insert=True)
    assert "#4..#4 were inserted after the last record written (#3)" in _verify_fails()


def test_verify_names_a_record_inserted_in_the_middle(db) -> None:
    ids = [write(ALICE, target_id=str(i)) for i in range(3)]
    triggers.remove(connection)
    with connection.cursor() as cursor:  # make room: renumber the last record
        cursor.execute("UPDATE audit_auditlog SET sequence = 4 WHERE id = %s", [ids[2]])
    second = AuditLog.objects.get(id=ids[1])
    forged = AuditLog(
        id="forged-0001",
        sequence=3,
        occurred_at=second.occurred_at,
        actor_user_id="mallory",
        service="users",
        action="user.delete",
        target_type="user",
        target_id="x",
        prev_hash=second.hash,
    )
    forged.hash = record_hash(hashed_fields(forged))
    forged.save(force_insert=True)
    assert f"record #4 (id {ids[2]}) was inserted or its predecessor replaced" in _verify_fails()


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="threads writing at once need PostgreSQL"
)
def test_concurrent_writers_serialize_on_the_chain_head(transactional_db) -> None:
    writers, per_writer = 8, 15
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def work(n: int) -> None:
        from django.db import connection as thread_connection

        try:
            start.wait()
            for i in range(per_writer):
                write(Actor(user_id=f"w{n}"), target_id=f"{n}-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sequences = list(AuditLog.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, writers * per_writer + 1))
    report = verify_chain()
    assert (report.count, report.problem) == (writers * per_writer, None)
