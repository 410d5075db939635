"""The Script Manager's port to the tasks its scripts name: does a task exist?

A script belongs to a task (``Script.task_id``), so CreateScript must refuse a task that does
not exist. The ETL Task Manager sits *above* the Script Manager (a task reads its scripts'
bodies to compile them; ``pyproject.toml``'s import-linter contract), so this app may not
import it. Instead the app that knows the tasks plugs its answer in here
(``TasksConfig.ready``), as ``DatamodulesConfig.ready`` plugs its module catalog into the User
Manager. Without one, ``task_exists`` refuses to guess: saying "yes" would let scripts name
tasks that never existed, saying "no" would refuse every script.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

TaskDirectory = Callable[[str], bool]
"""``task_id -> bool``: True when the task exists."""

_directory: list[TaskDirectory] = []


def task_directory_register(directory: TaskDirectory) -> None:
    """Called once by the ETL Task Manager's app config; a second call replaces the first
    (a reloaded app config), so there is only ever one answer."""
    _directory[:] = [directory]


def task_exists(task_id: str) -> bool:
    """Whether the task ``task_id`` exists, in the registered directory's words."""
    if not _directory:
        raise ImproperlyConfigured(
            "the Script Manager cannot tell whether a task exists: no task directory is "
            "registered; install the ETL Task Manager (privetl.tasks in INSTALLED_APPS), whose "
            "app config registers it"
        )
    return _directory[0](task_id)
