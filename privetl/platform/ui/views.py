"""Thin UI views: parse, authorize (``principal_for``, the rule every door uses), call, render."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from authlib.common.errors import AuthlibBaseError
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from requests import RequestException

from privetl.common.context import Actor, new_request_id
from privetl.common.errors import HTTP_STATUS, PermissionDenied, PrivetlError, Unauthenticated
from privetl.data.selectors import DATA_ROLE, entry_list_for_actor
from privetl.platform.auth import authenticate_bearer
from privetl.platform.sso import sso_client, sso_providers
from privetl.runs import selectors as run_selectors
from privetl.tasks import selectors as task_selectors
from privetl.users.selectors import access_requests_to_decide, login_events_for_actor, principal_for
from privetl.users.services import impersonation_begin, impersonation_end, login_record

logger = logging.getLogger(__name__)

SESSION_USER = "privetl_user_id"
SESSION_IMPERSONATOR = "privetl_impersonator_id"
"""Set while an admin acts as the session's user: the admin's own id."""
LOCAL_ISSUER = "local"
"""The login history's issuer for the embedded default's local login (no token involved)."""


def session_actor(request: HttpRequest) -> Actor | None:
    """The actor of a UI session, re-read on every request so a block bites at once."""
    user_id = request.session.get(SESSION_USER)
    if not user_id:
        return None
    impersonator_id = request.session.get(SESSION_IMPERSONATOR) or None
    try:
        principal = principal_for(user_id=str(user_id), impersonator_id=impersonator_id)
    except (Unauthenticated, PermissionDenied):
        request.session.flush()
        return None
    return Actor(
        user_id=principal.subject.user_id,
        roles=frozenset(principal.subject.roles),
        impersonator_id=principal.impersonator.user_id if principal.impersonator else None,
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


def _signed_in(request: HttpRequest, user_id: str) -> HttpResponse:
    """A new session for ``user_id`` (a fresh key: no session fixation) and on to the dashboard."""
    request.session.cycle_key()
    request.session.pop(SESSION_IMPERSONATOR, None)
    request.session[SESSION_USER] = user_id
    return redirect("ui-dashboard")


def _login_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    return render(
        request,
        "platform/login.html",
        {"error": error, "providers": sso_providers(), "local": settings.EMBEDDED},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """The login page: the configured SSO providers, and on the embedded default a local login
    by user id (no passwords exist there, as with ``privetl token``)."""
    if request.method != "POST":
        return _login_page(request)
    if not settings.EMBEDDED:
        return HttpResponseForbidden("local login is only offered on the embedded default")
    user_id = request.POST.get("user_id", "").strip()
    address = request.META.get("REMOTE_ADDR")
    try:
        principal_for(user_id=user_id)
    except (Unauthenticated, PermissionDenied) as exc:
        if exc.reason == "blocked user":  # a known user: it goes in their history
            login_record(
                user_id=user_id,
                issuer=LOCAL_ISSUER,
                address=address,
                door="ui",
                success=False,
                reason="blocked user",
            )
        return _login_page(request, error=exc.message, status=401)
    login_record(user_id=user_id, issuer=LOCAL_ISSUER, address=address, door="ui", success=True)
    return _signed_in(request, user_id)


def sso_begin(request: HttpRequest, provider: int) -> HttpResponse:
    """To the provider's authorization endpoint, with a fresh state, nonce and PKCE challenge
    (kept in this session by authlib until the provider sends the browser back)."""
    try:
        client = sso_client(provider)
        callback = request.build_absolute_uri(reverse("ui-sso-callback", args=[provider]))
        response: HttpResponse = client.authorize_redirect(request, callback)
    except PrivetlError as exc:
        return _login_page(request, error=exc.message, status=HTTP_STATUS.get(exc.code, 400))
    except (AuthlibBaseError, RequestException) as exc:
        logger.warning("SSO provider %s unreachable: %s", provider, type(exc).__name__)
        return _login_page(
            request,
            error="the sign-in provider cannot be reached; try again later or use another one",
            status=502,
        )
    return response


def sso_callback(request: HttpRequest, provider: int) -> HttpResponse:
    """Back from the provider: authlib checks the state, exchanges the code with the PKCE
    verifier and checks the ID token's nonce; the ID token then passes the platform's one
    authentication rule (provisioning on a first login, blocked users refused, the history)."""
    try:
        client = sso_client(provider)
        token = client.authorize_access_token(request)
        id_token = str(token.get("id_token") or "")
        if not id_token:
            raise Unauthenticated("the provider sent no ID token; sign in again")
        actor = authenticate_bearer(
            f"Bearer {id_token}",
            act_as=None,
            address=request.META.get("REMOTE_ADDR"),
            request_id=new_request_id(),
            door="ui",
        )
    except PrivetlError as exc:
        return _login_page(request, error=exc.message, status=HTTP_STATUS.get(exc.code, 401))
    except (AuthlibBaseError, RequestException) as exc:
        # a wrong or replayed state, a code the provider refused, a nonce that does not match:
        # nothing about the attempt is trusted, and the message says what to do
        logger.info("SSO sign-in refused: %s", type(exc).__name__)
        return _login_page(
            request,
            error=f"the sign-in did not complete ({getattr(exc, 'error', '') or type(exc).__name__}); "
            "start again from this page",
            status=400,
        )
    return _signed_in(request, actor.user_id)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the session (POST with CSRF, so no link can log anybody out)."""
    request.session.flush()
    return redirect("ui-login")


