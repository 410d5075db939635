"""Django app of the ETL Task Manager service (configuration; runs come with the next issue)."""

from __future__ import annotations

from django.apps import AppConfig


class TasksConfig(AppConfig):
    """ETL tasks: a destination module, its scripts, and the document a release compiles."""

    name = "privetl.tasks"
    label = "tasks"
    verbose_name = "ETL Task Manager"
    default_auto_field = "django.db.models.BigAutoField"
