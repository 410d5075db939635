"""Read-only admin pages for the audit log: operators may look, nobody may edit."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from privetl.audit.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Browse and search the log; add, change and delete are switched off (append-only)."""

    list_display = (
        "sequence",
        "occurred_at",
        "actor_user_id",
        "impersonator_user_id",
        "service",
        "action",
        "target_type",
        "target_id",
        "outcome",
    )
    list_filter = ("service", "outcome")
    search_fields = ("actor_user_id", "impersonator_user_id", "action", "target_id", "request_id")
    ordering = ("-sequence",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
