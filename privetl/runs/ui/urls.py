"""URLs of the runs' UI door, mounted under ``/ui/runs/``."""

from __future__ import annotations

from django.urls import path

from privetl.runs.ui import views

urlpatterns = [
    path("", views.run_list, name="ui-runs"),
    path("<str:run_id>/", views.run_detail, name="ui-run"),
]
