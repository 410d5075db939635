"""Thin UI views of the outbox: parse, authorize (the selector's rule), call one selector, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from privetl.common.context import Actor
from privetl.data import selectors
from privetl.data.models import OutboxState
from privetl.platform.ui.views import page_context, ui_page

STATES = tuple(OutboxState.values)
"""The states a Data-Manager filters by (the selector refuses others); the default is what
waits for them."""


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
