"""URLs of the Tasks pages, mounted under ``/ui/tasks/``."""

from __future__ import annotations

from django.urls import path

from privetl.tasks.ui import views

urlpatterns = [
    path("", views.index, name="ui-tasks"),
]
