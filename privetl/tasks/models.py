"""Data of the ETL Task Manager: the tasks, their script lists, and the released document.

Nothing here holds logic: every write goes through ``services.py`` (rights checked, audited
in the same transaction) and every read through ``selectors.py``. The script lists are
JSON lists of script ids in the contract's order (a task's transformations run in the order
listed), so reading a page of tasks is one query.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

ID_MAX_LENGTH = 64
NAME_MAX_LENGTH = 200


class TaskState(models.TextChoices):
    """The contract's task states: DRAFT and RELEASED are the configuration's; the others
    follow the task's latest run (recorded by the runs app, in the run's own transaction)."""

    DRAFT = "DRAFT"
    RELEASED = "RELEASED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    UPLOADING = "UPLOADING"
    COMPLETED = "COMPLETED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


class Task(models.Model):
    """An ETL task: the destination module and the scripts that make its next version.

    A draft's script lists change through the Update… services; Release compiles the
    destination's contract and the released scripts into one data module document, stored
    here as the exact text exported (``module_document``) with its SHA-256, and the
    connections a run of it needs (``module_connections``: id, type, variable; ``folder`` is kept empty).
    A released task is immutable.
    """

    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(blank=True, default="")
    ext_datamodule_id = models.CharField(max_length=ID_MAX_LENGTH, db_index=True)
    seed = models.BigIntegerField(default=0)
    state = models.CharField(max_length=16, choices=TaskState.choices, default=TaskState.DRAFT)
    extraction_script_ids = models.JSONField(default=list)
    field_rule_script_ids = models.JSONField(default=list)
    anonymization_script_ids = models.JSONField(default=list)
    transformation_script_ids = models.JSONField(default=list)
    uploading_script_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    created_by = models.CharField(max_length=ID_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    module_document = models.TextField(blank=True, default="")
    module_sha256 = models.CharField(max_length=64, blank=True, default="")
    module_connections = models.JSONField(default=list)
    current_run_id = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "created_at", "id"], name="tasks_task_state_created")
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"
