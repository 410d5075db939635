"""``privetl audit verify`` and ``privetl audit checkpoint``: check the audit log, and pin it.

``verify`` walks the hash chain and checks it against the signed checkpoints of
``settings.AUDIT_CHECKPOINT_DIR`` (``privetl.audit.checkpoints``). Exit status 0 with
``chain intact: N records`` (the head hash, and the newest checkpoint it matches); exit
status 1 naming the first record that was edited, inserted or deleted, a consistent
rewrite of the chain up to a checkpoint, a wipe of log and head, records missing after a
checkpoint, or a checkpoint file that is not validly signed; exit status 2 when the
checkpoints cannot be checked (no key).

``checkpoint`` verifies the same way, then signs ``(sequence, head hash, time)`` into a new
file of the checkpoint directory; it writes nothing when the chain is broken (exit 1).
Run it periodically (a Kubernetes CronJob in ``deploy/k8s/``, or cron).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from privetl.audit.chain import ChainReport, chain_snapshot, verify_chain
from privetl.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointInvalid,
    checkpoint_compare,
    checkpoint_newest,
    checkpoint_write,
    checkpoints_read,
)
from privetl.audit.models import AuditLog

NO_CHECKPOINT = "no checkpoint to compare with yet (run 'privetl audit checkpoint' periodically)"


class Command(BaseCommand):
    help = (
        "Audit log tools. 'verify' checks the hash chain against the signed checkpoints "
        "(exit 1 on tampering); 'checkpoint' signs the verified head into a new file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify,checkpoint}")
        sub.add_parser(
            "verify", help="Check the hash chain and the checkpoints; name the first fault."
        )
        sub.add_parser(
            "checkpoint",
            help=(
                "Verify, then write a signed checkpoint (sequence, head hash, time) to "
                "PRIVETL_AUDIT_CHECKPOINT_DIR with PRIVETL_AUDIT_CHECKPOINT_KEY."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if AuditLog._meta.db_table not in connection.introspection.table_names():
            raise CommandError("there is no audit log in this database yet: run 'privetl migrate'")
        try:
            checkpoints = checkpoints_read(
                key=settings.AUDIT_CHECKPOINT_KEY, directory=settings.AUDIT_CHECKPOINT_DIR
            )
        except CheckpointInvalid as exc:
            raise CommandError(f"audit chain broken: {exc}", returncode=1) from None
        except CheckpointError as exc:
            raise CommandError(f"cannot check the checkpoints: {exc}", returncode=2) from None
        with chain_snapshot():
            report = self._verified(checkpoints)
        if options["subcommand"] == "checkpoint":
            try:
                written = checkpoint_write(
                    report=report,
                    key=settings.AUDIT_CHECKPOINT_KEY,
                    directory=settings.AUDIT_CHECKPOINT_DIR,
                    now=timezone.now(),
                )
            except CheckpointError as exc:
                raise CommandError(f"cannot write a checkpoint: {exc}", returncode=2) from None
            self.stdout.write(
                f"checkpoint written: #{written.sequence} (head {written.head_hash}) "
                f"to {written.path}"
            )
            return
        latest = checkpoint_newest(checkpoints)
        against = (
            f"matches {len(checkpoints)} checkpoint(s), the newest {latest.label}"
            if latest
            else NO_CHECKPOINT
        )
        self.stdout.write(
            f"chain intact: {report.count} records (head {report.head_hash}); {against}"
        )

    def _verified(self, checkpoints: list[Checkpoint]) -> ChainReport:
        """The chain's report, after the chain and every checkpoint agreed (else exit 1)."""
        report = verify_chain()
        problem = report.problem
        newest = checkpoint_newest(checkpoints)
        if problem is None and newest is not None:
            record_hash = (
                AuditLog.objects.filter(sequence=newest.sequence)
                .values_list("hash", flat=True)
                .first()
            )
            problem = checkpoint_compare(report=report, record_hash=record_hash, checkpoint=newest)
        if problem:
            raise CommandError(f"audit chain broken: {problem}", returncode=1)
        return report
