"""URLs of the Scripts pages, mounted under ``/ui/scripts/``."""

from __future__ import annotations

from django.urls import path

from privetl.scripts.ui import views

urlpatterns = [
    path("", views.index, name="ui-scripts"),
]
