"""Read-only Django admin page for connections (never the connection string, not even encrypted).

Every write goes through ``services.py`` so it is validated, encrypted and audited.
"""

from __future__ import annotations

from django.contrib import admin

from privetl.datamodules.models import Connection
from privetl.users.admin import ReadOnlyAdmin


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "type", "created_by", "updated_at")
    list_filter = ("type",)
    search_fields = ("id", "name")
    exclude = ("connection_string_ciphertext",)
