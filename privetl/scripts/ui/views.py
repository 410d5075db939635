"""Thin UI views of scripts: parse, authorize (the selectors' and services' rules), call one
function, render. A refused save shows the service's message at the input it names, with the
user's answers kept, and changes nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, PrivetlError
from privetl.platform.ui.views import page_context, ui_page
from privetl.scripts import selectors, services
from privetl.scripts.models import ScriptKind
from privetl.scripts.selectors import FieldRef, ScriptView
from privetl.scripts.ui import inputs


@ui_page
def index(request: HttpRequest, actor: Actor) -> HttpResponse:
    """GetAllScript: the scripts of the task asked for (``task_id``), oldest first, paged."""
    task_id = request.GET.get("task_id", "").strip()
    page = None
    if task_id:
        page = selectors.script_list_for_actor(
            actor=actor, task_id=task_id, page_token=request.GET.get("page_token", "")
        )
    else:
        selectors.require_reader(actor)
    context = page_context(
        actor, task_id=task_id, page=page, kinds=list(inputs.KIND_LABELS.items())
    )
    return render(request, "scripts/script_list.html", context)


@dataclass(frozen=True)
class ScriptForm:
    """What a script's form shows: its kind, the answers (as typed) and the script edited."""

    kind: str
    answers: dict[str, Any]
    script: ScriptView | None = None
    task_id: str = ""
    script_id: str = ""


def _form(
    request: HttpRequest,
    actor: Actor,
    form: ScriptForm,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    errors = errors or {}
    script = form.script
    editable = selectors.EDITOR_ROLE in actor.roles and not (script and script.released)
    context = page_context(
        actor,
        kind=form.kind,
        kind_label=inputs.KIND_LABELS[ScriptKind(form.kind)],
        script=script,
        task_id=script.task_id if script else form.task_id,
        script_id=form.script_id,
        inputs=inputs.inputs_with(form.kind, form.answers, errors),
        errors=errors,
        form_error=errors.get("", ""),
        editable=editable,
    )
    return render(request, "scripts/script_form.html", context, status=status)


def _errors(kind: str, exc: PrivetlError) -> dict[str, str]:
    return {inputs.form_field_of(kind, exc.field): exc.message}


@require_http_methods(["GET", "POST"])
@ui_page
def script_create(request: HttpRequest, actor: Actor, kind: str) -> HttpResponse:
    """CreateScript: the kind's form (EDIT_TASK); saved, it opens the new script's page."""
    if kind not in ScriptKind.values:
        raise Http404("no such kind of script")
    selectors.require_editor(actor)
    data = request.POST if request.method == "POST" else request.GET
    task_id = str(data.get("task_id", "")).strip()
    script_id = str(data.get("id", "")).strip()
    answers = (
        inputs.answers_of(kind, data) if request.method == "POST" else dict(inputs.NEW_ANSWERS)
    )
    form = ScriptForm(kind=kind, answers=answers, task_id=task_id, script_id=script_id)
    if request.method == "GET":
        return _form(request, actor, form)
    try:
        body = inputs.body_of(kind, answers)
    except inputs.Unparsed as bad:
        return _form(request, actor, form, errors={bad.field: bad.message}, status=400)
    try:
        created = services.script_create(
            actor=actor,
            task_id=task_id,
            kind=kind,
            body=body,
            fields=inputs.fields_of(kind, answers),
            id=script_id or None,
        )
    except PrivetlError as exc:
        return _form(
            request, actor, form, errors=_errors(kind, exc), status=HTTP_STATUS.get(exc.code, 400)
        )
    messages.success(
        request, f"Script {created.id} created (a draft: release it when it is ready)."
    )
    return redirect("ui-script-detail", script_id=created.id)


@require_http_methods(["GET", "POST"])
@ui_page
def script_detail(request: HttpRequest, actor: Actor, script_id: str) -> HttpResponse:
    """GetScript, and UpdateScript from its form (EDIT_TASK, a draft); readers see it read-only."""
    script = selectors.script_get_for_actor(actor=actor, script_id=script_id)
    if request.method == "GET":
        shown = ScriptForm(
            kind=script.kind, answers=inputs.answers_of_script(script), script=script
        )
        return _form(request, actor, shown)
    answers = inputs.answers_of(script.kind, request.POST)
    form = ScriptForm(kind=script.kind, answers=answers, script=script)
    try:
        body = inputs.body_of(script.kind, answers)
    except inputs.Unparsed as bad:
        return _form(request, actor, form, errors={bad.field: bad.message}, status=400)
    wanted = [FieldRef(**f) for f in inputs.fields_of(script.kind, answers)]
    try:
        services.script_update(
            actor=actor,
            script_id=script.id,
            body=body,
            fields_to_add=[asdict(f) for f in wanted if f not in script.fields],
            fields_to_remove=[asdict(f) for f in script.fields if f not in wanted],
        )
    except PrivetlError as exc:
        return _form(
            request,
            actor,
            form,
            errors=_errors(script.kind, exc),
            status=HTTP_STATUS.get(exc.code, 400),
        )
    messages.success(request, f"Script {script.id} saved.")
    return redirect("ui-script-detail", script_id=script.id)


@require_POST
@ui_page
def script_release(request: HttpRequest, actor: Actor, script_id: str) -> HttpResponse:
    """ReleaseScript: the script becomes immutable and usable by a released task."""
    try:
        released = services.script_release(actor=actor, script_id=script_id)
    except PrivetlError as exc:
        if HTTP_STATUS.get(exc.code) == 403:
            raise
        messages.error(request, exc.message)
        return redirect("ui-script-detail", script_id=script_id)
    messages.success(request, f"Script {released.id} released; it can no longer change.")
    return redirect("ui-script-detail", script_id=released.id)
