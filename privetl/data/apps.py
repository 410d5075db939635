"""Django app of the Data Manager: the outbox and the run history, through its contract."""

from __future__ import annotations

from django.apps import AppConfig


class DataConfig(AppConfig):
    """Review and edit processed data before upload; read the run history."""

    name = "privetl.data"
    label = "data"
    verbose_name = "Data Manager"
    default_auto_field = "django.db.models.BigAutoField"
