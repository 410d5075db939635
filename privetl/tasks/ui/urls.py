"""URLs of the Tasks pages, mounted under ``/ui/tasks/``."""

from __future__ import annotations

from django.urls import path

from privetl.tasks.ui import views

urlpatterns = [
    path("", views.index, name="ui-tasks"),
    path("new/", views.task_create, name="ui-task-create"),
    path("<str:task_id>/", views.task_detail, name="ui-task-detail"),
    path("<str:task_id>/scripts/", views.task_scripts, name="ui-task-scripts"),
    path("<str:task_id>/release/", views.task_release, name="ui-task-release"),
]
