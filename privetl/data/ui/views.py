"""Thin UI views of the outbox: parse, authorize (the selector's rule), call one selector, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render

from privetl.common.errors import PermissionDenied, PrivetlError
from privetl.data import selectors
from privetl.data.models import OutboxState
from privetl.platform.ui.views import page_context, session_actor

STATES = tuple(OutboxState.values)
"""The states a Data-Manager filters by (the selector refuses others); the default is what
waits for them."""


def entry_list(request: HttpRequest) -> HttpResponse:
    """GetAll in the browser: entries of the modules the caller may read, awaiting review
    unless another state is asked for; paged with the one signed cursor."""
    actor = session_actor(request)
    if actor is None:
        return redirect("ui-login")
    state = request.GET.get("state", OutboxState.AWAITING_REVIEW)
    try:
        page = selectors.entry_list_for_actor(
            actor=actor, states=[state], page_token=request.GET.get("page_token", "")
        )
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except PrivetlError as exc:
        return HttpResponse(exc.message, status=400)
    return render(
        request, "data/outbox_list.html", page_context(actor, page=page, state=state, states=STATES)
    )
