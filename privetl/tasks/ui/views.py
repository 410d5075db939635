"""Thin UI views of tasks: parse, authorize (the selectors' and services' rules), call one
function, render. A refused change shows the service's message (at its form, or as Release's
list of problems, each linked to what to fix) and changes nothing."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, PrivetlError
from privetl.common.paging import MAX_PAGE_SIZE
from privetl.platform.ui.views import page_context, ui_page
from privetl.scripts import selectors as script_selectors
from privetl.scripts.ui.inputs import KIND_LABELS
from privetl.tasks import selectors, services
from privetl.tasks.compile import SLOTS
from privetl.tasks.models import TaskState
from privetl.tasks.ui import presenting

TASK_INPUTS = ("id", "name", "ext_datamodule_id", "description", "seed")


def _listing(
    request: HttpRequest,
    actor: Actor,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HttpResponse:
    state = request.GET.get("state", "")
    page = selectors.task_list_for_actor(
        actor=actor,
        states=[state] if state else [],
        page_token=request.GET.get("page_token", ""),
    )
    context = page_context(
        actor,
        page=page,
        state=state,
        states=TaskState.values,
        form=form or {"seed": "0"},
        errors=errors or {},
    )
    return render(request, "tasks/task_list.html", context, status=status)


@ui_page
def index(request: HttpRequest, actor: Actor) -> HttpResponse:
    """ListTasks: newest first, of one state when asked; the create form for Task-Editors."""
    return _listing(request, actor)


def _task_input(path: str | None) -> str:
    name = (path or "").removeprefix("task.")
    return name if name in TASK_INPUTS else ""


@require_POST
@ui_page
def task_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    """CreateTask (EDIT_TASK with WRITE on the destination): a draft, opened at once."""
    form = {name: request.POST.get(name, "").strip() for name in TASK_INPUTS}
    form["description"] = request.POST.get("description", "")
    try:
        seed = int(form["seed"] or "0")
    except ValueError:
        return _listing(
            request, actor, status=400, form=form, errors={"seed": "Seed: give a whole number."}
        )
    try:
        task = services.task_create(
            actor=actor,
            id=form["id"] or None,
            name=form["name"],
            ext_datamodule_id=form["ext_datamodule_id"],
            description=form["description"],
            seed=seed,
        )
    except PrivetlError as exc:
        return _listing(
            request,
            actor,
            status=HTTP_STATUS.get(exc.code, 400),
            form=form,
            errors={_task_input(exc.field): exc.message},
        )
    messages.success(request, f"Task {task.id} created: add its scripts, then release it.")
    return redirect("ui-task-detail", task_id=task.id)


def _task_page(
    request: HttpRequest,
    actor: Actor,
    task_id: str,
    *,
    status: int = 200,
    problems: list[presenting.Problem] | None = None,
    slot_error: tuple[str, str] = ("", ""),
) -> HttpResponse:
    task = selectors.task_get_for_actor(actor=actor, task_id=task_id)
    scripts = script_selectors.script_list_for_actor(
        actor=actor, task_id=task.id, page_size=MAX_PAGE_SIZE
    )
    context = page_context(
        actor,
        task=task,
        slots=presenting.slots_of(task, {s.id: s for s in scripts.items}),
        more_scripts=bool(scripts.next_page_token),
        editable=selectors.EDITOR_ROLE in actor.roles and task.state == TaskState.DRAFT,
        kinds=list(KIND_LABELS.items()),
        problems=problems or [],
        slot_error=slot_error,
        progress_url=reverse("ui-run-progress", args=[task.id])
        + "?next="
        + quote(reverse("ui-task-detail", args=[task.id]), safe="/"),
    )
    return render(request, "tasks/task_detail.html", context, status=status)


@ui_page
def task_detail(request: HttpRequest, actor: Actor, task_id: str) -> HttpResponse:
    """GetTask: its scripts in order, the buttons that change the lists, Release; the run's
    controls and live progress come from the runs app (``ui-run-progress``)."""
    return _task_page(request, actor, task_id)


@require_POST
@ui_page
def task_scripts(request: HttpRequest, actor: Actor, task_id: str) -> HttpResponse:
    """UpdateExtractionScript & co.: one list replaced by the one the button posted (plus the
    script chosen to add)."""
    slot = request.POST.get("slot", "")
    if slot not in SLOTS:
        return _task_page(
            request, actor, task_id, status=400, slot_error=("", f"{slot!r} is no script list")
        )
    script_ids = [i for i in request.POST.getlist("script_ids") if i]
    added = request.POST.get("add", "").strip()
    if added:
        script_ids = [added] if slot == "uploading_script_id" else [*script_ids, added]
    try:
        services.task_scripts_set(actor=actor, task_id=task_id, slot=slot, script_ids=script_ids)
    except PrivetlError as exc:
        return _task_page(
            request,
            actor,
            task_id,
            status=HTTP_STATUS.get(exc.code, 400),
            slot_error=(slot, exc.message),
        )
    messages.success(
        request, f"{presenting.SLOT_LABELS[slot].split(' (')[0]} of task {task_id} saved."
    )
    return redirect(reverse("ui-task-detail", args=[task_id]) + f"#{slot}")


@require_POST
@ui_page
def task_release(request: HttpRequest, actor: Actor, task_id: str) -> HttpResponse:
    """Release: compiled and checked by the engine; refused, every problem is listed with a
    link to the script or connection to fix, and the task stays a draft."""
    try:
        task = services.task_release(actor=actor, task_id=task_id)
    except PrivetlError as exc:
        return _task_page(
            request,
            actor,
            task_id,
            status=HTTP_STATUS.get(exc.code, 400),
            problems=presenting.problems_of(exc.message, task_id=task_id),
        )
    messages.success(request, f"Task {task.id} released: a Task-Manager can start it now.")
    return redirect("ui-task-detail", task_id=task.id)
