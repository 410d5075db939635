"""The only writers of the ExtDatamodule Manager.

Every function here is keyword-only, typed, one ``@transaction.atomic`` unit: validate →
authorize → lock → change → audit record (``service="datamodules"``) in the same
transaction → e-mail after the commit (``transaction.on_commit``). The connection string
is encrypted before it is stored and never reaches an audit record, an error or a log:
records hold only whether it changed and its redacted form's scheme and host part.

Rights: creating needs the role CREATE_EXT_DATAMODULE (ADMIN alone does not: an admin
manages people, and gives themself the role to create data modules, which the audit log
then shows). Changing and testing a connection are decided by the User Manager's grants
on it: OWNER to change, OWNER or READ to test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from privetl.audit.services import audit_record
from privetl.common.context import Actor
from privetl.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from privetl.common.redaction import redact_connection_string
from privetl.common.text import checked_display_name, checked_free_text
from privetl.datamodules import crypto, notifications, probes
from privetl.datamodules.models import NAME_MAX_LENGTH, Connection, ConnectionType
from privetl.datamodules.selectors import (
    ConnectionView,
    caller_access_types,
    connection_creation_check,
    connection_get_for_actor,
    connection_secret_for_run,
)
from privetl.engine.validate import validate_document
from privetl.users.selectors import (
    module_has_access_records,
    module_has_owner,
    user_is_module_owner,
)
from privetl.users.services import access_grant_owner_on_creation, validate_id

SERVICE = "datamodules"
DESCRIPTION_MAX_LENGTH = 4000
CONNECTION_STRING_MAX_LENGTH = 4000
CONTRACT_MAX_LENGTH = 2_000_000
MAX_OWNERS = 50
TEST_TIMEOUT_SECONDS = 5.0
UPDATABLE = ("name", "description", "type", "contract", "connection_string")
"""The fields UpdateConnection may change (``update_mask`` paths)."""
NOT_UPDATABLE = {
    "id": "a connection's id never changes (access requests name it)",
    "owner_user_ids": "owners change through the User Manager: AddAccess with OWNER, then an "
    "owner approves it; RemoveAccess revokes",
    "created_by": "it is set at creation",
    "created_at": "it is set at creation",
    "updated_at": "it is set by every update",
    "connection_string_redacted": "it is computed from connection_string",
    "caller_access": "it is read from your grants",
    "caller_access_types": "it is read from your grants",
}
_SCHEMES = {
    ConnectionType.SQL: (
        probes.SQL_SCHEMES,
        "postgresql://user:password@host:5432/db or sqlite:////absolute/path.db",
    ),
    ConnectionType.S3: (
        (probes.S3_SCHEME,),
        "s3://[ACCESS_KEY:SECRET_KEY@]bucket[/prefix][?region=...]",
    ),
    ConnectionType.API: (probes.API_SCHEMES, "https://host/base/path"),
    ConnectionType.GRPC: (("grpc://", "grpcs://"), "grpc://host:port or grpcs://host:port"),
}


# --- validation (raise InvalidArgument naming the field; nothing has changed yet) -----


def validate_type(value: str, *, field: str = "connection.type") -> str:
    """One of the contract's connection types (UNSPECIFIED is refused, not defaulted)."""
    if value not in ConnectionType.values:
        raise InvalidArgument(
            f"{field} is required: one of {', '.join(ConnectionType.values)}", field=field
        )
    return value


def validate_connection_string(
    value: str, *, type: str, field: str = "connection.connection_string"
) -> str:  # noqa: A002
    """A connection string of the right shape for its type. The value is never quoted back."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{field} is required", field=field)
    checked_free_text(value, field=field, max_length=CONNECTION_STRING_MAX_LENGTH)
    if value != value.strip() or any(ch in value for ch in "\r\n\t"):
        raise InvalidArgument(f"{field} must be one line without surrounding spaces", field=field)
    if type == ConnectionType.FILE:
        directory = probes.file_directory(value)
        if not directory.is_absolute():
            raise InvalidArgument(
                f"{field}: a FILE connection is an absolute directory path (/data/in) or file:///data/in",
                field=field,
            )
        return value
    schemes, example = _SCHEMES[ConnectionType(type)]
    if not value.lower().startswith(schemes):
        raise InvalidArgument(
            f"{field} does not fit type {type}: it must look like {example}", field=field
        )
    try:
        if type == ConnectionType.SQL and value.startswith("sqlite:"):
            probes.sqlite_file(value)
        elif type == ConnectionType.S3:
            probes.s3_location(value)
        else:
            _ = urlsplit(value).port
    except ValueError as exc:
        raise InvalidArgument(f"{field} is malformed: {_reason(exc)}", field=field) from None
    return value


def _reason(exc: ValueError) -> str:
    """Our own shape rules say what is wrong; a URL parser's complaint may quote the value."""
    return str(exc) if isinstance(exc, probes.ShapeError) else "it does not parse as a URL"


