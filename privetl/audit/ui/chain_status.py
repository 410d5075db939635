"""The audit chain's status for an admin's page: cheap by default, the whole walk on demand.

``privetl audit verify`` walks every record; over 10,000 records that is too slow for a page
that should answer in well under a second. So the page first shows the *cheap* status —
the chain head, the newest signed checkpoint (``privetl.audit.checkpoints``) and whether
record #N of that checkpoint still has the hash it signed (one query: in an intact chain
that hash commits to every record before it) — and walks the whole chain
(``privetl.audit.chain.verify_chain``, then the same checkpoint comparison as the command)
only when the admin presses "Verify the whole chain".

This lives in the audit app's UI door because only a door may combine the chain with the
checkpoints (the app's import layers put ``checkpoints`` beside ``services``, above
``selectors`` and ``chain``), exactly as the ``audit`` command does.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from privetl.audit.chain import ChainReport, chain_snapshot, verify_chain
from privetl.audit.checkpoints import (
    DIR_VARIABLE,
    Checkpoint,
    CheckpointError,
    CheckpointInvalid,
    checkpoint_compare,
    checkpoint_newest,
    checkpoints_read,
)
from privetl.audit.models import AuditChainHead, AuditLog
from privetl.common.context import Actor
from privetl.common.errors import PermissionDenied


@dataclass(frozen=True)
class ChainStatus:
    """What the page says about the chain.

    ``verified`` tells whether the whole chain was walked now; then ``verified_count``
    records (#1..#N) were found intact and ``problem`` names the first fault, if any.
    Without the walk, ``problem`` can still name a disagreement with the newest checkpoint.
    """

    head_sequence: int
    checkpoint: Checkpoint | None
    checkpoint_note: str
    verified: bool
    verified_count: int
    problem: str | None

    @property
    def written_since_checkpoint(self) -> int:
        """Records the newest checkpoint does not cover yet (protected by the chain alone)."""
        return self.head_sequence - (self.checkpoint.sequence if self.checkpoint else 0)


def _checkpoints() -> tuple[list[Checkpoint], str, str | None]:
    """The signed checkpoints, a note on them for the page, and a tampering found in them."""
    if not settings.AUDIT_CHECKPOINT_DIR:
        return [], f"this server is not given the checkpoints ({DIR_VARIABLE} is not set)", None
    try:
        found = checkpoints_read(
            key=settings.AUDIT_CHECKPOINT_KEY, directory=settings.AUDIT_CHECKPOINT_DIR
        )
    except CheckpointInvalid as exc:
        return [], "", str(exc)
    except CheckpointError as exc:
        return [], f"the checkpoints cannot be checked on this server: {exc}", None
    if not found:
        return [], "no checkpoint yet: run 'privetl audit checkpoint' periodically", None
    return found, "", None


def audit_chain_status(*, actor: Actor, verify: bool = False) -> ChainStatus:
    """The chain's status for an ADMIN (the chain spans everyone's records); ``verify``
    walks the whole chain, otherwise only the newest checkpoint is checked."""
    if not actor.is_admin:
        raise PermissionDenied("only an ADMIN may check the audit chain")
    checkpoints, note, problem = _checkpoints()
    newest = checkpoint_newest(checkpoints)
    with chain_snapshot():
        head = AuditChainHead.objects.filter(pk=1).values_list("last_sequence", flat=True).first()
        head_sequence = head or 0
        report = verify_chain() if verify else ChainReport(head_sequence, "", None)
        if problem is None:
            problem = report.problem
        if problem is None and newest is not None:
            signed = (
                AuditLog.objects.filter(sequence=newest.sequence)
                .values_list("hash", flat=True)
                .first()
            )
            problem = checkpoint_compare(report=report, record_hash=signed, checkpoint=newest)
    return ChainStatus(
        head_sequence=head_sequence,
        checkpoint=newest,
        checkpoint_note=note,
        verified=verify,
        verified_count=report.count if verify else 0,
        problem=problem,
    )
