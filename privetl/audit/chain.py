"""The audit hash chain: how a record is hashed, and checking the chain.

``record_hash(hashed_fields(record))`` is the one definition of a record's hash, used by
the writer (``privetl.audit.services``) and by ``verify_chain`` (``privetl audit verify``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from privetl.audit.models import GENESIS_HASH, AuditChainHead, AuditLog


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for storing and hashing: sorted keys, no spaces."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def format_time(value: dt.datetime) -> str:
    """An aware timestamp as UTC ISO-8601 with microseconds (the hashed spelling)."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def record_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of a record's fields (including ``prev_hash``)."""
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def hashed_fields(record: AuditLog) -> dict[str, Any]:
    """The fields of a record that its hash covers, in their hashed spelling."""
    return {
        "id": record.id,
        "sequence": int(record.sequence),
        "occurred_at": format_time(record.occurred_at),
        "actor_user_id": record.actor_user_id,
        "impersonator_user_id": record.impersonator_user_id,
        "service": record.service,
        "action": record.action,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "outcome": record.outcome,
        "address": record.address,
        "request_id": record.request_id,
        "before_json": record.before_json,
        "after_json": record.after_json,
        "detail": record.detail,
        "prev_hash": record.prev_hash,
    }


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: the record count, the head hash, and the first fault."""

    count: int
    head_hash: str
    problem: str | None


def verify_chain(*, batch_size: int = 2000) -> ChainReport:
    """Recompute the chain in sequence order; stop at the first inconsistency."""
    expected_sequence = 1
    expected_prev = GENESIS_HASH
    count = 0
    records = AuditLog.objects.order_by("sequence").iterator(chunk_size=batch_size)
    for record in records:
        label = f"record #{record.sequence} (id {record.id})"
        if record.sequence < expected_sequence:  # pragma: no cover - unique constraint
            return ChainReport(count, expected_prev, f"{label} repeats a sequence number")
        if record.sequence > expected_sequence:
            missing = (
                f"#{expected_sequence}"
                if record.sequence == expected_sequence + 1
                else f"#{expected_sequence}..#{record.sequence - 1}"
            )
            return ChainReport(count, expected_prev, f"record(s) {missing} deleted before {label}")
        actual = record_hash(hashed_fields(record))
        if record.prev_hash != expected_prev:
            return ChainReport(
                count,
                expected_prev,
                f"{label} was inserted or its predecessor replaced: its prev_hash does not "
                f"match the hash of record #{expected_sequence - 1}",
            )
        if actual != record.hash:
            return ChainReport(
                count, expected_prev, f"{label} was edited: its content does not match its hash"
            )
        expected_prev = record.hash
        expected_sequence += 1
        count += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    head_sequence = head.last_sequence if head else 0
    head_hash = head.last_hash if head else GENESIS_HASH
    last = expected_sequence - 1
    if head_sequence > last:
        missing = f"#{last + 1}" if head_sequence == last + 1 else f"#{last + 1}..#{head_sequence}"
        return ChainReport(
            count, expected_prev, f"record(s) {missing} deleted at the end of the chain"
        )
    if head_sequence < last:
        return ChainReport(
            count,
            expected_prev,
            f"record(s) #{head_sequence + 1}..#{last} were inserted after the last record "
            f"written (#{head_sequence})",
        )
    if head_hash != expected_prev:
        return ChainReport(
            count, expected_prev, f"record #{last} was replaced: it is not the last record written"
        )
    return ChainReport(count, expected_prev, None)


@contextmanager
def chain_snapshot() -> Iterator[None]:
    """One consistent view of log and head while they are read (writers may go on): what
    ``privetl audit verify`` and the UI's chain status read the chain in."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield
