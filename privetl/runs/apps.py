"""Django app of the runs: released tasks executed stage by stage in background workers."""

from __future__ import annotations

from django.apps import AppConfig


class RunsConfig(AppConfig):
    """Runs of ETL tasks, their leases and stages, and the outbox their results wait in."""

    name = "privetl.runs"
    label = "runs"
    verbose_name = "ETL runs and outbox"
    default_auto_field = "django.db.models.BigAutoField"