def validate_contract(value: str, *, field: str = "connection.contract") -> str:
    """A contract is "" or the module's Croissant JSON-LD, checked by the engine's validator.

    The contract describes the module's tables (columns, types, keys, conflict strategies,
    foreign keys); where the data comes from is the task's business. So when the contract
    has no ``privetl:collectionProtocol`` (the usual case), the engine checks it with a
    placeholder script per table, and what it says about the placeholder is left out.
    Every problem is reported at once, each with its JSON path.
    """
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be text", field=field)
    if not value.strip():
        return ""
    if len(value) > CONTRACT_MAX_LENGTH:
        raise InvalidArgument(
            f"{field} is too long: {len(value)} characters, at most {CONTRACT_MAX_LENGTH}",
            field=field,
        )
    try:
        document = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"{field} is not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}", field=field
        ) from None
    problems = _contract_problems(document)
    if problems:
        listed = "; ".join(problems[:50])
        more = f" (and {len(problems) - 50} more)" if len(problems) > 50 else ""
        raise InvalidArgument(
            f"{field} is not a valid data module contract ({len(problems)} problem"
            f"{'' if len(problems) == 1 else 's'}): {listed}{more}",
            field=field,
        )
    return value


_PLACEHOLDER = "privetl:collectionProtocol"


def _contract_problems(document: Any) -> list[str]:
    if not isinstance(document, dict) or _PLACEHOLDER in document:
        return [str(p) for p in validate_document(document)]
    records = document.get("recordSet")
    tables = [
        str(record.get("name") or record.get("@id"))
        for record in (records if isinstance(records, list) else [])
        if isinstance(record, dict) and (record.get("name") or record.get("@id"))
    ]
    checked = {
        **document,
        _PLACEHOLDER: [
            {
                "id": f"contract_check_{position}",
                "table": table,
                "source": {"kind": "file", "path": "contract-check.csv", "format": "csv"},
            }
            for position, table in enumerate(tables)
        ],
    }
    return [
        str(p) for p in validate_document(checked) if not p.path.startswith(f"$.{_PLACEHOLDER}")
    ]


def _validate_owner_ids(values: Iterable[str]) -> list[str]:
    owners = list(values)
    if len(owners) > MAX_OWNERS:
        raise InvalidArgument(
            f"connection.owner_user_ids: at most {MAX_OWNERS} owners, not {len(owners)}",
            field="connection.owner_user_ids",
        )
    for owner in owners:
        validate_id(owner, field="connection.owner_user_ids")
    return owners


# --- audit snapshots (never the connection string; its redacted form's host part only) -


def _snapshot(connection: Connection) -> dict[str, Any]:
    return {
        "id": connection.id,
        "name": connection.name,
        "description": connection.description,
        "type": connection.type,
        "contract_sha256": hashlib.sha256(connection.contract.encode()).hexdigest()
        if connection.contract
        else None,
        "redacted_location": connection.connection_string_redacted,
    }


# --- writes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionCreated:
    """What CreateConnection answers: the id (chosen or generated) and the owners made."""

    connection_id: str
    owner_user_ids: list[str]


def _require_owner(actor: Actor, connection_id: str, what: str) -> None:
    if not user_is_module_owner(actor.user_id, connection_id):
        raise PermissionDenied(
            f"only an OWNER of connection {connection_id!r} may {what}; ask one of its owners "
            "for OWNER access (AddAccess)"
        )


