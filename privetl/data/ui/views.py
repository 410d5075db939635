"""Thin UI views of the outbox: parse, authorize (the selectors' and services' rules), call
one selector or service, render.

A Data-Manager reviews an entry (its records sorted and paged, column statistics, a
histogram per numeric column, its privacy against the task's targets) and adds, edits or
deletes records by primary key through Modifie. A refused change is shown at its form with
the input kept and nothing changed; a successful one redirects to the entry with the privacy
check of the changed data (Post/Redirect/Get).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from privetl.common.charts import bar_chart
from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, InvalidArgument, PrivetlError
from privetl.data import selectors, services
from privetl.data.models import OutboxState
from privetl.platform.ui.views import page_context, ui_page

STATES = tuple(OutboxState.values)
"""The states a Data-Manager filters by (the selector refuses others); the default is what
waits for them."""
VALUE = "value-"
"""Prefix of a record form's inputs: ``value-<column>``."""
WAS = "was-"
"""Prefix of the edit form's hidden inputs holding the values it showed, so only the columns
the Data-Manager changed are sent (and audited)."""


@ui_page
def entry_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """GetAll in the browser: entries of the modules the caller may read, awaiting review
    unless another state is asked for; paged with the one signed cursor."""
    state = request.GET.get("state", OutboxState.AWAITING_REVIEW)
    page = selectors.entry_list_for_actor(
        actor=actor, states=[state], page_token=request.GET.get("page_token", "")
    )
    return render(
        request, "data/outbox_list.html", page_context(actor, page=page, state=state, states=STATES)
    )


def _offset(text: str) -> int:
    try:
        return int(text or "0")
    except ValueError:
        raise InvalidArgument(f"offset: {text!r} is not a number", field="offset") from None


@ui_page
def entry_detail(request: HttpRequest, actor: Actor, entry_id: str) -> HttpResponse:
    """Get in the browser: the entry, a page of its records sorted by a column
    (``?sort=<column>&order=desc``, ``offset`` for the page), its column statistics, a
    histogram per numeric column with its figures, its privacy against the task's targets,
    and what may be done with it (edit, add, upload, discard)."""
    sort = request.GET.get("sort", "")
    descending = request.GET.get("order", "asc") == "desc"
    page = selectors.entry_page_for_actor(
        actor=actor,
        entry_id=entry_id,
        sort=sort,
        descending=descending,
        offset=_offset(request.GET.get("offset", "")),
    )
    headers = [
        {
            "column": c,
            "order": "desc" if c.name == page.sort and not page.descending else "asc",
            "aria": ("descending" if page.descending else "ascending")
            if c.name == page.sort
            else "",
        }
        for c in page.shape.columns
    ]
    rows = [
        {
            "key": _form_value(r.get(page.shape.key)),
            "cells": [(r.get(c.name), c.numeric) for c in page.shape.columns],
        }
        for r in page.records
    ]
    histograms = [(h, bar_chart(h.buckets)) for h in page.histograms]
    context = page_context(
        actor,
        page=page,
        shape=page.shape,
        headers=headers,
        rows=rows,
        last=page.offset + len(page.records),
        histograms=histograms,
    )
    return render(request, "data/entry_detail.html", context)


def _form_value(value: Any) -> str:
    """A record's value as an input shows it (and as the service reads it back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _posted_values(request: HttpRequest) -> dict[str, str]:
    """A record form's values by column, in the form's order."""
    return {
        name.removeprefix(VALUE): str(request.POST.get(name, ""))
        for name in request.POST
        if name.startswith(VALUE)
    }


def _given(text: str) -> str | None:
    """An input's value for Modifie: empty means no value (null)."""
    return None if text == "" else text


def _at_field(exc: PrivetlError, columns: list[str], sent: dict[str, str | None]) -> dict[str, str]:
    """Where a refusal's message goes: a refused value at the input of the column it is
    about (the only one sent, or the one the message names, or the one whose value it
    quotes), without the "change 1 (edit '3'):" the API's callers need; anything else — the
    privacy targets, a record that is gone — at the form."""
    message = exc.message
    if not isinstance(exc, InvalidArgument):
        return {"error": message, "error_column": ""}
    about = message.split("): ", 1)[-1]
    column = ""
    if len(sent) == 1:
        column = next(iter(sent))
    else:
        named = [n for n in columns if about.startswith(f"{n} ") or f"'{n}'" in about]
        quoted = [n for n, v in sent.items() if v is not None and f"'{v}'" in about]
        column = (named or quoted or [""])[0]
    return {"error": about if column else message, "error_column": column}


def _privacy_outcome(view: selectors.OutboxEntryView) -> str:
    """The privacy check of the changed data in words, for the confirmation."""
    measured = view.privacy or {}
    targets = measured.get("targets") or {}
    if not targets:
        return "its table has no privacy targets to check"
    parts = []
    for name, bound in (("k", "≥"), ("l", "≥"), ("t", "≤")):
        if targets.get(name) is not None:
            parts.append(f"{name} = {measured.get(name)} (target {bound} {targets[name]})")
    return "privacy check of the changed data: " + ", ".join(parts) + " — the targets hold"


