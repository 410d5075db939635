"""Thin UI views of the users admin: parse, call one function with the session's actor, render.

Every page and change is the ADMIN's (the selectors and services refuse anyone else, and
``ui_page`` answers that refusal with 403). A change is a plain form POST answered by a
redirect (Post/Redirect/Get) with its outcome as a message; a refused change re-renders
the page with the reason at the form that asked for it, and changes nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, PrivetlError
from privetl.platform.ui.views import page_context, ui_page
from privetl.users import selectors, services
from privetl.users.models import Role

CREATE_FIELDS = ("id", "name", "email")


def _listing(
    request: HttpRequest, actor: Actor, *, status: int = 200, **values: object
) -> HttpResponse:
    page = selectors.user_list_for_actor(actor=actor, page_token=request.GET.get("page_token", ""))
    return render(
        request, "users/user_list.html", page_context(actor, page=page, **values), status=status
    )


@require_GET
@ui_page
def user_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """ListUsers in the browser: every user with their roles and whether they are blocked."""
    return _listing(request, actor, form={}, errors={})


@require_POST
@ui_page
def user_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    """CreateUser from the list's form; a problem is named at its field, the input kept."""
    form = {name: request.POST.get(name, "").strip() for name in CREATE_FIELDS}
    try:
        created = services.user_create(
            actor=actor, id=form["id"], name=form["name"], email=form["email"] or None
        )
    except PrivetlError as exc:
        field = exc.field if exc.field in CREATE_FIELDS else "form"
        return _listing(
            request,
            actor,
            status=HTTP_STATUS.get(exc.code, 400),
            form=form,
            errors={field: exc.message},
        )
    messages.success(request, f"User {created.id} created; give them roles below.")
    return redirect("ui-user", user_id=created.id)


def _user_page(
    request: HttpRequest,
    actor: Actor,
    user_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> HttpResponse:
    view = selectors.user_admin_view(
        actor=actor, user_id=user_id, logins_page_token=request.GET.get("logins_page_token", "")
    )
    context = page_context(
        actor,
        subject=view.user,
        logins=view.logins,
        roles_to_add=[r for r in Role.values if r not in view.user.roles],
        is_self=user_id in (actor.user_id, actor.impersonator_id),
        errors=errors or {},
        form=form or {},
    )
    return render(request, "users/user_detail.html", context, status=status)


@require_GET
@ui_page
def user_detail(request: HttpRequest, actor: Actor, user_id: str) -> HttpResponse:
    """One user: roles to add and remove, Block / Unblock, Act as, and the login history."""
    return _user_page(request, actor, user_id)


def _refused(
    request: HttpRequest, actor: Actor, user_id: str, exc: PrivetlError, at: str, **form: str
) -> HttpResponse:
    """The user's page again, the refusal's message at the form ``at``."""
    return _user_page(
        request,
        actor,
        user_id,
        status=HTTP_STATUS.get(exc.code, 400),
        errors={at: exc.message},
        form=form,
    )


@require_POST
@ui_page
def role_add(request: HttpRequest, actor: Actor, user_id: str) -> HttpResponse:
    """AddRole: the chosen role is given to the user."""
    role = request.POST.get("role", "")
    try:
        change = services.user_role_add(actor=actor, user_id=user_id, role=role)
    except PrivetlError as exc:
        return _refused(request, actor, user_id, exc, "role_add", role=role)
    messages.success(
        request,
        f"{user_id} now holds {role}." if change.changed else f"{user_id} already held {role}.",
    )
    return redirect("ui-user", user_id=user_id)


@require_POST
@ui_page
def role_remove(request: HttpRequest, actor: Actor, user_id: str) -> HttpResponse:
    """RemoveRole: the role is taken away (never the last ADMIN's: the service refuses)."""
    role = request.POST.get("role", "")
    try:
        change = services.user_role_remove(actor=actor, user_id=user_id, role=role)
    except PrivetlError as exc:
        return _refused(request, actor, user_id, exc, "role_remove")
    messages.success(
        request,
        f"{user_id} no longer holds {role}."
        if change.changed
        else f"{user_id} did not hold {role}.",
    )
    return redirect("ui-user", user_id=user_id)


@require_POST
@ui_page
def user_block(request: HttpRequest, actor: Actor, user_id: str) -> HttpResponse:
    """BlockUser, after the confirmation on the user's page: their sessions and tokens stop
    working at their next request."""
    reason = request.POST.get("reason", "")
    try:
        services.user_block(actor=actor, user_id=user_id, reason=reason)
    except PrivetlError as exc:
        return _refused(request, actor, user_id, exc, "block", reason=reason)
    messages.success(request, f"{user_id} is blocked: they can no longer sign in or call the API.")
    return redirect("ui-user", user_id=user_id)


@require_POST
@ui_page
def user_unblock(request: HttpRequest, actor: Actor, user_id: str) -> HttpResponse:
    """UnblockUser, after the confirmation on the user's page."""
    try:
        services.user_unblock(actor=actor, user_id=user_id)
    except PrivetlError as exc:
        return _refused(request, actor, user_id, exc, "unblock")
    messages.success(request, f"{user_id} is unblocked and may sign in again.")
    return redirect("ui-user", user_id=user_id)