@transaction.atomic
def connection_create(
    *,
    actor: Actor,
    name: str,
    type: str,  # noqa: A002 - the contract's field name
    connection_string: str,
    id: str = "",  # noqa: A002
    description: str = "",
    contract: str = "",
    owner_user_ids: Iterable[str] = (),
) -> ConnectionCreated:
    """CreateConnection (role CREATE_EXT_DATAMODULE): a new connection, owned by its creator
    and the listed owners through OWNER grants made in this same transaction.

    An id that access records already name (a module from before connections existed) may
    become a connection only by one of its current owners, or while it has none.
    """
    connection_id = id or uuid.uuid4().hex
    validate_id(connection_id, field="connection.id")
    name = checked_display_name(name, field="connection.name", max_length=NAME_MAX_LENGTH)
    checked_free_text(
        description, field="connection.description", max_length=DESCRIPTION_MAX_LENGTH
    )
    validate_type(type)
    validate_connection_string(connection_string, type=type)
    contract = validate_contract(contract)
    owners = sorted({actor.user_id, *_validate_owner_ids(owner_user_ids)})
    connection_creation_check(actor=actor)
    if Connection.objects.filter(pk=connection_id).exists():
        raise AlreadyExists(f"connection {connection_id!r} already exists", field="connection.id")
    if (
        module_has_access_records(connection_id)
        and not user_is_module_owner(actor.user_id, connection_id)
        and module_has_owner(connection_id)
    ):
        raise PermissionDenied(
            f"module {connection_id!r} already has owners: only one of them may create its "
            "connection; choose another id"
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            connection = Connection.objects.create(
                id=connection_id,
                name=name,
                description=description,
                type=type,
                contract=contract,
                connection_string_ciphertext=crypto.encrypted(connection_string),
                connection_string_redacted=redact_connection_string(connection_string),
                created_by=actor.user_id,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # a concurrent create won the race
        raise AlreadyExists(
            f"connection {connection_id!r} already exists", field="connection.id"
        ) from None
    audit_record(
        actor=actor,
        service=SERVICE,
        action="connection.create",
        target_type="connection",
        target_id=connection_id,
        after={**_snapshot(connection), "owner_user_ids": owners},
    )
    new_owners = [uid for uid in owners if not user_is_module_owner(uid, connection_id)]
    access_grant_owner_on_creation(
        actor=actor, ext_datamodule_id=connection_id, user_ids=new_owners
    )
    transaction.on_commit(
        partial(notifications.connection_created, connection_id=connection_id, by=actor.user_id)
    )
    return ConnectionCreated(connection_id=connection_id, owner_user_ids=owners)


def update_paths(update_mask: Iterable[str], given: dict[str, Any]) -> list[str]:
    """The fields an update changes: the mask's paths (each checked), or — for an empty mask —
    every updatable field that was sent with a value. proto3 cannot tell an unset field from
    an empty one, so an empty mask never clears anything: to clear a description or a
    contract, name it in the mask."""
    paths = [p.strip() for p in update_mask if p.strip()]
    if not paths:
        sent = [p for p in UPDATABLE if given.get(p)]
        if not sent:
            raise InvalidArgument(
                "nothing to update: send the fields to change, or name them in update_mask",
                field="update_mask",
            )
        return sent
    for path in paths:
        bare = path.removeprefix("connection.")
        if bare in NOT_UPDATABLE:
            raise InvalidArgument(
                f"update_mask: {path!r} cannot be updated: {NOT_UPDATABLE[bare]}",
                field="update_mask",
            )
        if bare not in UPDATABLE:
            raise InvalidArgument(
                f"update_mask: {path!r} is not a field of a connection; use {', '.join(UPDATABLE)}",
                field="update_mask",
            )
    return sorted({p.removeprefix("connection.") for p in paths}, key=UPDATABLE.index)


@transaction.atomic
def connection_update(
    *,
    actor: Actor,
    connection_id: str,
    update_mask: Iterable[str] = (),
    name: str = "",
    description: str = "",
    type: str = "",  # noqa: A002
    contract: str = "",
    connection_string: str = "",
) -> ConnectionView:
    """UpdateConnection (its OWNERs only): change the fields ``update_mask`` names.

    A new type needs a new connection string in the same update (the stored one was checked
    for the old type). The other owners are told by e-mail after the commit what changed
    (field names, never values). An update that changes nothing is still audited.
    """
    validate_id(connection_id, field="connection.id")
    given = {
        "name": name,
        "description": description,
        "type": type,
        "contract": contract,
        "connection_string": connection_string,
    }
    paths = update_paths(update_mask, given)
    if "name" in paths:
        given["name"] = checked_display_name(
            name, field="connection.name", max_length=NAME_MAX_LENGTH
        )
    if "description" in paths:
        checked_free_text(
            description, field="connection.description", max_length=DESCRIPTION_MAX_LENGTH
        )
    if "contract" in paths:
        given["contract"] = validate_contract(contract)
    try:
        connection = Connection.objects.select_for_update().get(pk=connection_id)
    except Connection.DoesNotExist:
        raise NotFound(
            f"connection {connection_id!r} does not exist", field="connection.id"
        ) from None
    if "type" in paths:
        validate_type(type)
        if type != connection.type and "connection_string" not in paths:
            raise InvalidArgument(
                "changing connection.type needs a new connection.connection_string in the same "
                "update (add it to update_mask)",
                field="connection.connection_string",
            )
    if "connection_string" in paths:
        validate_connection_string(
            connection_string, type=type if "type" in paths else connection.type
        )
    _require_owner(actor, connection_id, "change it")
    before = _snapshot(connection)
    changed: list[str] = []
    for field in ("name", "description", "type", "contract"):
        if field in paths and getattr(connection, field) != given[field]:
            setattr(connection, field, given[field])
            changed.append(field)
    if "connection_string" in paths:
        connection.connection_string_ciphertext = crypto.encrypted(connection_string)
        connection.connection_string_redacted = redact_connection_string(connection_string)
        changed.append("connection_string")
    connection.updated_at = timezone.now()
    connection.save(
        update_fields=[
            *(f for f in changed if f != "connection_string"),
            *(
                ["connection_string_ciphertext", "connection_string_redacted"]
                if "connection_string" in changed
                else []
            ),
            "updated_at",
        ]
    )
    audit_record(
        actor=actor,
        service=SERVICE,
        action="connection.update",
        target_type="connection",
        target_id=connection_id,
        before=before,
        after={**_snapshot(connection), "changed": changed},
    )
    if changed:
        transaction.on_commit(
            partial(
                notifications.connection_updated,
                connection_id=connection_id,
                by=actor.user_id,
                changed=tuple(changed),
            )
        )
    return connection_get_for_actor(actor=actor, connection_id=connection_id)


@dataclass(frozen=True)
class ConnectionTest:
    """TestConnection's answer: whether the connection opened, and a message without secrets."""

    connection_id: str
    ok: bool
    message: str
    duration_ms: int
    tested_at: dt.datetime


def connection_test(
    *, actor: Actor, connection_id: str, timeout_seconds: float = TEST_TIMEOUT_SECONDS
) -> ConnectionTest:
    """TestConnection (an OWNER or a READ holder): open the connection once, with a timeout.

    Not one transaction on purpose: the probe may wait ``timeout_seconds`` on the far side,
    and the audit record (written by ``_connection_test_record``, in its own transaction
    like every record) must not hold the audit chain's lock that long. A failed probe is a
    normal answer (``ok`` false, the error without the secret), audited as "failed".
    """
    validate_id(connection_id, field="connection_id")
    if not 0 < timeout_seconds <= 30:
        raise InvalidArgument(
            "timeout_seconds must be more than 0 and at most 30", field="timeout_seconds"
        )
    view = connection_get_for_actor(actor=actor, connection_id=connection_id)
    if not {"OWNER", "READ"} & caller_access_types(actor=actor, connection_id=connection_id):
        raise PermissionDenied(
            f"testing connection {connection_id!r} needs OWNER or READ access on it; ask its "
            "owners (AddAccess)"
        )
    if view.type not in probes.PROBES:
        raise FailedPrecondition(
            f"testing a {view.type} connection is not supported yet: privetl has no {view.type} "
            "extractor (use SQL, S3, API or FILE)"
        )
    try:
        secret = connection_secret_for_run(connection_id)
    except crypto.UndecryptableSecret as exc:
        raise FailedPrecondition(str(exc)) from None
    outcome = probes.probe(type=view.type, secret=secret, timeout=timeout_seconds)
    return _connection_test_record(actor=actor, connection_id=connection_id, outcome=outcome)


@transaction.atomic
def _connection_test_record(
    *, actor: Actor, connection_id: str, outcome: probes.ProbeOutcome
) -> ConnectionTest:
    audit_record(
        actor=actor,
        service=SERVICE,
        action="connection.test",
        target_type="connection",
        target_id=connection_id,
        outcome="success" if outcome.ok else "failed",
        detail=outcome.message,
    )
    return ConnectionTest(
        connection_id=connection_id,
        ok=outcome.ok,
        message=outcome.message,
        duration_ms=outcome.duration_ms,
        tested_at=timezone.now(),
    )


@transaction.atomic
def connection_keys_rotate(*, actor: Actor) -> int:
    """``privetl rotate-connection-key``: re-encrypt every connection string under the first
    key of ``PRIVETL_CONNECTION_KEYS``; returns how many. All or none: one undecryptable
    string stops the rotation with nothing changed. Audited with the count only."""
    if not actor.is_admin:
        raise PermissionDenied("only an ADMIN (or the platform) may rotate connection keys")
    count = 0
    for connection in (
        Connection.objects.select_for_update()
        .order_by("id")
        .only("id", "connection_string_ciphertext")
    ):
        try:
            connection.connection_string_ciphertext = crypto.rotated(
                connection.connection_string_ciphertext
            )
        except crypto.UndecryptableSecret as exc:
            raise FailedPrecondition(f"connection {connection.id!r}: {exc}") from None
        connection.save(update_fields=["connection_string_ciphertext"])
        count += 1
    audit_record(
        actor=actor,
        service=SERVICE,
        action="connection.rotate_keys",
        target_type="connection",
        target_id="*",
        after={"reencrypted": count},
    )
    return count
