"""Data of the Data Manager: the outbox, one entry per verified table of a run.

An entry's records are a Parquet file in its run's work directory (``path``, relative to
it), never rows in the database. The entry names its run by id (the runs app sits above
this one and creates the entries); ``revision`` counts the edits' new files, so concurrent
edits of one entry are serialized on its row and none is lost.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from privetl.tasks.models import ID_MAX_LENGTH, Task


class OutboxState(models.TextChoices):
    """The contract's outbox entry states (``etl.data.manager.V1.OutboxEntryState``)."""

    AWAITING_REVIEW = "AWAITING_REVIEW"
    UPLOADED = "UPLOADED"
    DISCARDED = "DISCARDED"
    EXPIRED = "EXPIRED"


class OutboxEntry(models.Model):
    """The verified output of one table of a run, waiting for review and upload."""

    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    run_id = models.CharField(max_length=ID_MAX_LENGTH, db_index=True)
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="outbox_entries")
    ext_datamodule_id = models.CharField(max_length=ID_MAX_LENGTH, db_index=True)
    table = models.CharField(max_length=200)
    state = models.CharField(
        max_length=16, choices=OutboxState.choices, default=OutboxState.AWAITING_REVIEW
    )
    rows = models.BigIntegerField(default=0)
    columns = models.JSONField(default=list)
    path = models.CharField(max_length=500)
    revision = models.PositiveIntegerField(default=0)
    edits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    retain_until = models.DateTimeField()
    uploaded_at = models.DateTimeField(null=True, blank=True)
    published_version = models.BigIntegerField(null=True, blank=True)
    privacy = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "retain_until"], name="data_outbox_state_retain"),
            models.Index(
                fields=["ext_datamodule_id", "created_at", "id"], name="data_outbox_module"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.table} ({self.state})"
