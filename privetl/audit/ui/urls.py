"""URLs of the Audit pages, mounted under ``/ui/audit/``."""

from __future__ import annotations

from django.urls import path

from privetl.audit.ui import views

urlpatterns = [
    path("", views.audit_log_list, name="ui-audit"),
    path("chain/", views.chain_status, name="ui-audit-chain"),
    path("<str:audit_log_id>/", views.audit_log_detail, name="ui-audit-record"),
]
