"""The only writers of the ETL Task Manager (configuration).

Every function here is keyword-only, typed, one ``@transaction.atomic`` unit: validate →
authorize (the role, then the editor's grants: ``selectors.rights_problems``) → lock the
task → change → audit (``service="tasks"``, before/after) in the same transaction. Only a
draft changes; Release compiles the task (``compile.compile_task``) and, when the engine
finds nothing wrong, stores the document and its SHA-256 and makes the task immutable.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from privetl.audit.services import audit_record
from privetl.common.context import Actor
from privetl.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from privetl.common.text import checked_display_name, checked_free_text
from privetl.datamodules.selectors import connection_contract, connection_get_for_actor
from privetl.scripts.selectors import ScriptView, scripts_by_id
from privetl.tasks.compile import SLOTS, compile_task, script_ids_of
from privetl.tasks.models import ID_MAX_LENGTH, NAME_MAX_LENGTH, Task, TaskState
from privetl.tasks.selectors import TaskView, require_editor, rights_problems, task_view

SERVICE = "tasks"
ID_PATTERN = re.compile(rf"[A-Za-z0-9._:@-]{{1,{ID_MAX_LENGTH}}}")
ID_RULE = f"1 to {ID_MAX_LENGTH} characters of A-Z a-z 0-9 . _ : @ -"
DESCRIPTION_MAX_LENGTH = 2000
MAX_SCRIPTS = 200
SEED_RANGE = (-(2**63), 2**63 - 1)


def validate_id(value: str, *, field: str) -> str:
    """Ids are short, printable and URL-safe, because they travel in paths and logs."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{field} is required ({ID_RULE})", field=field)
    if not ID_PATTERN.fullmatch(value):
        raise InvalidArgument(f"{field} must be {ID_RULE}", field=field)
    return value


def _snapshot(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "name": task.name,
        "ext_datamodule_id": task.ext_datamodule_id,
        "seed": task.seed,
        "state": task.state,
        **{slot: getattr(task, slot) for slot in SLOTS},
        "module_sha256": task.module_sha256 or None,
    }


def _locked_draft(task_id: str) -> Task:
    try:
        task = Task.objects.select_for_update().get(pk=task_id)
    except Task.DoesNotExist:
        raise NotFound(f"task {task_id!r} does not exist", field="task_id") from None
    if task.state != TaskState.DRAFT:
        raise FailedPrecondition(
            f"task {task_id!r} is {task.state.lower()} and its configuration is immutable; "
            "create a new task to change it",
            field="task_id",
        )
    return task


def _connection_ids(scripts: Iterable[ScriptView], kind: str) -> list[str]:
    return [
        str(s.body.get("connection_id"))
        for s in scripts
        if s.kind == kind and s.body.get("connection_id")
    ]


def _require_rights(*, actor: Actor, task: TaskView, scripts: dict[str, ScriptView]) -> None:
    listed = [scripts[i] for i in script_ids_of(task) if i in scripts]
    problems = rights_problems(
        actor=actor,
        ext_datamodule_id=task.ext_datamodule_id,
        read_connection_ids=_connection_ids(listed, "extractor"),
        write_connection_ids=_connection_ids(listed, "uploader"),
    )
    if problems:
        raise PermissionDenied("; ".join(problems))


def _connection_types(*, actor: Actor, connection_ids: Iterable[str]) -> dict[str, str]:
    """The type of each existing connection among ``connection_ids`` (missing ones left out)."""
    types: dict[str, str] = {}
    for connection_id in sorted(set(connection_ids)):
        try:
            types[connection_id] = connection_get_for_actor(
                actor=actor, connection_id=connection_id
            ).type
        except NotFound:
            continue
    return types


