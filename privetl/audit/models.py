"""The audit log: one append-only, hash-chained record per change or refused attempt.

Rows are written only by ``privetl.audit.services`` (inside the transaction of the change
they record) and never updated or deleted: database triggers refuse UPDATE, DELETE and
TRUNCATE (migration ``0002``), a new record must follow the chain head (``0003``), and
``privetl audit verify`` walks the hash chain, and checks it against signed checkpoints
kept outside the database, to name what was edited, inserted or removed behind the
triggers' back. On PostgreSQL the platform's role does not own these tables, so it cannot
lift the triggers (``privetl.platform.database``).
"""

from __future__ import annotations

import uuid

from django.db import models


def new_audit_id() -> str:
    """Audit ids are strings (as every id in the contracts), random so they leak no count."""
    return str(uuid.uuid4())


class Outcome(models.TextChoices):
    """What became of the attempt: done, refused by a permission check, or failed."""

    SUCCESS = "success", "success"
    DENIED = "denied", "denied"
    FAILED = "failed", "failed"


GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first record of the chain."""


class AuditLog(models.Model):
    """Who did what, when, from where, to which target, and the state before and after.

    ``before_json`` / ``after_json`` are stored as canonical JSON *text* (sorted keys),
    not as a JSON column, so the bytes that were hashed are the bytes that are kept on
    every database engine (PostgreSQL's jsonb would reorder and renormalize them).
    """

    id = models.CharField(primary_key=True, max_length=36, default=new_audit_id, editable=False)
    sequence = models.BigIntegerField(unique=True, help_text="Position in the chain, from 1.")
    occurred_at = models.DateTimeField(help_text="When (UTC, from the application clock).")
    actor_user_id = models.CharField(max_length=255, blank=True, help_text="Who acted.")
    impersonator_user_id = models.CharField(
        max_length=255, blank=True, help_text="The admin acting as actor_user_id, if any."
    )
    service = models.CharField(max_length=64, help_text="Which service: users, audit, ...")
    action = models.CharField(max_length=128, help_text="What: user.create, GetUser, ...")
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    address = models.CharField(max_length=255, blank=True, help_text="Caller's address.")
    request_id = models.CharField(max_length=128, blank=True)
    before_json = models.TextField(blank=True, help_text="State before (secrets redacted).")
    after_json = models.TextField(blank=True, help_text="State after (secrets redacted).")
    detail = models.TextField(blank=True, help_text="A human note, e.g. why it was denied.")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-sequence"]
        indexes = [
            models.Index(fields=["actor_user_id", "-sequence"], name="audit_actor_idx"),
            models.Index(fields=["impersonator_user_id", "-sequence"], name="audit_imp_idx"),
            models.Index(fields=["service", "action", "-sequence"], name="audit_service_idx"),
            models.Index(fields=["target_type", "target_id", "-sequence"], name="audit_target_idx"),
            models.Index(fields=["occurred_at"], name="audit_time_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.service}.{self.action} by {self.actor_user_id or '-'}"


class AuditChainHead(models.Model):
    """The single row (pk=1) naming the chain's last record.

    Writers lock it (``SELECT ... FOR UPDATE``) so concurrent transactions append one
    after the other; ``verify`` compares it with the last record, so deleting the newest
    records (which leaves no gap behind them) is detected too. Created by migration
    ``0003``, whose triggers let it only advance by one, to the newest record, and refuse
    its DELETE; a new record must follow it (``privetl.audit.triggers``).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_sequence}"
