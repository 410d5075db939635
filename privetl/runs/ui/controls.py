"""Thin UI views of the run controls: parse, authorize (the run services' rules), call, render.

Start, Pause, Resume and Stop are plain forms that POST here and redirect back to ``next`` (a
local path only), so they work without JavaScript; Start and Resume of a result awaiting
upload are its Upload (the outbox page posts Upload to ``ui-run-start``). Stop first asks
the Stop use case's question — keep the outbox data or clear it — on a confirmation form.
The progress fragment (``ui-run-progress``) shows the task's current run and the controls its
state allows; while the run is queued or running it asks htmx to fetch it again every 2 s,
and a finished run's fragment carries no trigger, so the polling stops by itself. Opened
without htmx, the same URL is a page of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, PermissionDenied, PrivetlError
from privetl.platform.ui.views import page_context, ui_page
from privetl.runs import selectors, services
from privetl.runs.models import RunState
from privetl.runs.selectors import RunView
from privetl.tasks import selectors as task_selectors
from privetl.tasks.models import TaskState
from privetl.tasks.selectors import TaskView

POLLED_STATES = (RunState.QUEUED, RunState.RUNNING)
"""A run in these states changes by itself, so its fragment is fetched again every 2 s."""
STARTABLE = (TaskState.RELEASED, TaskState.COMPLETED, TaskState.STOPPED, TaskState.FAILED)
STOPPABLE = (
    TaskState.RUNNING,
    TaskState.PAUSED,
    TaskState.AWAITING_UPLOAD,
    TaskState.UPLOADING,
)


def next_path(request: HttpRequest, task_id: str) -> str:
    """Where a control returns to: the ``next`` the form carried when it is a local path (no
    scheme, no host: nobody can send a user elsewhere with it), else the task's page."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted.startswith("/") and url_has_allowed_host_and_scheme(wanted, allowed_hosts=None):
        return wanted
    return reverse("ui-task-detail", args=[task_id])


def controls_for(task: TaskView, run: RunView | None) -> list[str]:
    """The buttons the task's state offers (the run services still decide): ``start``,
    ``upload``, ``pause``, ``resume``, ``withdraw`` (a pause not yet taken), ``stop``."""
    state = task.state
    if state in STARTABLE:
        return ["start"]
    offered: list[str] = []
    if state == TaskState.AWAITING_UPLOAD:
        offered.append("upload")
    elif state == TaskState.PAUSED:
        offered.append("resume")
    elif state == TaskState.RUNNING:
        offered.append("withdraw" if run is not None and run.pause_requested else "pause")
    if state in STOPPABLE:
        offered.append("stop")
    return offered


def _progress_context(request: HttpRequest, actor: Actor, task_id: str) -> dict[str, object]:
    selectors.require_history_reader(actor)  # the same answer whether or not a run exists yet
    task = task_selectors.task_get_for_actor(actor=actor, task_id=task_id)
    run = (
        selectors.run_get_for_actor(actor=actor, run_id=task.current_run_id)
        if task.current_run_id
        else None
    )
    if run is not None and run.task_state and run.task_state != task.state:
        # the run moved on between the two reads (they share no transaction): show the
        # state it gives its task, so the controls and the polling agree with the run shown
        task = replace(task, state=run.task_state)
    back = next_path(request, task.id)
    stages = []
    if run is not None:
        stages = [(stage, run.timings.get(stage), "done") for stage in run.stages_done]
        if run.stage and run.stage not in run.stages_done and run.state in POLLED_STATES:
            stages.append((run.stage, None, "running"))
    controls = controls_for(task, run) if selectors.RUN_ROLE in actor.roles else []
    return page_context(
        actor,
        task=task,
        run=run,
        stages=stages,
        controls=controls,
        polling=run is not None and run.state in POLLED_STATES,
        next=back,
        progress_url=f"{reverse('ui-run-progress', args=[task.id])}?next={quote(back, safe='/')}",
    )


@require_GET
@ui_page
def progress(request: HttpRequest, actor: Actor, task_id: str) -> HttpResponse:
    """The task's current run — stage, rows so far, per-stage timings — and its controls: a
    fragment for htmx (polled while the run moves), a page of its own otherwise."""
    context = _progress_context(request, actor, task_id)
    if request.headers.get("HX-Request") == "true":
        # the task's state badge on its page (``#task-state``) follows the run too: htmx
        # swaps it out of band, so the page never says RUNNING beside a PAUSED run
        return render(request, "runs/controls_progress.html", {**context, "task_state_oob": True})
    return render(request, "runs/controls.html", context)