@require_POST
@ui_page
def impersonate_start(request: HttpRequest, actor: Actor) -> HttpResponse:
    """An admin acts as another user (POST ``user_id``): the session's user becomes them, the
    banner names both, every record made names both."""
    acting = impersonation_begin(actor=actor, user_id=request.POST.get("user_id", "").strip())
    request.session[SESSION_USER] = acting.user_id
    request.session[SESSION_IMPERSONATOR] = acting.impersonator_id
    return redirect("ui-dashboard")


@require_POST
@ui_page
def impersonate_end(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Back to being the admin."""
    impersonation_end(actor=actor)
    request.session[SESSION_USER] = actor.impersonator_id
    request.session.pop(SESSION_IMPERSONATOR, None)
    return redirect("ui-dashboard")


@ui_page
def login_history(request: HttpRequest, actor: Actor) -> HttpResponse:
    """My logins and refused logins, newest first (ListLogins)."""
    page = login_events_for_actor(
        actor=actor, user_id=actor.user_id, page_token=request.GET.get("page_token", "")
    )
    return render(request, "platform/login_history.html", page_context(actor, page=page))


ACTIVE_TASK_STATES = ("RUNNING", "PAUSED", "AWAITING_UPLOAD", "UPLOADING")
DASHBOARD_ROWS = 10


@ui_page
def dashboard(request: HttpRequest, actor: Actor) -> HttpResponse:
    """What waits for me, by what my roles let me do: tasks by state, runs in progress with
    their stage, access requests I decide, outbox entries to review, recent failures. Each
    section comes from the selector its page uses, so it shows exactly what that page would."""
    context = page_context(actor)
    sections: dict[str, object] = {
        "to_decide": access_requests_to_decide(actor=actor, page_size=DASHBOARD_ROWS).items
    }
    if context["reads_tasks"]:
        counts = task_selectors.task_state_counts_for_actor(actor=actor)
        sections["task_counts"] = counts
        sections["tasks_total"] = sum(counts.values())
        active = task_selectors.task_list_for_actor(
            actor=actor, states=ACTIVE_TASK_STATES, page_size=DASHBOARD_ROWS
        ).items
        sections["failures"] = task_selectors.task_list_for_actor(
            actor=actor, states=("FAILED",), page_size=DASHBOARD_ROWS
        ).items
        if context["reads_runs"]:
            sections["active_runs"] = [
                (task, run_selectors.run_get_for_actor(actor=actor, run_id=task.current_run_id))
                for task in active
                if task.current_run_id
            ]
    elif context["reads_runs"]:
        sections["latest_runs"] = run_selectors.run_list_for_actor(
            actor=actor, page_size=DASHBOARD_ROWS
        ).items
    if context["manages_data"]:
        sections["to_review"] = entry_list_for_actor(
            actor=actor, states=("AWAITING_REVIEW",), page_size=DASHBOARD_ROWS
        ).items
    return render(request, "platform/dashboard.html", {**context, **sections})
