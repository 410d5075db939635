"""Thin UI views of the audit log: parse, call one function with the session's actor, render.

The list and the record page call the selectors of ListAuditLogs / GetAuditLog, whose
scope is the one rule (admins see every record, others the records where they acted or
impersonated); the chain's status is for admins (``chain_status``).
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from privetl.audit import selectors
from privetl.audit.ui.chain_status import audit_chain_status
from privetl.audit.ui.diff import state_diff
from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, PrivetlError
from privetl.platform.ui.views import page_context, ui_page

TEXT_FILTERS = ("actor_user_id", "action", "service", "target_type", "target_id")
TIME_FILTERS = ("since", "until")
TIME_HELP = "give a time as YYYY-MM-DDTHH:MM (UTC), or a date YYYY-MM-DD, or leave it empty"


def _moment(text: str) -> dt.datetime | None:
    """A time from the form (``datetime-local`` sends no zone: the page says UTC)."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _filters(query: QueryDict) -> tuple[dict[str, str], selectors.AuditLogFilters, dict[str, str]]:
    """The form's values as typed, the filters they mean, and a message per bad field."""
    form = {name: query.get(name, "").strip() for name in (*TEXT_FILTERS, *TIME_FILTERS)}
    errors: dict[str, str] = {}
    moments: dict[str, dt.datetime | None] = {}
    for name in TIME_FILTERS:
        try:
            moments[name] = _moment(form[name])
        except ValueError:
            errors[name] = f"{form[name]!r} is not a time: {TIME_HELP}"
            moments[name] = None
    filters = selectors.AuditLogFilters(
        **{name: form[name] for name in TEXT_FILTERS},
        since=moments["since"],
        until=moments["until"],
    )
    return form, filters, errors


def _next_page_query(query: QueryDict, token: str) -> str:
    """The query string of the next page: the same filters, the new token."""
    following = query.copy()
    following["page_token"] = token
    return following.urlencode()


@require_GET
@ui_page
def audit_log_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """ListAuditLogs in the browser: a GET search form kept filled in, newest first, paged
    with the one signed cursor (the next-page link keeps the filters)."""
    form, filters, errors = _filters(request.GET)
    page = None
    status = 200
    if errors:
        status = 400
    else:
        try:
            page = selectors.audit_log_list(
                actor=actor, filters=filters, page_token=request.GET.get("page_token", "")
            )
        except PrivetlError as exc:
            errors[exc.field if exc.field in form else "form"] = exc.message
            status = HTTP_STATUS.get(exc.code, 400)
    filtered = any(form.values())
    context = page_context(
        actor,
        form=form,
        errors=errors,
        page=page,
        filtered=filtered,
        next_query=_next_page_query(request.GET, page.next_page_token)
        if page and page.next_page_token
        else "",
    )
    return render(request, "audit/audit_log_list.html", context, status=status)


@require_GET
@ui_page
def audit_log_detail(request: HttpRequest, actor: Actor, audit_log_id: str) -> HttpResponse:
    """GetAuditLog in the browser: who, when, from where, what, and the before/after diff."""
    record = selectors.audit_log_get(actor=actor, id=audit_log_id)
    context = page_context(
        actor, record=record, diff=state_diff(record.before_json, record.after_json)
    )
    return render(request, "audit/audit_log_detail.html", context)


@require_GET
@ui_page
def chain_status(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The chain's status (ADMIN): the newest checkpoint at once, the whole walk on request
    (``?verify=1``). An htmx request gets only the status panel."""
    status = audit_chain_status(actor=actor, verify=request.GET.get("verify") == "1")
    partial = bool(getattr(request, "htmx", False))  # django-htmx's HtmxDetails
    template = "audit/chain_panel.html" if partial else "audit/chain_status.html"
    return render(request, template, page_context(actor, chain=status))