def _refused(request: HttpRequest, actor: Actor, task_id: str, exc: PrivetlError) -> HttpResponse:
    """A control the service refused: its message over the task's current controls (a missing
    role is answered by ``ui_page`` as plain text, like every other page)."""
    if isinstance(exc, PermissionDenied):
        raise exc
    context = _progress_context(request, actor, task_id)
    return render(
        request,
        "runs/controls.html",
        {**context, "error": exc.message},
        status=HTTP_STATUS.get(exc.code, 400),
    )


def _control(
    request: HttpRequest,
    actor: Actor,
    task_id: str,
    act: Callable[[], RunView],
    said: Callable[[RunView], str],
) -> HttpResponse:
    try:
        run = act()
    except PrivetlError as exc:
        return _refused(request, actor, task_id, exc)
    messages.success(request, said(run))
    return redirect(next_path(request, task_id))


def _started(run: RunView) -> str:
    if run.upload:
        return f"Upload of run {run.id} queued: a worker uploads the result shortly."
    return f"Run {run.id} of task {run.task_id} queued: a worker starts it shortly."


@require_POST
@ui_page
def start(request: HttpRequest, actor: Actor, task_id: str) -> HttpResponse:
    """Start: a new run of a released task — or, for a result awaiting it, its Upload."""
    return _control(
        request, actor, task_id, lambda: services.run_start(actor=actor, task_id=task_id), _started
    )


def _paused(run: RunView) -> str:
    if run.state == RunState.PAUSED:
        return f"Run {run.id} paused; Resume continues it."
    return f"Run {run.id} pauses when its current stage ({run.stage or 'starting'}) finishes."


@require_POST
@ui_page
def pause(request: HttpRequest, actor: Actor, task_id: str) -> HttpResponse:
    """Pause: at once while queued, after the current stage while running."""
    return _control(
        request, actor, task_id, lambda: services.run_pause(actor=actor, task_id=task_id), _paused
    )


def _resumed(run: RunView) -> str:
    if run.upload:
        return f"Upload of run {run.id} queued: a worker uploads the result shortly."
    if run.state == RunState.RUNNING:
        return f"Run {run.id} goes on: the pause was withdrawn."
    return f"Run {run.id} queued again: it continues after its last finished stage."


@require_POST
@ui_page
def resume(request: HttpRequest, actor: Actor, task_id: str) -> HttpResponse:
    """Resume: a paused run continues, a result awaiting upload is uploaded, a pause not yet
    taken is withdrawn."""
    return _control(
        request, actor, task_id, lambda: services.run_resume(actor=actor, task_id=task_id), _resumed
    )


CLEAR_CHOICES = {"keep": False, "clear": True}


@require_http_methods(["GET", "POST"])
@ui_page
def stop(request: HttpRequest, actor: Actor, task_id: str) -> HttpResponse:
    """Stop: GET asks whether to keep or clear the task's outbox data; POST stops the run."""
    choice = request.POST.get("clear_outbox", "")
    if request.method == "GET" or choice not in CLEAR_CHOICES:
        services.require_run_controller(actor)
        context = _progress_context(request, actor, task_id)
        error = (
            "" if request.method == "GET" else "Choose whether to keep or clear the outbox data."
        )
        return render(
            request,
            "runs/controls_stop.html",
            {**context, "choice_error": error, "choice": choice},
            status=200 if request.method == "GET" else 400,
        )
    try:
        stopped = services.run_stop(
            actor=actor, task_id=task_id, clear_outbox=CLEAR_CHOICES[choice]
        )
    except PrivetlError as exc:
        return _refused(request, actor, task_id, exc)
    what = f"Run {stopped.run.id} stopped" if stopped.run else f"Task {task_id} had no run to stop"
    if CLEAR_CHOICES[choice]:
        outcome = f"{stopped.entries_cleared} outbox entr{'y' if stopped.entries_cleared == 1 else 'ies'} cleared"
    else:
        outcome = "its outbox data kept"
    messages.success(request, f"{what}; {outcome}.")
    return redirect(next_path(request, task_id))
