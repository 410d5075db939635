"""Django app of the Audit Logger service."""

from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only, hash-chained audit log every service writes into."""

    name = "privetl.audit"
    label = "audit"
    verbose_name = "Audit Logger"
    default_auto_field = "django.db.models.BigAutoField"
