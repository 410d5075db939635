"""URLs of the run controls (Start, Pause, Resume, Stop of a task's run, and the live progress
fragment), mounted under ``/ui/run-controls/``: the task pages and the outbox's Upload post
here, since only the runs app may call the run services (it sits above tasks and data)."""

from __future__ import annotations

from django.urls import path

from privetl.runs.ui import controls

urlpatterns = [
    path("<str:task_id>/start/", controls.start, name="ui-run-start"),
    path("<str:task_id>/pause/", controls.pause, name="ui-run-pause"),
    path("<str:task_id>/resume/", controls.resume, name="ui-run-resume"),
    path("<str:task_id>/stop/", controls.stop, name="ui-run-stop"),
    path("<str:task_id>/progress/", controls.progress, name="ui-run-progress"),
]
