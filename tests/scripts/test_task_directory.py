"""The Script Manager's port to the tasks (``privetl.scripts.task_directory``): the ETL Task
Manager's answer once its app is ready, and a configuration error, never a guess, without it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured

from privetl.common.errors import NotFound
from privetl.scripts import services, task_directory
from privetl.scripts.models import Script
from tests.scripts.helpers import SAMPLE_EXTRACTORS, task_row


@pytest.fixture
def no_directory() -> Iterator[None]:
    """The port as it is before any app registers a directory (restored afterwards)."""
    saved = list(task_directory._directory)
    task_directory._directory.clear()
    yield
    task_directory._directory[:] = saved


def test_the_task_manager_answers_from_its_tasks(db) -> None:
    task_row("t1")
    assert task_directory.task_exists("t1") is True
    assert task_directory.task_exists("t2") is False


@pytest.mark.usefixtures("no_directory")
def test_without_a_directory_the_port_refuses_to_guess(editor) -> None:
    with pytest.raises(ImproperlyConfigured, match="privetl.tasks"):
        task_directory.task_exists("t1")
    with pytest.raises(ImproperlyConfigured):
        services.script_create(
            actor=editor, task_id="t1", kind="extractor", body=dict(SAMPLE_EXTRACTORS[0][1])
        )
    assert not Script.objects.exists()


def test_a_missing_task_is_not_found_and_nothing_is_created(editor) -> None:
    with pytest.raises(NotFound, match="task 'gone' does not exist") as exc:
        services.script_create(
            actor=editor, task_id="gone", kind="extractor", body=dict(SAMPLE_EXTRACTORS[0][1])
        )
    assert exc.value.field == "script.task_id"
    assert not Script.objects.exists()
