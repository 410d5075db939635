"""Thin UI views of connections: parse, authorize (the services' rules), call one function,
render. "Request access" files through the User Manager's service, as AddAccess does.

The connection string is write-only here as on every door: a password field that is never
filled in, never echoed back after a refused submit, and never shown on any page — not even
its redacted form or its length. Leaving it empty on the edit form keeps the stored one.
"""

from __future__ import annotations

import datetime as dt
import re

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, InvalidArgument, PrivetlError
from privetl.datamodules import selectors, services
from privetl.datamodules.models import ConnectionType
from privetl.platform.ui.views import page_context, ui_page
from privetl.users import services as users
from privetl.users.models import AccessType

FORM_FIELDS = ("id", "name", "type", "description", "contract", "owner_user_ids")
"""The connection form's fields that are kept after a refused submit (never the string)."""
EDITED = ("name", "description", "type", "contract")
"""What the edit form always sends (so clearing a description or a contract works); the
connection string is added to the update only when a new one was typed."""
_OWNER_SEPARATORS = re.compile(r"[\s,;]+")


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
        page_context(
            actor,
            page=page,
            access_types=AccessType.values,
            types=ConnectionType.values,
            creates_connections=selectors.CREATOR_ROLE in actor.roles,
            **values,
        ),
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


# --- one connection: its page, Test connection ---------------------------------------------


def _connection_page(
    request: HttpRequest, actor: Actor, connection_id: str, *, status: int = 200, **values: object
) -> HttpResponse:
    shown = selectors.connection_page_for_actor(actor=actor, connection_id=connection_id)
    return render(
        request,
        "datamodules/connection_detail.html",
        page_context(actor, shown=shown, c=shown.connection, **values),
        status=status,
    )


@ui_page
def connection_detail(request: HttpRequest, actor: Actor, connection_id: str) -> HttpResponse:
    """GetConnection in the browser: the contract's tables and columns, the owners, my
    access, and (for OWNER or READ holders) "Test connection"."""
    return _connection_page(request, actor, connection_id)


@require_POST
@ui_page
def connection_test(request: HttpRequest, actor: Actor, connection_id: str) -> HttpResponse:
    """TestConnection: the outcome (works / the error to act on, never the secret) comes
    back as a message on the connection's page; a refusal is shown at the Test button."""
    try:
        tested = services.connection_test(actor=actor, connection_id=connection_id)
    except PrivetlError as exc:
        return _connection_page(
            request,
            actor,
            connection_id,
            status=HTTP_STATUS.get(exc.code, 400),
            test_error=exc.message,
        )
    outcome = f"({tested.duration_ms} ms)"
    if tested.ok:
        messages.success(request, f"Connection {connection_id} works: {tested.message} {outcome}")
    else:
        messages.error(
            request, f"Connection {connection_id} did not open: {tested.message} {outcome}"
        )
    return redirect("ui-connection", connection_id=connection_id)


# --- the connection form: Create, Edit -------------------------------------------------------


def _contract_text(request: HttpRequest) -> str:
    """The contract as sent: an uploaded file wins over the pasted text. Parsing only; the
    service validates what it says."""
    upload = request.FILES.get("contract_file")
    if not isinstance(upload, UploadedFile):
        return request.POST.get("contract", "")
    if (upload.size or 0) > services.CONTRACT_MAX_LENGTH * 4:
        raise InvalidArgument(
            f"the contract file is too large: at most {services.CONTRACT_MAX_LENGTH} characters",
            field="connection.contract",
        )
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidArgument(
            "the contract file is not UTF-8 text: upload the JSON-LD file itself",
            field="connection.contract",
        ) from None


def _form_values(request: HttpRequest) -> dict[str, str]:
    """What the user typed, to put back into the form after a refusal (not the string)."""
    return {name: request.POST.get(name, "") for name in FORM_FIELDS}


def _errors_of(exc: PrivetlError) -> dict[str, str]:
    """A refusal's message keyed by the form field it names ("form" when it names none)."""
    field = (exc.field or "").removeprefix("connection.")
    return {field if field in (*FORM_FIELDS, "connection_string") else "form": exc.message}


def _connection_form(
    request: HttpRequest,
    actor: Actor,
    *,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    editing_id: str = "",
    owners: list[str] | None = None,
) -> HttpResponse:
    return render(
        request,
        "datamodules/connection_form.html",
        page_context(
            actor,
            form=form,
            errors=errors or {},
            editing_id=editing_id,
            owners=owners,
            types=ConnectionType.values,
            contract_max=services.CONTRACT_MAX_LENGTH,
        ),
        status=status,
    )


@require_http_methods(["GET", "POST"])
@ui_page
def connection_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    """CreateConnection: type, id, name, description, the contract (a file or pasted), the
    write-only connection string, more owners. Problems are shown at their fields with the
    input kept (but for the string), and nothing is created."""
    if request.method == "GET":
        selectors.connection_creation_check(actor=actor)
        return _connection_form(request, actor, form={"type": ConnectionType.SQL.value})
    form = _form_values(request)
    try:
        form["contract"] = _contract_text(request)
        created = services.connection_create(
            actor=actor,
            id=form["id"].strip(),
            name=form["name"],
            type=form["type"],
            description=form["description"],
            contract=form["contract"],
            connection_string=request.POST.get("connection_string", ""),
            owner_user_ids=[o for o in _OWNER_SEPARATORS.split(form["owner_user_ids"]) if o],
        )
    except PrivetlError as exc:
        return _connection_form(
            request,
            actor,
            form=form,
            errors=_errors_of(exc),
            status=HTTP_STATUS.get(exc.code, 400),
        )
    messages.success(
        request,
        f"Connection {created.connection_id} created, owned by "
        f"{', '.join(created.owner_user_ids)}. Test it to see that it opens.",
    )
    return redirect("ui-connection", connection_id=created.connection_id)


@require_http_methods(["GET", "POST"])
@ui_page
def connection_edit(request: HttpRequest, actor: Actor, connection_id: str) -> HttpResponse:
    """UpdateConnection (its OWNERs): name, description, type, contract, and a new connection
    string only when one is typed (empty keeps the stored one). Owners change through access
    requests, so they are shown here, not edited."""
    if request.method == "GET":
        view = selectors.connection_get_for_owner(actor=actor, connection_id=connection_id)
        form = {name: str(getattr(view, name)) for name in EDITED}
        return _connection_form(
            request, actor, form=form, editing_id=view.id, owners=view.owner_user_ids
        )
    form = {**_form_values(request), "id": connection_id}
    new_string = request.POST.get("connection_string", "")
    try:
        form["contract"] = _contract_text(request)
        services.connection_update(
            actor=actor,
            connection_id=connection_id,
            update_mask=[*EDITED, *(["connection_string"] if new_string else [])],
            name=form["name"],
            description=form["description"],
            type=form["type"],
            contract=form["contract"],
            connection_string=new_string,
        )
    except PrivetlError as exc:
        return _connection_form(
            request,
            actor,
            form=form,
            errors=_errors_of(exc),
            status=HTTP_STATUS.get(exc.code, 400),
            editing_id=connection_id,
        )
    messages.success(request, f"Connection {connection_id} saved.")
    return redirect("ui-connection", connection_id=connection_id)
