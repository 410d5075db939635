"""REST routes of the ETL Task Manager, included by the platform under ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from privetl.tasks import api

urlpatterns = [
    path("tasks", api.TasksView.as_view(), name="tasks"),
    path("tasks/<str:task_id>", api.TaskDetailView.as_view(), name="task-detail"),
    path(
        "tasks/<str:task_id>/extraction-scripts",
        api.ExtractionScriptsView.as_view(),
        name="task-extraction-scripts",
    ),
    path("tasks/<str:task_id>/field-rules", api.FieldRulesView.as_view(), name="task-field-rules"),
    path(
        "tasks/<str:task_id>/anonymization-rules",
        api.AnonymizationRulesView.as_view(),
        name="task-anonymization-rules",
    ),
    path(
        "tasks/<str:task_id>/transformation-scripts",
        api.TransformationScriptsView.as_view(),
        name="task-transformation-scripts",
    ),
    path(
        "tasks/<str:task_id>/uploading-script",
        api.UploadingScriptView.as_view(),
        name="task-uploading-script",
    ),
    path("tasks/<str:task_id>/release", api.TaskReleaseView.as_view(), name="task-release"),
    path("tasks/<str:task_id>/module", api.TaskModuleView.as_view(), name="task-module"),
]
