"""REST routes of the run controls, included by the platform under ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from privetl.runs import api

urlpatterns = [
    path("tasks/<str:task_id>/start", api.TaskStartView.as_view(), name="task-start"),
    path("tasks/<str:task_id>/pause", api.TaskPauseView.as_view(), name="task-pause"),
    path("tasks/<str:task_id>/resume", api.TaskResumeView.as_view(), name="task-resume"),
    path("tasks/<str:task_id>/stop", api.TaskStopView.as_view(), name="task-stop"),
    path("runs", api.RunsView.as_view(), name="runs"),
    path("runs/<str:run_id>", api.RunDetailView.as_view(), name="run-detail"),
]
