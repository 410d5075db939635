"""Django app of the ETL Task Manager service (configuration; runs come with the next issue)."""

from __future__ import annotations

from django.apps import AppConfig


class TasksConfig(AppConfig):
    """ETL tasks: a destination module, its scripts, and the document a release compiles."""

    name = "privetl.tasks"
    label = "tasks"
    verbose_name = "ETL Task Manager"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Tell the Script Manager which tasks exist, so CreateScript refuses the others
        (the Script Manager sits below this app and may not import it)."""
        from privetl.scripts.task_directory import task_directory_register
        from privetl.tasks.models import Task

        def task_exists(task_id: str) -> bool:
            return Task.objects.filter(pk=task_id).exists()

        task_directory_register(task_exists)
