"""Data of the runs: one row per run of a released task, one per table of its result.

A run's work (the engine's stage checkpoints, the verified output the outbox shows —
``privetl.data`` holds the outbox entries) lives in its work directory (``settings.RUN_WORK_DIR / <run id>``), never in the database: the
rows hold the state machine, the lease of the worker executing it, and the report. Nothing
here holds logic: every write goes through ``services.py``.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from privetl.tasks.models import ID_MAX_LENGTH, Task


class RunState(models.TextChoices):
    """The contract's run states (``etl.data.manager.V1.RunState``)."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"


ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING, RunState.PAUSED, RunState.AWAITING_UPLOAD)
"""A task has at most one run in these states; a second Start is refused while one is."""


class Run(models.Model):
    """One run of a released task.

    ``stages_done`` are the engine stages whose checkpoints are finished (a resumed or
    recovered run continues after the last); ``upload`` marks the queued work as the
    upload of a result awaiting it. ``lease_owner``/``lease_expires_at`` name the worker
    executing the run and until when its heartbeat vouches for it: a run RUNNING with an
    expired lease is recovered by any worker (``services.runs_recover``).
    """

    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="runs")
    module_sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.QUEUED)
    stage = models.CharField(max_length=16, blank=True, default="")
    stages_done = models.JSONField(default=list)
    timings = models.JSONField(default=dict)
    rows_in = models.BigIntegerField(default=0)
    rows_out = models.BigIntegerField(default=0)
    report_json = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    upload = models.BooleanField(default=False)
    pause_requested = models.BooleanField(default=False)
    engine = models.CharField(max_length=16, default="duckdb")
    started_by = models.CharField(max_length=ID_MAX_LENGTH)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    stage_executions = models.JSONField(default=dict)
    published_version = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["task", "queued_at", "id"], name="runs_run_task_queued"),
            models.Index(fields=["state", "lease_expires_at"], name="runs_run_state_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"
