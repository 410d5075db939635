"""Readers of the ExtDatamodule Manager, each scoped by who is asking.

Every authenticated user may see every connection (use case "Get External Datamodule
Access": a user browses the connections to ask for access to one), but never its
connection string: a ``ConnectionView`` carries only the redacted form, and the caller's
own access to it (NONE / REQUESTED / GRANTED with the types held) read from the User
Manager's grant records. Rights on a connection are those grants, asked here the one way
(``caller_access_types``) by every service that checks them.

Only ``connection_secret_for_run`` decrypts, and only the worker that runs a task calls it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone

from privetl.common.context import Actor
from privetl.common.errors import NotFound, PermissionDenied
from privetl.common.paging import Page, keyset_page, scope_of
from privetl.datamodules import crypto
from privetl.datamodules.models import Connection
from privetl.users.models import AccessRequest, AccessState, Role
from privetl.users.selectors import grants_current_q

ACCESS_NONE = "NONE"
ACCESS_REQUESTED = "REQUESTED"
ACCESS_GRANTED = "GRANTED"
_TYPE_ORDER = ("READ", "WRITE", "OWNER")


@dataclass(frozen=True)
class ConnectionView:
    """A connection as every door shows it: redacted string, owners, the caller's access."""

    id: str
    name: str
    description: str
    type: str
    contract: str
    connection_string_redacted: str
    owner_user_ids: list[str]
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    caller_access: str
    caller_access_types: list[str]


@dataclass
class _Access:
    """What the grant records say about one connection, gathered in one pass."""

    owners: set[str]
    caller_types: set[str]
    caller_pending: bool


def _live_pending_q(now: dt.datetime) -> Q:
    return Q(state=AccessState.PENDING) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def _access_of(*, actor: Actor, connection_ids: list[str]) -> dict[str, _Access]:
    """Owners and the caller's access for many connections in one query.

    One row per current grant or live pending request that is either an OWNER grant (for
    ``owner_user_ids``) or the caller's own, so the cost is flat in the number of
    connections on the page and in the grants other users hold.
    """
    now = timezone.now()
    access = {
        cid: _Access(owners=set(), caller_types=set(), caller_pending=False)
        for cid in connection_ids
    }
    if not connection_ids:
        return access
    current = grants_current_q(now)
    rows = (
        AccessRequest.objects.filter(ext_datamodule_id__in=connection_ids)
        .filter(
            (current & Q(owner=True))
            | (Q(user_id=actor.user_id) & (current | _live_pending_q(now)))
        )
        .order_by()
        .values_list("ext_datamodule_id", "user_id", "state", "read", "write", "owner")
    )
    for module_id, user_id, state, read, write, owner in rows:
        entry = access[module_id]
        granted = state == AccessState.APPROVED
        if granted and owner:
            entry.owners.add(user_id)
        if user_id != actor.user_id:
            continue
        if granted:
            entry.caller_types.update(
                name for name, held in zip(_TYPE_ORDER, (read, write, owner), strict=True) if held
            )
        else:
            entry.caller_pending = True
    return access


def _view(connection: Connection, access: _Access, *, with_contract: bool) -> ConnectionView:
    if access.caller_types:
        caller_access = ACCESS_GRANTED
    elif access.caller_pending:
        caller_access = ACCESS_REQUESTED
    else:
        caller_access = ACCESS_NONE
    return ConnectionView(
        id=connection.id,
        name=connection.name,
        description=connection.description,
        type=connection.type,
        contract=connection.contract if with_contract else "",
        connection_string_redacted=connection.connection_string_redacted,
        owner_user_ids=sorted(access.owners),
        created_by=connection.created_by,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
        caller_access=caller_access,
        caller_access_types=[t for t in _TYPE_ORDER if t in access.caller_types],
    )


def _views(
    *, actor: Actor, connections: Iterable[Connection], with_contract: bool
) -> list[ConnectionView]:
    connections = list(connections)
    access = _access_of(actor=actor, connection_ids=[c.id for c in connections])
    return [_view(c, access[c.id], with_contract=with_contract) for c in connections]


