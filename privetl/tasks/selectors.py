"""Readers of the ETL Task Manager, and its one rights rule, each scoped by who is asking.

Rights (use case "Manage ETL Task"): configuring needs the role EDIT_TASK, and the editor
must hold WRITE or OWNER on the destination module, READ (or OWNER) on every connection
its extractors read, and WRITE or OWNER on a connection its uploader writes. The grants
are the User Manager's, asked through ``datamodules.selectors.caller_access_types``;
``rights_problems`` is the single place that applies the rule, on every update and again
at Release. Reading tasks needs EDIT_TASK, PROCESS_ETL_TASK or ADMIN.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count

from privetl.common.context import Actor
from privetl.common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from privetl.common.paging import Page, keyset_page, scope_of
from privetl.datamodules.selectors import caller_access_types
from privetl.tasks.models import Task, TaskState

READER_ROLES = frozenset({"EDIT_TASK", "PROCESS_ETL_TASK", "ADMIN"})
EDITOR_ROLE = "EDIT_TASK"
TASK_ORDER = ("-created_at", "-id")


@dataclass(frozen=True)
class TaskView:
    """A task as every door shows it."""

    id: str
    name: str
    description: str
    ext_datamodule_id: str
    seed: int
    state: str
    extraction_script_ids: list[str]
    field_rule_script_ids: list[str]
    anonymization_script_ids: list[str]
    transformation_script_ids: list[str]
    uploading_script_id: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    released_at: dt.datetime | None
    module_sha256: str
    current_run_id: str = ""
    last_error: str = ""


@dataclass(frozen=True)
class TaskModule:
    """A released task's compiled document (the exact text hashed) and its connections."""

    task_id: str
    document: str
    sha256: str
    connections: list[dict[str, Any]]


def task_view(task: Task) -> TaskView:
    """The view of a loaded task."""
    return TaskView(
        id=task.id,
        name=task.name,
        description=task.description,
        ext_datamodule_id=task.ext_datamodule_id,
        seed=task.seed,
        state=task.state,
        extraction_script_ids=list(task.extraction_script_ids),
        field_rule_script_ids=list(task.field_rule_script_ids),
        anonymization_script_ids=list(task.anonymization_script_ids),
        transformation_script_ids=list(task.transformation_script_ids),
        uploading_script_id=task.uploading_script_id,
        created_by=task.created_by,
        created_at=task.created_at,
        updated_at=task.updated_at,
        released_at=task.released_at,
        module_sha256=task.module_sha256,
        current_run_id=task.current_run_id,
        last_error=task.last_error,
    )


def require_reader(actor: Actor) -> None:
    """EDIT_TASK, PROCESS_ETL_TASK or ADMIN may read tasks."""
    if not (actor.roles & READER_ROLES):
        raise PermissionDenied("reading tasks needs the role EDIT_TASK or PROCESS_ETL_TASK")


def require_editor(actor: Actor) -> None:
    """Only EDIT_TASK configures tasks."""
    if EDITOR_ROLE not in actor.roles:
        raise PermissionDenied("configuring tasks needs the role EDIT_TASK; ask an admin for it")


def rights_problems(
    *,
    actor: Actor,
    ext_datamodule_id: str,
    read_connection_ids: Iterable[str] = (),
    write_connection_ids: Iterable[str] = (),
) -> list[str]:
    """What the editor lacks to configure a task like this (empty when nothing).

    One query per distinct connection (the destination, each extractor's, the uploader's).
    """
    problems: list[str] = []
    cache: dict[str, frozenset[str]] = {}

    def held(connection_id: str) -> frozenset[str]:
        if connection_id not in cache:
            cache[connection_id] = caller_access_types(actor=actor, connection_id=connection_id)
        return cache[connection_id]

    if not held(ext_datamodule_id) & {"WRITE", "OWNER"}:
        problems.append(
            f"you need WRITE or OWNER on the destination module {ext_datamodule_id!r} "
            "(ask its owner with AddAccess)"
        )
    for connection_id in dict.fromkeys(read_connection_ids):
        if not held(connection_id) & {"READ", "OWNER"}:
            problems.append(
                f"you need READ on connection {connection_id!r}, which an extractor reads "
                "(ask its owner with AddAccess)"
            )
    for connection_id in dict.fromkeys(write_connection_ids):
        if connection_id != ext_datamodule_id and not held(connection_id) & {"WRITE", "OWNER"}:
            problems.append(
                f"you need WRITE or OWNER on connection {connection_id!r}, which the uploader "
                "writes (ask its owner with AddAccess)"
            )
    return problems


def _task(task_id: str) -> Task:
    try:
        return Task.objects.get(pk=task_id)
    except Task.DoesNotExist:
        raise NotFound(f"task {task_id!r} does not exist", field="task_id") from None


def task_get_for_actor(*, actor: Actor, task_id: str) -> TaskView:
    """GetTask: one task with its script lists and state. One query."""
    require_reader(actor)
    return task_view(_task(task_id))


def task_list_for_actor(
    *,
    actor: Actor,
    states: Iterable[str] = (),
    page_size: int | None = None,
    page_token: str = "",
) -> Page[TaskView]:
    """ListTasks: tasks newest first (only in ``states`` when given). One query a page."""
    require_reader(actor)
    wanted = sorted(set(states))
    unknown = [s for s in wanted if s not in TaskState.values]
    if unknown:
        raise InvalidArgument(
            f"states: {unknown[0]!r} is not a state of a task yet; use {', '.join(TaskState.values)}",
            field="states",
        )
    tasks = Task.objects.all()
    if wanted:
        tasks = tasks.filter(state__in=wanted)
    page = keyset_page(
        tasks,
        order=TASK_ORDER,
        scope=scope_of("tasks", *wanted),
        page_size=page_size,
        page_token=page_token,
    )
    return Page(items=[task_view(t) for t in page.items], next_page_token=page.next_page_token)


def task_state_counts_for_actor(*, actor: Actor) -> dict[str, int]:
    """How many tasks are in each state (every state present, zeros included): the dashboard's
    summary, one aggregate query however many tasks there are."""
    require_reader(actor)
    counts = dict(
        Task.objects.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    return {state: int(counts.get(state, 0)) for state in TaskState.values}


def task_module_for_actor(*, actor: Actor, task_id: str) -> TaskModule:
    """The compiled document of a released task (a draft has none: FAILED_PRECONDITION)."""
    require_reader(actor)
    task = _task(task_id)
    if task.state == TaskState.DRAFT:
        raise FailedPrecondition(
            f"task {task_id!r} is a draft; Release it to compile its data module document",
            field="task_id",
        )
    return TaskModule(
        task_id=task.id,
        document=task.module_document,
        sha256=task.module_sha256,
        connections=list(task.module_connections),
    )


def task_document(*, task_id: str) -> str:
    """A released task's compiled document, for the platform's own use (the outbox checks
    edits against its field rules); no actor: callers have authorized their own request."""
    return _task(task_id).module_document
