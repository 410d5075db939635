"""The audit writer: every service records its changes here, in the change's own transaction.

``audit_record`` appends one record to the hash chain of ``privetl.audit.models.AuditLog``
inside the caller's ``transaction.atomic`` block, so a change and its record commit or
roll back together. ``audit_denied`` records a refused attempt in a transaction of its own,
because the attempted change was rolled back.

Chain: each record stores ``prev_hash`` (the hash of the record before it) and ``hash`` =
SHA-256 of the canonical JSON of its own fields plus ``prev_hash`` (``privetl.audit.chain``).
Writers serialize on the single chain-head row (``SELECT ... FOR UPDATE`` on PostgreSQL;
SQLite transactions are already serialized by the write lock), so sequence numbers have no
gaps and no forks. ``privetl audit verify`` recomputes the chain.

The chain is unkeyed: it proves that no record was edited, inserted or removed *by
someone who did not also rewrite every later record and the head*. Signed checkpoints of
the head kept outside the database (``privetl audit checkpoint``,
``privetl.audit.checkpoints``) anchor it against that too.

This is the audit app's ``services.py``, the way every app's writes live in its own: the
service apps import it (they sit above the audit layer); it imports only the audit models
and ``privetl.common``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from privetl.audit.chain import canonical_json, hashed_fields, record_hash
from privetl.audit.models import AuditChainHead, AuditLog
from privetl.common.context import Actor
from privetl.common.redaction import redact, redact_text

logger = logging.getLogger(__name__)

OUTCOMES = frozenset({"success", "denied", "failed"})


def _lock_head() -> Any:
    """The chain head, locked until the caller's transaction ends."""
    # Created on first use (and again after a test database flush); a concurrent creator
    # is harmless thanks to ignore_conflicts.
    if not AuditChainHead.objects.filter(pk=1).exists():
        AuditChainHead.objects.bulk_create([AuditChainHead(pk=1)], ignore_conflicts=True)
    return AuditChainHead.objects.select_for_update().get(pk=1)


def _clip(value: str | None, limit: int) -> str:
    return (value or "")[:limit]


def audit_record(
    *,
    actor: Actor,
    service: str,
    action: str,
    target_type: str,
    target_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    outcome: str = "success",
    detail: str = "",
) -> AuditLog:
    """Append one record to the audit chain, inside the caller's transaction.

    Must be called inside ``transaction.atomic`` (the service's own), so that the record
    exists exactly when the change does. Secret-looking keys of ``before``/``after`` are
    redacted to ``"***"``; the timestamp comes from the application clock (aware UTC),
    so it means the same on every database engine.
    """
    if not connection.in_atomic_block:
        raise RuntimeError(
            "audit_record must run inside the change's transaction.atomic block, "
            "so the change and its audit record commit or roll back together"
        )
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
    head = _lock_head()
    record = AuditLog(
        sequence=head.last_sequence + 1,
        occurred_at=timezone.now(),
        actor_user_id=_clip(actor.user_id, 255),
        impersonator_user_id=_clip(actor.impersonator_id, 255),
        service=_clip(service, 64),
        action=_clip(action, 128),
        target_type=_clip(target_type, 64),
        target_id=_clip(target_id, 255),
        outcome=outcome,
        address=_clip(actor.address, 255),
        request_id=_clip(actor.request_id, 128),
        before_json="" if before is None else canonical_json(redact(before)),
        after_json="" if after is None else canonical_json(redact(after)),
        detail=redact_text(detail or ""),
        prev_hash=head.last_hash,
    )
    record.hash = record_hash(hashed_fields(record))
    record.save(force_insert=True)
    head.last_sequence = record.sequence
    head.last_hash = record.hash
    head.save(update_fields=["last_sequence", "last_hash"])
    return record


def audit_denied(
    *,
    actor: Actor,
    service: str,
    action: str,
    target_type: str = "",
    target_id: str = "",
    message: str,
    outcome: str = "denied",
) -> None:
    """Record what an identified user was refused, in a transaction of its own.

    Called by the doors after the attempted change has been rolled back. ``actor`` names
    the user: an authenticated caller refused a permission, or the user a genuine token
    identified (blocked, or not allowed to impersonate). Refusals that identified nobody
    are not audit records (anyone could flood the chain with them): the doors count them
    in the login history instead (``privetl.platform.auth.refusal_record``). A failure to
    write is logged, never raised: the caller is already answering with the original error.
    """
    if not actor.user_id:
        raise ValueError(
            "audit_denied records what an identified user was refused; a refusal that "
            "identified nobody belongs in the login history (users.login_refusal_record)"
        )
    try:
        with transaction.atomic():
            audit_record(
                actor=actor,
                service=service,
                action=action,
                target_type=target_type,
                target_id=target_id,
                outcome=outcome,
                detail=message,
            )
    except Exception:
        logger.exception(
            "could not record a denied %s.%s attempt in the audit log", service, action
        )