def _connection(connection_id: str) -> Connection:
    try:
        return Connection.objects.defer("connection_string_ciphertext").get(pk=connection_id)
    except Connection.DoesNotExist:
        raise NotFound(
            f"connection {connection_id!r} does not exist; GetAllConnection lists them",
            field="connection_id",
        ) from None


def connection_exists(connection_id: str) -> bool:
    """True when a connection has this id."""
    return Connection.objects.filter(pk=connection_id).exists()


def module_catalog_answer(ext_datamodule_id: str) -> bool | None:
    """The User Manager's question "is this id an external data module?" (its module catalog).

    True for a connection. False for any other id once the platform has connections at
    all; None (no opinion) while it has none, so the modules access requests named before
    connections existed keep working. The User Manager also accepts an id that access
    records already name. One query (two for an unknown id).
    """
    if Connection.objects.filter(pk=ext_datamodule_id).exists():
        return True
    return False if Connection.objects.exists() else None


def connection_get_for_actor(*, actor: Actor, connection_id: str) -> ConnectionView:
    """GetConnection: any authenticated user may read a connection (never its secret).

    Raises ``NotFound`` when it does not exist. Two queries: the connection, its grants.
    """
    connection = _connection(connection_id)
    return _views(actor=actor, connections=[connection], with_contract=True)[0]


def connection_list_for_actor(
    *,
    actor: Actor,
    type: str = "",  # noqa: A002 - the contract's field name
    page_size: int | None = None,
    page_token: str = "",
) -> Page[ConnectionView]:
    """GetAllConnection: every connection (of ``type`` when given), ordered by id, with the
    caller's access to each. Two queries per page whatever the number of grants.

    Contracts are left out (``contract`` is ""): one may be up to megabytes, and a page of
    them would be unbounded; GetConnection (or ``connection_contract``) gives it.
    """
    connections = Connection.objects.defer("connection_string_ciphertext", "contract")
    if type:
        connections = connections.filter(type=type)
    page = keyset_page(
        connections,
        order=("id",),
        scope=scope_of("connections", type),
        page_size=page_size,
        page_token=page_token,
    )
    return Page(
        items=_views(actor=actor, connections=page.items, with_contract=False),
        next_page_token=page.next_page_token,
    )


def connection_secret_for_run(connection_id: str) -> str:
    """The decrypted connection string. Only the worker that runs a task calls this.

    No door, no list and no error message ever holds what this returns; the run hands it
    straight to the extractor or uploader that opens the connection. Raises ``NotFound``
    for an unknown id and ``crypto.UndecryptableSecret`` when no configured key opens it.
    """
    token = (
        Connection.objects.filter(pk=connection_id)
        .values_list("connection_string_ciphertext", flat=True)
        .first()
    )
    if token is None:
        raise NotFound(f"connection {connection_id!r} does not exist", field="connection_id")
    return crypto.decrypted(token)


def connection_contract(*, connection_id: str) -> dict[str, Any] | None:
    """The parsed contract (Croissant JSON-LD) of a connection; None when it has none.

    Raises ``NotFound`` when there is no such connection. The contract was validated when
    it was set, so it parses.
    """
    text = Connection.objects.filter(pk=connection_id).values_list("contract", flat=True).first()
    if text is None:
        raise NotFound(f"connection {connection_id!r} does not exist", field="connection_id")
    if not text.strip():
        return None
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def caller_access_types(*, actor: Actor, connection_id: str) -> frozenset[str]:
    """The caller's current grant types on a connection (READ / WRITE / OWNER); empty when none.

    The one question other services (tasks, scripts) ask before they let an editor use a
    connection. One query; an unknown id simply holds no grant.
    """
    held: set[str] = set()
    rows = AccessRequest.objects.filter(
        grants_current_q(), ext_datamodule_id=connection_id, user_id=actor.user_id
    ).values_list("read", "write", "owner")
    for flags in rows:
        held.update(name for name, on in zip(_TYPE_ORDER, flags, strict=True) if on)
    return frozenset(held)


# --- what the UI's pages ask before they offer a form -------------------------------------

