"""Thin UI views of connections: parse, authorize (the services' rules), call one function,
render. "Request access" files through the User Manager's service, as AddAccess does."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, PrivetlError
from privetl.datamodules import selectors
from privetl.platform.ui.views import page_context, ui_page
from privetl.users import services as users
from privetl.users.models import AccessType


def _listing(
    request: HttpRequest, actor: Actor, *, status: int = 200, **values: object
) -> HttpResponse:
    page = selectors.connection_list_for_actor(
        actor=actor,
        type=request.GET.get("type", ""),
        page_token=request.GET.get("page_token", ""),
    )
    return render(
        request,
        "datamodules/connection_list.html",
        page_context(actor, page=page, access_types=AccessType.values, **values),
        status=status,
    )


@ui_page
def connection_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """GetAllConnection in the browser: every connection with my access to it."""
    return _listing(request, actor)


def _expiry(text: str) -> dt.datetime | None:
    """An optional expiry date (end of that day, in the server's zone)."""
    if not text:
        return None
    day = dt.date.fromisoformat(text)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


@require_POST
@ui_page
def access_request(request: HttpRequest, actor: Actor, connection_id: str) -> HttpResponse:
    """AddAccess from the list: reason, access types, optional expiry; problems shown beside
    the form of that connection, nothing filed."""
    reason = request.POST.get("reason", "")
    types = request.POST.getlist("access_types")
    expires = request.POST.get("expires_at", "")
    form = {"connection_id": connection_id, "reason": reason, "types": types, "expires": expires}
    try:
        expires_at = _expiry(expires)
    except ValueError:
        return _listing(
            request,
            actor,
            status=400,
            form=form,
            error="expiry: give a date as YYYY-MM-DD, or none",
        )
    try:
        filed = users.access_request_file(
            actor=actor,
            user_id=actor.user_id,
            ext_datamodule_id=connection_id,
            access_types=types,
            reason=reason,
            expires_at=expires_at,
        )
    except PrivetlError as exc:
        return _listing(
            request, actor, status=HTTP_STATUS.get(exc.code, 400), form=form, error=exc.message
        )
    messages.success(
        request,
        f"Access requested on {connection_id} ({', '.join(types)}): request {filed.id}; "
        "its owners are notified and decide.",
    )
    return redirect("ui-connections")
