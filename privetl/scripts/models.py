"""Data of the Script Manager: one table of scripts, each of one of five kinds.

Nothing here holds logic: every write goes through ``services.py`` (which validates the body
with the engine's own rules and audits the change in the same transaction) and every read
through ``selectors.py``. A script's body is kept as the contract spells it (its message's
field names, enum values by name) so that both doors and the compile step read one shape.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

ID_MAX_LENGTH = 64


class ScriptKind(models.TextChoices):
    """The five kinds of the contract's ``Script.script`` oneof; a script's kind never changes."""

    EXTRACTOR = "extractor"
    FIELD_RULE = "field_rule"
    ANONYMIZATION_RULE = "anonymization_rule"
    TRANSFORMER = "transformer"
    UPLOADER = "uploader"


class Script(models.Model):
    """One script of an ETL task: a part of the data module document the task compiles into.

    ``task_id`` names the task by id (the task manager, a layer above, checks when a task
    takes the script that it belongs to it). ``body`` is the kind's message as JSON with
    the contract's field names (``config_json`` and the other ``*_json`` fields kept as the
    text sent, after checking that it is JSON). ``fields`` lists ``{"ext_datamodule_id",
    "field_name"}`` pairs, ``field_name`` being ``"<table>/<column>"``. A released script
    is immutable: the services refuse every change to it.
    """

    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    task_id = models.CharField(max_length=ID_MAX_LENGTH, db_index=True)
    kind = models.CharField(max_length=32, choices=ScriptKind.choices)
    body = models.JSONField(default=dict)
    fields = models.JSONField(default=list)
    released = models.BooleanField(default=False)
    created_by = models.CharField(max_length=ID_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.id} ({self.kind} of task {self.task_id})"
