"""Thin UI views of access requests: parse, authorize (the services' rules), call, render.

One page with three tabs, each one selector of the User Manager: what waits for my decision
as an owner (ListPendingAccessRequests), my own requests in every state
(ListUserAccessRequests), and my current grants (the same, approved only). Deciding
(ApproveAccessRequest) and withdrawing (RemoveAccess) are plain POSTs that redirect back.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, PrivetlError
from privetl.platform.ui.views import page_context, ui_page
from privetl.users import selectors as users_selectors
from privetl.users import services as users
from privetl.users.models import AccessState

INBOX = "inbox"
MINE = "mine"
GRANTS = "grants"
TABS = ((INBOX, "Waiting for me"), (MINE, "My requests"), (GRANTS, "My grants"))


def _tab_of(request: HttpRequest) -> str:
    tab = request.GET.get("tab", INBOX)
    return tab if tab in dict(TABS) else INBOX


def _tab(
    request: HttpRequest, actor: Actor, tab: str, *, status: int = 200, **values: object
) -> HttpResponse:
    page_token = request.GET.get("page_token", "")
    if tab == INBOX:
        page = users_selectors.access_requests_to_decide(
            actor=actor,
            ext_datamodule_id=request.GET.get("connection") or None,
            page_token=page_token,
        )
    elif tab == MINE:
        page = users_selectors.access_requests_for_user(
            actor=actor, user_id=actor.user_id, page_token=page_token
        )
    else:
        page = users_selectors.access_requests_for_user(
            actor=actor,
            user_id=actor.user_id,
            states=[AccessState.APPROVED],
            page_token=page_token,
        )
    form = values.get("form")
    at_row = isinstance(form, dict) and any(r.id == form.get("request_id") for r in page.items)
    return render(
        request,
        "datamodules/access_requests.html",
        page_context(actor, tab=tab, tabs=TABS, page=page, error_at_row=at_row, **values),
        status=status,
    )


@ui_page
def index(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The tab asked for (``?tab=inbox|mine|grants``, "Waiting for me" by default), paged;
    ``?connection=<id>`` narrows the inbox to one connection (linked from its page)."""
    return _tab(request, actor, _tab_of(request))


def _back(tab: str) -> HttpResponse:
    return redirect(f"{reverse('ui-access-requests')}?tab={tab}")


@require_POST
@ui_page
def decide(request: HttpRequest, actor: Actor, access_request_id: str) -> HttpResponse:
    """ApproveAccessRequest from the inbox: approve or deny, with an optional note the
    requester reads. A refusal is shown at that request's form with the note kept."""
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "")
    form = {"request_id": access_request_id, "note": note}
    if decision not in ("approve", "deny"):
        return _tab(request, actor, INBOX, status=400, form=form, error="choose Approve or Deny")
    try:
        decided = users.access_request_decide(
            actor=actor,
            access_request_id=access_request_id,
            owner_user_id=actor.user_id,
            approve=decision == "approve",
            note=note,
        )
    except PrivetlError as exc:
        return _tab(
            request,
            actor,
            INBOX,
            status=HTTP_STATUS.get(exc.code, 400),
            form=form,
            error=exc.message,
        )
    messages.success(
        request,
        f"{'Approved' if decided.state == AccessState.APPROVED else 'Denied'}: "
        f"{decided.user_id} on {decided.ext_datamodule_id} ({', '.join(decided.access_types)}); "
        "they are notified.",
    )
    return _back(INBOX)


@require_POST
@ui_page
def withdraw(request: HttpRequest, actor: Actor, access_request_id: str) -> HttpResponse:
    """RemoveAccess on one of mine: a pending request is withdrawn (no owner decides it), a
    current grant given back (revoked). A refusal is shown at that request's row."""
    back = GRANTS if request.POST.get("tab") == GRANTS else MINE
    try:
        removed = users.access_request_remove(
            actor=actor, user_id=actor.user_id, access_request_id=access_request_id
        )
    except PrivetlError as exc:
        return _tab(
            request,
            actor,
            back,
            status=HTTP_STATUS.get(exc.code, 400),
            form={"request_id": access_request_id},
            error=exc.message,
        )
    gone = removed[0]
    messages.success(
        request,
        f"{'Withdrawn' if gone.state == AccessState.WITHDRAWN else 'Given back'}: "
        f"{', '.join(gone.access_types)} on {gone.ext_datamodule_id}.",
    )
    return _back(back)
