"""Thin UI views: parse, authorize (``principal_for``, the rule every door uses), call, render."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, PermissionDenied, PrivetlError, Unauthenticated
from privetl.data.selectors import DATA_ROLE
from privetl.runs import selectors as run_selectors
from privetl.tasks import selectors as task_selectors
from privetl.users.selectors import principal_for
from privetl.users.services import login_record

SESSION_USER = "privetl_user_id"
LOCAL_ISSUER = "local"
"""The login history's issuer for the embedded default's local login (no token involved)."""


def session_actor(request: HttpRequest) -> Actor | None:
    """The actor of a UI session, re-read on every request so a block bites at once."""
    user_id = request.session.get(SESSION_USER)
    if not user_id:
        return None
    try:
        principal = principal_for(user_id=str(user_id))
    except (Unauthenticated, PermissionDenied):
        request.session.flush()
        return None
    return Actor(
        user_id=principal.subject.user_id,
        roles=frozenset(principal.subject.roles),
        address=request.META.get("REMOTE_ADDR"),
        door="ui",
    )


P = ParamSpec("P")


def ui_page(
    view: Callable[Concatenate[HttpRequest, Actor, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """A page for a signed-in user: the view gets the session's actor (else the login page),
    and a refusal it does not handle itself is answered with the status of the one HTTP
    mapping (``HTTP_STATUS``) and its message as plain text — never as HTML, since messages
    may quote what the caller sent."""

    @functools.wraps(view)
    def page(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        actor = session_actor(request)
        if actor is None:
            return redirect("ui-login")
        try:
            return view(request, actor, *args, **kwargs)
        except PrivetlError as exc:
            return HttpResponse(
                exc.message,
                status=HTTP_STATUS.get(exc.code, 500),
                content_type="text/plain; charset=utf-8",
            )

    return page


def page_context(actor: Actor, **values: object) -> dict[str, object]:
    """A page's template context with the navigation the actor may use: no link to a page that
    would refuse them (the same role sets the selectors check)."""
    return {
        "actor": actor,
        "reads_runs": bool(actor.roles & run_selectors.HISTORY_ROLES),
        "reads_tasks": bool(actor.roles & task_selectors.READER_ROLES),
        "edits_tasks": task_selectors.EDITOR_ROLE in actor.roles,
        "controls_runs": run_selectors.RUN_ROLE in actor.roles,
        "manages_data": DATA_ROLE in actor.roles,
        "is_admin": actor.is_admin,
        **values,
    }


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Local login (embedded default only: no passwords exist there, as with ``privetl token``)."""
    error = ""
    if request.method == "POST":
        if not settings.EMBEDDED:
            return HttpResponseForbidden("local login is only offered on the embedded default")
        user_id = request.POST.get("user_id", "").strip()
        address = request.META.get("REMOTE_ADDR")
        try:
            principal_for(user_id=user_id)
        except (Unauthenticated, PermissionDenied) as exc:
            error = exc.message
            if exc.reason == "blocked user":  # a known user: it goes in their history
                login_record(
                    user_id=user_id,
                    issuer=LOCAL_ISSUER,
                    address=address,
                    door="ui",
                    success=False,
                    reason="blocked user",
                )
        else:
            login_record(
                user_id=user_id, issuer=LOCAL_ISSUER, address=address, door="ui", success=True
            )
            request.session.cycle_key()
            request.session[SESSION_USER] = user_id
            return redirect("ui-dashboard")
    providers = [str(p.get("issuer", "")) for p in settings.OIDC_ISSUERS]
    return render(
        request,
        "platform/login.html",
        {"error": error, "providers": providers, "local": settings.EMBEDDED},
        status=401 if error else 200,
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the session (POST with CSRF, so no link can log anybody out)."""
    request.session.flush()
    return redirect("ui-login")


@ui_page
def dashboard(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Runs newest first for those who may read them; an empty state says what to do first."""
    context = page_context(actor)
    runs = None
    if context["reads_runs"]:
        runs = run_selectors.run_list_for_actor(actor=actor, page_size=10).items
    return render(request, "platform/dashboard.html", {**context, "runs": runs})


@require_POST
def impersonate_end(request: HttpRequest) -> HttpResponse:
    """Placeholder until built."""
    return redirect("ui-dashboard")


@require_POST
def impersonate_start(request: HttpRequest) -> HttpResponse:
    """Placeholder until built: an admin acts as ``user_id`` (POST field)."""
    return redirect("ui-dashboard")
