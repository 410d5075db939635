"""Django app of the ExtDatamodule Manager service."""

from __future__ import annotations

from django.apps import AppConfig


class DatamodulesConfig(AppConfig):
    """Connections to external data modules: their contracts and encrypted connection strings."""

    name = "privetl.datamodules"
    label = "datamodules"
    verbose_name = "ExtDatamodule Manager"
    default_auto_field = "django.db.models.BigAutoField"
