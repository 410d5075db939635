"""Readers of the Script Manager, each scoped by who is asking.

Scripts are the Task-Editors' working material: a caller holding EDIT_TASK (or
PROCESS_ETL_TASK, who runs what editors released, or ADMIN) reads every script; anyone
else is refused. What a door gets is a frozen ``ScriptView``: the body as the contract
spells it, the fields, and whether it is released. Lists are pages of the one scheme
(``privetl.common.paging``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument, NotFound, PermissionDenied
from privetl.common.paging import Page, keyset_page, scope_of
from privetl.scripts.models import Script

READER_ROLES = frozenset({"EDIT_TASK", "PROCESS_ETL_TASK", "ADMIN"})
EDITOR_ROLE = "EDIT_TASK"


@dataclass(frozen=True)
class FieldRef:
    """A column a script applies to: ``field_name`` is ``"<table>/<column>"`` of the module."""

    ext_datamodule_id: str
    field_name: str


@dataclass(frozen=True)
class ScriptView:
    """A script as every door shows it (and as the task manager compiles it)."""

    id: str
    task_id: str
    kind: str
    body: dict[str, Any]
    fields: list[FieldRef]
    released: bool
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    released_at: dt.datetime | None


def script_view(script: Script) -> ScriptView:
    """The view of a loaded script."""
    return ScriptView(
        id=script.id,
        task_id=script.task_id,
        kind=script.kind,
        body=dict(script.body),
        fields=[FieldRef(**f) for f in script.fields],
        released=script.released,
        created_by=script.created_by,
        created_at=script.created_at,
        updated_at=script.updated_at,
        released_at=script.released_at,
    )


def require_reader(actor: Actor) -> None:
    """EDIT_TASK, PROCESS_ETL_TASK or ADMIN may read scripts."""
    if not (actor.roles & READER_ROLES):
        raise PermissionDenied("reading scripts needs the role EDIT_TASK (or PROCESS_ETL_TASK)")


def require_editor(actor: Actor) -> None:
    """Only EDIT_TASK writes scripts (use case "Manage Scripts")."""
    if EDITOR_ROLE not in actor.roles:
        raise PermissionDenied("managing scripts needs the role EDIT_TASK; ask an admin for it")


def script_get_for_actor(*, actor: Actor, script_id: str) -> ScriptView:
    """GetScript: one script, for a caller who may read scripts. One query."""
    require_reader(actor)
    try:
        return script_view(Script.objects.get(pk=script_id))
    except Script.DoesNotExist:
        raise NotFound(f"script {script_id!r} does not exist", field="script_id") from None


def script_list_for_actor(
    *, actor: Actor, task_id: str, page_size: int | None = None, page_token: str = ""
) -> Page[ScriptView]:
    """GetAllScript: the task's scripts, oldest first, one page at a time. One query a page."""
    require_reader(actor)
    if not task_id:
        raise InvalidArgument(
            "etl_task_id is required: the task whose scripts to list", field="etl_task_id"
        )
    page = keyset_page(
        Script.objects.filter(task_id=task_id),
        order=("created_at", "id"),
        scope=scope_of("scripts", task_id),
        page_size=page_size,
        page_token=page_token,
    )
    return Page(items=[script_view(s) for s in page.items], next_page_token=page.next_page_token)


def scripts_by_id(script_ids: Iterable[str]) -> dict[str, ScriptView]:
    """Many scripts in one query (for the task manager's checks and the compile step)."""
    return {s.id: script_view(s) for s in Script.objects.filter(pk__in=list(script_ids))}
