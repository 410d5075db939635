"""REST routes of the Script Manager, included by the platform under ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from privetl.scripts import api

urlpatterns = [
    path("scripts", api.ScriptsView.as_view(), name="scripts"),
    path("scripts/<str:script_id>", api.ScriptDetailView.as_view(), name="script-detail"),
    path("scripts/<str:script_id>/release", api.ScriptReleaseView.as_view(), name="script-release"),
]