def _record_page(
    request: HttpRequest,
    actor: Actor,
    entry_id: str,
    key: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    **errors: object,
) -> HttpResponse:
    found = selectors.entry_record_for_actor(actor=actor, entry_id=entry_id, key=key)
    shown = {c.name: _form_value(found.record.get(c.name)) for c in found.shape.columns}
    fields = [
        {"column": c, "value": (values or shown).get(c.name, ""), "was": shown[c.name]}
        for c in found.shape.columns
    ]
    context = page_context(actor, shape=found.shape, key=key, fields=fields, **errors)
    return render(request, "data/record_edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
@ui_page
def record_edit(request: HttpRequest, actor: Actor, entry_id: str) -> HttpResponse:
    """One record by its primary key (``?key=``): the edit form, a labelled input per
    column, and the delete form. POST: Modifie with the columns changed; a value the
    column's type or field rule refuses is shown at its input, a change breaking the privacy
    targets at the form with the measured k / l / t; either way nothing changes."""
    if request.method == "GET":
        return _record_page(request, actor, entry_id, request.GET.get("key", ""))
    key = request.POST.get("key", "")
    reason = request.POST.get("reason", "")
    posted = _posted_values(request)
    changed = {
        name: _given(value)
        for name, value in posted.items()
        if value != request.POST.get(WAS + name, "")
    }
    if not changed:
        return _record_page(
            request,
            actor,
            entry_id,
            key,
            status=400,
            values=posted,
            reason=reason,
            error="Nothing to save: no value differs from the record's. Change a value first.",
        )
    try:
        view = services.outbox_modify(
            actor=actor,
            entry_id=entry_id,
            changes=[{"edit": {"key": key, "values": changed}}],
            reason=reason,
        )
    except PrivetlError as exc:
        return _record_page(
            request,
            actor,
            entry_id,
            key,
            status=HTTP_STATUS.get(exc.code, 400),
            values=posted,
            reason=reason,
            **_at_field(exc, list(posted), changed),
        )
    messages.success(
        request,
        f"Saved record {key} ({', '.join(changed)} changed; revision {view.revision}): "
        + _privacy_outcome(view)
        + ".",
    )
    return redirect("ui-outbox-entry", entry_id=entry_id)


@require_POST
@ui_page
def record_delete(request: HttpRequest, actor: Actor, entry_id: str) -> HttpResponse:
    """Modifie with one delete by primary key; refused (e.g. it would break k) it is shown
    at the delete form with the measured k / l / t, and the record stays."""
    key = request.POST.get("key", "")
    reason = request.POST.get("reason", "")
    try:
        view = services.outbox_modify(
            actor=actor, entry_id=entry_id, changes=[{"delete_key": key}], reason=reason
        )
    except PrivetlError as exc:
        return _record_page(
            request,
            actor,
            entry_id,
            key,
            status=HTTP_STATUS.get(exc.code, 400),
            delete_reason=reason,
            delete_error=exc.message,
        )
    messages.success(
        request,
        f"Deleted record {key} ({view.rows} records left; revision {view.revision}): "
        + _privacy_outcome(view)
        + ".",
    )
    return redirect("ui-outbox-entry", entry_id=entry_id)


@require_http_methods(["GET", "POST"])
@ui_page
def record_add(request: HttpRequest, actor: Actor, entry_id: str) -> HttpResponse:
    """The form that adds a record (a labelled input for every column); POST: Modifie with
    one add, refusals shown at the input or the form with the input kept."""
    posted = _posted_values(request)
    reason = request.POST.get("reason", "")
    errors: dict[str, object] = {}
    status = 200
    if request.method == "POST":
        values = {name: _given(value) for name, value in posted.items()}
        try:
            view = services.outbox_modify(
                actor=actor, entry_id=entry_id, changes=[{"add": values}], reason=reason
            )
        except PrivetlError as exc:
            status = HTTP_STATUS.get(exc.code, 400)
            errors = dict(
                _at_field(exc, list(values), {k: v for k, v in values.items() if v is not None})
            )
        else:
            messages.success(
                request,
                f"Added record {posted.get(request.POST.get('key_column', ''), '')} "
                f"({view.rows} records; revision {view.revision}): " + _privacy_outcome(view) + ".",
            )
            return redirect("ui-outbox-entry", entry_id=entry_id)
    shape = selectors.entry_shape_for_actor(actor=actor, entry_id=entry_id)
    fields = [{"column": c, "value": posted.get(c.name, "")} for c in shape.columns]
    context = page_context(actor, shape=shape, fields=fields, reason=reason, **errors)
    return render(request, "data/record_add.html", context, status=status)


@ui_page
def entry_discard(request: HttpRequest, actor: Actor, entry_id: str) -> HttpResponse:
    """The confirmation before discarding: what goes (every table of the task's run awaiting
    review, their data deleted, the run stopped) and the form that does it — Stop with
    ``clear_outbox``, the run controls' (only they may end a run)."""
    shape = selectors.entry_overview_for_actor(actor=actor, entry_id=entry_id)
    context = page_context(
        actor,
        shape=shape,
        back=reverse("ui-outbox-entry", kwargs={"entry_id": entry_id}),
    )
    return render(request, "data/entry_discard.html", context)
