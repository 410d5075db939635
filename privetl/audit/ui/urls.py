"""URLs of the Audit pages, mounted under ``/ui/audit/``."""

from __future__ import annotations

from django.urls import path

from privetl.audit.ui import views

urlpatterns = [
    path("", views.index, name="ui-audit"),
]
