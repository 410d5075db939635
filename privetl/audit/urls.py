"""REST routes of the Audit Logger, included by the platform under ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from privetl.audit import api

urlpatterns = [
    path("audit-logs", api.AuditLogsView.as_view(), name="audit-logs"),
    path(
        "audit-logs/<str:audit_log_id>", api.AuditLogDetailView.as_view(), name="audit-log-detail"
    ),
]
