"""Read-only Django admin pages for the User Manager.

Every write must go through ``services.py`` so it is validated and audited in the same
transaction; the admin therefore only shows data. Change things through the API or the
``privetl`` commands.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from privetl.users.models import (
    AccessRequest,
    ExternalIdentity,
    LoginEvent,
    LoginRefusal,
    User,
    UserRole,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows, never writes them (a raw ``save()`` would skip validation and audit)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "blocked", "created_at")
    search_fields = ("id", "name")
    list_filter = ("blocked",)


@admin.register(UserRole)
class UserRoleAdmin(ReadOnlyAdmin):
    list_display = ("user", "role", "granted_by", "granted_at")
    list_filter = ("role",)


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "user",
        "ext_datamodule_id",
        "state",
        "expires_at",
        "decided_by",
        "created_at",
    )
    list_filter = ("state",)
    search_fields = ("id", "user__id", "ext_datamodule_id")


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(ReadOnlyAdmin):
    list_display = ("user", "issuer", "subject", "created_at")


@admin.register(LoginEvent)
class LoginEventAdmin(ReadOnlyAdmin):
    list_display = ("user_id", "door", "success", "reason", "address", "at")
    list_filter = ("door", "success")


@admin.register(LoginRefusal)
class LoginRefusalAdmin(ReadOnlyAdmin):
    list_display = ("minute", "address", "reason", "count", "last_at")
    list_filter = ("reason",)
