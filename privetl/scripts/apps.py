"""Django app of the Script Manager service."""

from __future__ import annotations

from django.apps import AppConfig


class ScriptsConfig(AppConfig):
    """The scripts an ETL task is assembled from: extractors, rules, transformers, uploaders."""

    name = "privetl.scripts"
    label = "scripts"
    verbose_name = "Script Manager"
    default_auto_field = "django.db.models.BigAutoField"