@transaction.atomic
def task_create(
    *,
    actor: Actor,
    name: str,
    ext_datamodule_id: str,
    description: str = "",
    seed: int = 0,
    id: str | None = None,
) -> TaskView:
    """CreateTask (EDIT_TASK with WRITE or OWNER on the destination): a DRAFT task."""
    task_id = id or f"task_{uuid.uuid4().hex[:16]}"
    validate_id(task_id, field="task.id")
    name = checked_display_name(name, field="task.name", max_length=NAME_MAX_LENGTH)
    description = checked_free_text(
        description, field="task.description", max_length=DESCRIPTION_MAX_LENGTH
    )
    validate_id(ext_datamodule_id, field="task.ext_datamodule_id")
    if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise InvalidArgument("task.seed must fit in 64 bits", field="task.seed")
    require_editor(actor)
    try:
        connection_get_for_actor(actor=actor, connection_id=ext_datamodule_id)
    except NotFound:
        raise NotFound(
            f"task.ext_datamodule_id: {ext_datamodule_id!r} is no connection; GetAllConnection lists them",
            field="task.ext_datamodule_id",
        ) from None
    problems = rights_problems(actor=actor, ext_datamodule_id=ext_datamodule_id)
    if problems:
        raise PermissionDenied("; ".join(problems))
    if Task.objects.filter(pk=task_id).exists():
        raise AlreadyExists(f"task {task_id!r} already exists", field="task.id")
    now = timezone.now()
    try:
        with transaction.atomic():
            task = Task.objects.create(
                id=task_id,
                name=name,
                description=description,
                ext_datamodule_id=ext_datamodule_id,
                seed=seed,
                created_by=actor.user_id,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # a concurrent create won the race
        raise AlreadyExists(f"task {task_id!r} already exists", field="task.id") from None
    audit_record(
        actor=actor,
        service=SERVICE,
        action="task.create",
        target_type="task",
        target_id=task.id,
        after=_snapshot(task),
    )
    return task_view(task)


@transaction.atomic
def task_scripts_set(*, actor: Actor, task_id: str, slot: str, script_ids: list[str]) -> TaskView:
    """The five Update…Script rpcs: replace one of a draft task's script lists.

    Each script must exist (NOT_FOUND), belong to the task and be of the slot's kind
    (INVALID_ARGUMENT); then the editor's rights are checked for the whole new
    configuration. A script need not be released yet: Release checks that.
    """
    kind, rpc = SLOTS[slot]
    validate_id(task_id, field="task_id")
    field = "script_id" if slot == "uploading_script_id" else "script_ids"
    if len(script_ids) > MAX_SCRIPTS:
        raise InvalidArgument(f"{field}: at most {MAX_SCRIPTS} scripts", field=field)
    for n, script_id in enumerate(script_ids):
        validate_id(script_id, field=f"{field}[{n}]" if field == "script_ids" else field)
        if script_id in script_ids[:n]:
            raise InvalidArgument(f"{field}: script {script_id!r} is listed twice", field=field)
    require_editor(actor)
    task = _locked_draft(task_id)
    found = scripts_by_id(script_ids)
    for script_id in script_ids:
        script = found.get(script_id)
        if script is None:
            raise NotFound(f"{rpc}: script {script_id!r} does not exist", field=field)
        if script.task_id != task.id:
            raise InvalidArgument(
                f"{rpc}: script {script_id!r} belongs to task {script.task_id!r}, not {task.id!r}",
                field=field,
            )
        if script.kind != kind:
            raise InvalidArgument(
                f"{rpc}: script {script_id!r} is a {script.kind}, and this list takes {kind}s",
                field=field,
            )
    before = _snapshot(task)
    setattr(
        task,
        slot,
        script_ids[0]
        if slot == "uploading_script_id" and script_ids
        else ("" if slot == "uploading_script_id" else list(script_ids)),
    )
    view = task_view(task)
    others = scripts_by_id(i for i in script_ids_of(view) if i not in found)
    _require_rights(actor=actor, task=view, scripts={**others, **found})
    task.updated_at = timezone.now()
    task.save(update_fields=[slot, "updated_at"])
    audit_record(
        actor=actor,
        service=SERVICE,
        action=f"task.{slot.removesuffix('_ids').removesuffix('_id')}.set",
        target_type="task",
        target_id=task.id,
        before=before,
        after=_snapshot(task),
    )
    return task_view(task)


@transaction.atomic
def task_release(*, actor: Actor, task_id: str) -> TaskView:
    """Release: compile the task, validate it with the engine, store the document.

    FAILED_PRECONDITION lists every problem at once (missing extractors, no uploader,
    unreleased scripts, rules the contract or the engine refuses, ...); the rights are
    checked again first, so a grant revoked since the last update stops the release.
    """
    validate_id(task_id, field="task_id")
    require_editor(actor)
    task = _locked_draft(task_id)
    view = task_view(task)
    scripts = scripts_by_id(script_ids_of(view))
    _require_rights(actor=actor, task=view, scripts=scripts)
    named = {
        str(s.body.get("connection_id")) for s in scripts.values() if s.body.get("connection_id")
    }
    connection_types = _connection_types(actor=actor, connection_ids=named)
    try:
        contract = connection_contract(connection_id=task.ext_datamodule_id)
    except NotFound:
        contract = None
    compiled = compile_task(
        task=view, contract=contract, scripts=scripts, connection_types=connection_types
    )
    if compiled.problems:
        raise FailedPrecondition(
            f"task {task_id!r} cannot be released; fix these {len(compiled.problems)} problem(s):\n"
            + "\n".join(f"- {p}" for p in compiled.problems),
            field="task_id",
        )
    before = _snapshot(task)
    task.state = TaskState.RELEASED
    task.released_at = timezone.now()
    task.updated_at = task.released_at
    task.module_document = compiled.text
    task.module_sha256 = compiled.sha256
    task.module_connections = compiled.connections
    task.save(
        update_fields=[
            "state",
            "released_at",
            "updated_at",
            "module_document",
            "module_sha256",
            "module_connections",
        ]
    )
    audit_record(
        actor=actor,
        service=SERVICE,
        action="task.release",
        target_type="task",
        target_id=task.id,
        before=before,
        after=_snapshot(task),
    )
    return task_view(task)


@dataclass(frozen=True)
class TaskForRun:
    """What a run needs of its released task, read under the task's row lock."""

    view: TaskView
    document: str
    connections: list[dict[str, Any]]


def task_lock_for_run(*, task_id: str) -> TaskForRun:
    """Lock the task's row for a run control (inside the caller's transaction).

    Start, Pause, Resume and Stop of one task are serialized by this lock, so two Starts
    racing cannot both queue a run. NOT_FOUND for no such task.
    """
    validate_id(task_id, field="task_id")
    try:
        task = Task.objects.select_for_update().get(pk=task_id)
    except Task.DoesNotExist:
        raise NotFound(f"task {task_id!r} does not exist", field="task_id") from None
    return TaskForRun(
        view=task_view(task),
        document=task.module_document,
        connections=list(task.module_connections),
    )


def task_run_state_record(*, task_id: str, state: str, run_id: str, error: str = "") -> None:
    """Record the state of the task's latest run on the task (the runs app calls this in the
    run event's own transaction, which audits the event; so no second record here)."""
    if state not in TaskState.values or state in (TaskState.DRAFT, TaskState.RELEASED):
        raise ValueError(f"{state!r} is not a run state of a task")
    Task.objects.filter(pk=task_id).update(
        state=state, current_run_id=run_id, last_error=error, updated_at=timezone.now()
    )
