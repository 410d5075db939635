"""Checking the audit hash chain: shared by ``privetl audit verify`` and the tests."""

from __future__ import annotations

from dataclasses import dataclass

from privetl.audit.models import GENESIS_HASH, AuditChainHead, AuditLog
from privetl.common.audit import hashed_fields, record_hash


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
