"""Signed checkpoints of the audit chain, outside the database: what they catch that the
chain alone cannot (a consistent rewrite, a wipe, a shortened tail), and forged files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from privetl.audit import triggers
from privetl.audit.chain import hashed_fields, record_hash, verify_chain
from privetl.audit.models import GENESIS_HASH, AuditChainHead, AuditLog
from tests.audit.conftest import actor_for, write

ALICE = actor_for("alice")
KEY = "k" * 40


@pytest.fixture
def checkpoints(settings, tmp_path: Path) -> Path:
    """A fresh checkpoint directory and key for the test."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_KEY = KEY
    return settings.AUDIT_CHECKPOINT_DIR


def checkpoint(capsys) -> str:
    call_command("audit", "checkpoint")
    return capsys.readouterr().out


def verify(capsys) -> str:
    call_command("audit", "verify")
    return capsys.readouterr().out


def verify_fails() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("audit", "verify")
    assert caught.value.returncode == 1
    return str(caught.value)


def rewrite_from(sequence: int, **changes: str) -> None:
    """What an attacker with write access does: edit a record, recompute every later hash
    and the head, so that the chain alone is consistent again."""
    triggers.remove(connection)
    prev = AuditLog.objects.get(sequence=sequence - 1).hash if sequence > 1 else GENESIS_HASH
    for record in AuditLog.objects.filter(sequence__gte=sequence).order_by("sequence"):
        for name, value in changes.items():
            setattr(record, name, value)
        record.prev_hash = prev
        record.hash = record_hash(hashed_fields(record))
        AuditLog.objects.filter(pk=record.pk).update(
            prev_hash=record.prev_hash, hash=record.hash, **changes
        )
        prev = record.hash
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev)
    assert verify_chain().problem is None  # the chain alone sees nothing


def test_happy_path_checkpoints_and_verify(db, checkpoints: Path, capsys) -> None:
    for i in range(3):
        write(ALICE, target_id=str(i))
    assert "no checkpoint to compare with yet" in verify(capsys)
    first = checkpoint(capsys)
    assert "checkpoint written: #3" in first
    for i in range(2):
        write(ALICE, target_id=f"later-{i}")
    assert "checkpoint written: #5" in checkpoint(capsys)
    files = sorted(checkpoints.iterdir())
    assert [f.name.split("-")[0] for f in files] == ["000000000003", "000000000005"]
    assert not any(f.name.startswith(".writing-") for f in files)  # no temporary file left
    body = json.loads(files[-1].read_text())
    assert set(body) == {"version", "sequence", "head_hash", "at", "mac"}
    assert (body["sequence"], body["head_hash"]) == (5, AuditChainHead.objects.get().last_hash)
    write(ALICE, target_id="after the last checkpoint")  # the chain may grow past it
    out = verify(capsys)
    assert "chain intact: 6 records" in out
    assert "matches 2 checkpoint(s), the newest checkpoint #5" in out


def test_a_consistent_rewrite_up_to_a_checkpoint_is_caught(db, checkpoints: Path, capsys) -> None:
    for i in range(5):
        write(ALICE, target_id=str(i))
    checkpoint(capsys)
    rewrite_from(3, actor_user_id="mallory")
    message = verify_fails()
    assert "the chain was rewritten: record #5 no longer has the hash" in message
    assert "checkpoint #5" in message


def test_a_wipe_of_log_and_head_is_caught(db, checkpoints: Path, capsys) -> None:
    for i in range(4):
        write(ALICE, target_id=str(i))
    checkpoint(capsys)
    triggers.remove(connection)
    AuditLog.objects.all().delete()
    AuditChainHead.objects.all().delete()
    assert verify_chain().problem is None  # "chain intact: 0 records" without checkpoints
    message = verify_fails()
    assert "the audit log is empty but checkpoint #4" in message
    assert "wiped" in message


def test_records_missing_after_a_checkpoint_are_caught(db, checkpoints: Path, capsys) -> None:
    for i in range(5):
        write(ALICE, target_id=str(i))
    checkpoint(capsys)
    triggers.remove(connection)
    AuditLog.objects.filter(sequence__gte=4).delete()
    third = AuditLog.objects.get(sequence=3)
    AuditChainHead.objects.filter(pk=1).update(last_sequence=3, last_hash=third.hash)
    assert verify_chain().problem is None
    message = verify_fails()
    assert "record(s) #4..#5 are missing" in message


def test_a_forged_or_edited_checkpoint_is_refused(db, checkpoints: Path, capsys) -> None:
    for i in range(3):
        write(ALICE, target_id=str(i))
    checkpoint(capsys)
    [path] = list(checkpoints.iterdir())
    body = json.loads(path.read_text())
    body["sequence"] = 2  # an attacker moving the checkpoint back before a deletion
    path.write_text(json.dumps(body))
    assert "is not signed by PRIVETL_AUDIT_CHECKPOINT_KEY" in verify_fails()
    path.write_text("{not json")
    assert "unreadable" in verify_fails()


def test_checkpoint_refuses_to_sign_a_broken_chain(db, checkpoints: Path) -> None:
    ids = [write(ALICE, target_id=str(i)) for i in range(3)]
    triggers.remove(connection)
    AuditLog.objects.filter(id=ids[1]).update(detail="nothing happened")
    with pytest.raises(CommandError, match="record #2") as caught:
        call_command("audit", "checkpoint")
    assert caught.value.returncode == 1
    assert not checkpoints.exists() or not list(checkpoints.iterdir())


def test_a_rewrite_cannot_be_laundered_by_a_new_checkpoint(db, checkpoints: Path, capsys) -> None:
    for i in range(4):
        write(ALICE, target_id=str(i))
    checkpoint(capsys)
    rewrite_from(2, detail="laundered")
    with pytest.raises(CommandError, match="rewritten"):
        call_command("audit", "checkpoint")
    assert len(list(checkpoints.iterdir())) == 1


def test_without_a_key_checkpoints_cannot_be_written_or_checked(
    db, checkpoints: Path, settings, capsys
) -> None:
    write(ALICE)
    checkpoint(capsys)
    settings.AUDIT_CHECKPOINT_KEY = ""
    with pytest.raises(CommandError, match="PRIVETL_AUDIT_CHECKPOINT_KEY is not set") as caught:
        call_command("audit", "verify")
    assert caught.value.returncode == 2
    settings.AUDIT_CHECKPOINT_KEY = "short"
    with pytest.raises(CommandError, match="too weak"):
        call_command("audit", "checkpoint")
    settings.AUDIT_CHECKPOINT_KEY = KEY
    settings.AUDIT_CHECKPOINT_DIR = None
    with pytest.raises(CommandError, match="PRIVETL_AUDIT_CHECKPOINT_DIR is not set"):
        call_command("audit", "checkpoint")


def test_a_checkpoint_signed_with_another_key_is_refused(db, checkpoints: Path, settings, capsys):
    write(ALICE)
    checkpoint(capsys)
    settings.AUDIT_CHECKPOINT_KEY = "another key of at least thirty-two characters"
    assert "not signed by" in verify_fails()