CREATOR_ROLE = Role.CREATE_EXT_DATAMODULE
"""The role that creates connections (ADMIN alone does not: see ``services``)."""


def connection_creation_check(*, actor: Actor) -> None:
    """The one rule of who may create a connection, asked by CreateConnection and by the
    "Create connection" page before it shows a form that would be refused.

    Raises ``PermissionDenied`` saying which role to ask for. No query.
    """
    if CREATOR_ROLE not in actor.roles:
        raise PermissionDenied(
            "creating a connection needs the role CREATE_EXT_DATAMODULE; ask an ADMIN for it"
        )


def connection_get_for_owner(*, actor: Actor, connection_id: str) -> ConnectionView:
    """A connection for its edit form: only its current OWNERs may change it (the rule
    UpdateConnection applies), so anyone else is refused before seeing a form.

    Raises ``NotFound`` or ``PermissionDenied``. Two queries.
    """
    view = connection_get_for_actor(actor=actor, connection_id=connection_id)
    if "OWNER" not in view.caller_access_types:
        raise PermissionDenied(
            f"only an OWNER of connection {connection_id!r} may change it; ask one of its "
            "owners for OWNER access (AddAccess)"
        )
    return view


@dataclass(frozen=True)
class ContractColumn:
    """One column of a contract's table, as a person reads it."""

    name: str
    data_type: str
    description: str
    primary_key: bool
    references: str
    """``table/column`` this column points to, "" when it is no foreign key."""


@dataclass(frozen=True)
class ContractTable:
    """One table (Croissant RecordSet) of a contract, with its columns in declared order."""

    name: str
    description: str
    columns: list[ContractColumn]


def _ids(value: Any) -> list[str]:
    """The ``@id``s of a Croissant reference: one ``{"@id": ...}`` or a list of them."""
    items = value if isinstance(value, list) else [value]
    return [str(item["@id"]) for item in items if isinstance(item, dict) and "@id" in item]


def contract_tables(contract: str) -> list[ContractTable]:
    """The tables and columns a contract describes, for a connection's page.

    The contract was validated when it was set; this reads it tolerantly all the same (a
    part it does not understand is left out rather than failing the page). "" → no tables.
    """
    if not contract.strip():
        return []
    try:
        document = json.loads(contract)
    except json.JSONDecodeError:
        return []
    records = document.get("recordSet") if isinstance(document, dict) else None
    tables: list[ContractTable] = []
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict):
            continue
        keys = set(_ids(record.get("key")))
        columns = []
        for field in record.get("field") or []:
            if not isinstance(field, dict):
                continue
            reference = field.get("references")
            references = (
                ", ".join(_ids(reference.get("field"))) if isinstance(reference, dict) else ""
            )
            columns.append(
                ContractColumn(
                    name=str(field.get("name") or field.get("@id") or ""),
                    data_type=str(field.get("dataType") or "").removeprefix("sc:"),
                    description=str(field.get("description") or ""),
                    primary_key=str(field.get("@id")) in keys,
                    references=references,
                )
            )
        tables.append(
            ContractTable(
                name=str(record.get("name") or record.get("@id") or ""),
                description=str(record.get("description") or ""),
                columns=columns,
            )
        )
    return tables


@dataclass(frozen=True)
class ConnectionPage:
    """What a connection's page shows: the connection, its contract's tables, and what the
    caller may do there (the services' rules: OWNER edits, OWNER or READ tests)."""

    connection: ConnectionView
    tables: list[ContractTable]
    may_edit: bool
    may_test: bool


def connection_page_for_actor(*, actor: Actor, connection_id: str) -> ConnectionPage:
    """GetConnection for its page: any authenticated user may read it (never its secret).

    Raises ``NotFound``. Two queries.
    """
    view = connection_get_for_actor(actor=actor, connection_id=connection_id)
    held = set(view.caller_access_types)
    return ConnectionPage(
        connection=view,
        tables=contract_tables(view.contract),
        may_edit="OWNER" in held,
        may_test=bool({"OWNER", "READ"} & held),
    )
