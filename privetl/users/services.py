"""The only writers of the User Manager.

Every function here is keyword-only, typed, one ``@transaction.atomic`` unit, checks the
actor's right to do what it does, and writes its audit record (``service="users"``) in
the same transaction as the change. E-mail goes out only after the commit
(``transaction.on_commit``), so a rolled-back change never notifies anybody.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from privetl.audit.services import audit_record
from privetl.common.context import SYSTEM, Actor
from privetl.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from privetl.common.text import ID_PATTERN as ID_PATTERN  # the one id rule, re-exported
from privetl.common.text import ID_RULE as ID_RULE
from privetl.common.text import (
    checked_display_name,
    checked_free_text,
    checked_id,
)
from privetl.users import notifications
from privetl.users.models import (
    ID_MAX_LENGTH,
    NAME_MAX_LENGTH,
    AccessRequest,
    AccessState,
    AccessType,
    ExternalIdentity,
    LoginEvent,
    LoginRefusal,
    Role,
    User,
    UserRole,
)
from privetl.users.selectors import (
    AccessRequestView,
    UserSummary,
    access_request_effective_state,
    access_request_view,
    access_requests_matching,
    may_see_access_request,
    module_has_access_records,
    module_has_owner,
    module_is_catalogued,
    principal_for,
    user_is_module_owner,
    user_summary,
)

SERVICE = "users"
REASON_MAX_LENGTH = 2000
BLOCK_REASON_MAX_LENGTH = 500


# --- validation (raise InvalidArgument naming the field; nothing has changed yet) -----


def validate_id(value: str, *, field: str) -> str:
    """Ids are short, printable and URL-safe, because they travel in paths, tokens and logs
    (the rule, ``ID_RULE``, is ``privetl.common.text``'s: the REST door states it too)."""
    return checked_id(value, field=field)


def validate_name(value: str, *, field: str = "name") -> str:
    """A display name: 1..200 visible characters, no control or bidi characters."""
    return checked_display_name(value, field=field, max_length=NAME_MAX_LENGTH)


def validate_optional_email(value: str | None, *, field: str = "email") -> str:
    """An optional e-mail address (empty means "none"): where notifications go."""
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise InvalidArgument(f"{field} is not a valid e-mail address", field=field) from None
    return value


def validate_role(value: str, *, field: str = "role") -> str:
    """A role name of the contract's ``UserRole`` enum (plus ADMIN)."""
    if value not in Role.values:
        raise InvalidArgument(
            f"{field} {value!r} is not a role: use one of {', '.join(Role.values)}", field=field
        )
    return value


def validate_access_types(values: Iterable[str], *, field: str = "access.access_types") -> set[str]:
    """At least one of READ/WRITE/OWNER; anything else is refused, not ignored."""
    result: set[str] = set()
    for value in values:
        if value not in AccessType.values:
            raise InvalidArgument(
                f"{field}: {value!r} is not an access type; use READ, WRITE or OWNER", field=field
            )
        result.add(value)
    if not result:
        raise InvalidArgument(f"{field} needs at least one of READ, WRITE, OWNER", field=field)
    return result


def _require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"only an ADMIN may {what}")


def _get_user_for_update(user_id: str, *, field: str = "user_id") -> User:
    try:
        return User.objects.select_for_update().get(pk=user_id)
    except User.DoesNotExist:
        raise NotFound(f"user {user_id!r} does not exist", field=field) from None


# --- audit snapshots (no secrets; e-mail is personal data and only noted as present) --


def _user_snapshot(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email_set": bool(user.email),
        "blocked": user.blocked,
        "blocked_reason": user.blocked_reason,
        "roles": sorted(user.role_assignments.values_list("role", flat=True)),
    }


def _request_snapshot(request: AccessRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "user_id": request.user_id,
        "ext_datamodule_id": request.ext_datamodule_id,
        "access_types": request.access_types,
        "state": str(request.state),
        "expires_at": request.expires_at.isoformat() if request.expires_at else None,
        "decided_by": request.decided_by or None,
        "decision_note": request.decision_note or None,
    }


# --- users ----------------------------------------------------------------------------


@transaction.atomic
def user_create(*, actor: Actor, id: str, name: str, email: str | None = None) -> UserSummary:
    """CreateUser (ADMIN): a new user with a caller-chosen id; a taken id is ALREADY_EXISTS."""
    validate_id(id, field="id")
    name = validate_name(name)
    email = validate_optional_email(email)
    _require_admin(actor, "create users")
    if User.objects.filter(pk=id).exists():
        raise AlreadyExists(f"user {id!r} already exists", field="id")
    try:
        with transaction.atomic():
            user = User.objects.create(id=id, name=name, email=email)
    except IntegrityError:  # a concurrent create won the race
        raise AlreadyExists(f"user {id!r} already exists", field="id") from None
    audit_record(
        actor=actor,
        service=SERVICE,
        action="user.create",
        target_type="user",
        target_id=id,
        after=_user_snapshot(user),
    )
    return user_summary(actor=actor, user=user, roles=[])


def _id_from_claims(issuer: str, subject: str, claims: dict[str, Any]) -> str:
    """The new user's id, derived from the claims and never an id that is already taken.

    In order: ``preferred_username``; ``<issuer-host>:<sub>``; ``<issuer-host>:<digest of
    issuer and sub>``. An existing account is never taken over by a matching claim — not
    by a username an IdP lets people choose, nor by a second issuer on the same host.
    """
    host = urlparse(issuer).hostname or issuer
    safe_host = re.sub(r"[^A-Za-z0-9.-]", "-", host)[: ID_MAX_LENGTH - 25]
    digest = hashlib.sha256(f"{issuer}\0{subject}".encode()).hexdigest()[:24]
    preferred = claims.get("preferred_username")
    candidates = [
        preferred if isinstance(preferred, str) else "",
        f"{host}:{subject}",
        f"{safe_host}:{digest}",
    ]
    for candidate in candidates:
        if ID_PATTERN.fullmatch(candidate) and not User.objects.filter(pk=candidate).exists():
            return candidate
    raise FailedPrecondition(
        f"no free user id for this SSO identity (tried {len(candidates)}); ask an administrator"
    )


@transaction.atomic
def user_provision_from_claims(*, issuer: str, subject: str, claims: dict[str, Any]) -> str:
    """First SSO login creates the user and links the identity; later logins return the same id.

    Called by authentication with already-verified claims, acting as the system. Two
    concurrent first logins of the same person end with one user: the loser of the race
    reads the winner's link.
    """
    if not issuer or not subject:
        raise InvalidArgument("an SSO identity needs both issuer and subject", field="sub")
    existing = (
        ExternalIdentity.objects.filter(issuer=issuer, subject=subject)
        .values_list("user_id", flat=True)
        .first()
    )
    if existing:
        return existing
    user_id = _id_from_claims(issuer, subject, claims)
    raw_name = claims.get("name") or claims.get("preferred_username") or subject
    name = " ".join(str(raw_name).split())[:NAME_MAX_LENGTH] or user_id
    email = claims.get("email") if claims.get("email_verified", True) is not False else ""
    try:
        email = validate_optional_email(email if isinstance(email, str) else "")
    except InvalidArgument:
        email = ""
    try:
        with transaction.atomic():
            user = User.objects.create(id=user_id, name=name, email=email)
            ExternalIdentity.objects.create(issuer=issuer, subject=subject, user=user)
    except IntegrityError:
        linked = (
            ExternalIdentity.objects.filter(issuer=issuer, subject=subject)
            .values_list("user_id", flat=True)
            .first()
        )
        if linked:
            return linked
        raise FailedPrecondition("a concurrent sign-up took this user id; sign in again") from None
    audit_record(
        actor=SYSTEM,
        service=SERVICE,
        action="user.provision",
        target_type="user",
        target_id=user.id,
        after={**_user_snapshot(user), "issuer": issuer, "subject": subject},
        detail="first SSO login",
    )
    return user.id


@transaction.atomic
def login_record(
    *, user_id: str, issuer: str, address: str | None, door: str, success: bool, reason: str = ""
) -> None:
    """Append one login attempt to the history (the history is itself the record: not audited twice)."""
    LoginEvent.objects.create(
        user_id=(user_id or "")[:ID_MAX_LENGTH],
        issuer=(issuer or "")[:255],
        address=(address or "")[:255],
        door=(door or "")[:16],
        success=success,
        reason=(reason or "")[:200],
    )


@dataclass(frozen=True)
class RoleChange:
    """What AddRole/RemoveRole did: whether anything changed, and the roles held now."""

    changed: bool
    roles: list[str]


@transaction.atomic
def user_role_add(*, actor: Actor, user_id: str, role: str) -> RoleChange:
    """AddRole (ADMIN). Adding a held role changes nothing but is still audited."""
    validate_id(user_id, field="user_id")
    validate_role(role)
    _require_admin(actor, "change roles")
    user = _get_user_for_update(user_id)
    before = _user_snapshot(user)
    _, created = UserRole.objects.get_or_create(
        user=user, role=role, defaults={"granted_by": actor.user_id}
    )
    after = _user_snapshot(user)
    audit_record(
        actor=actor,
        service=SERVICE,
        action="user.role_add",
        target_type="user",
        target_id=user_id,
        before=before,
        after=after,
        detail="" if created else f"already held {role}",
    )
    return RoleChange(changed=created, roles=after["roles"])


@transaction.atomic
def user_role_remove(*, actor: Actor, user_id: str, role: str) -> RoleChange:
    """RemoveRole (ADMIN). The last ADMIN cannot lose the role (nobody could manage users after)."""
    validate_id(user_id, field="user_id")
    validate_role(role)
    _require_admin(actor, "change roles")
    user = _get_user_for_update(user_id)
    before = _user_snapshot(user)
    if role == Role.ADMIN and UserRole.objects.filter(user=user, role=Role.ADMIN).exists():
        admins = UserRole.objects.select_for_update().filter(role=Role.ADMIN, user__blocked=False)
        if admins.exclude(user=user).count() == 0:
            raise FailedPrecondition(
                f"{user_id!r} is the last ADMIN; make someone else ADMIN first"
            )
    deleted, _ = UserRole.objects.filter(user=user, role=role).delete()
    after = _user_snapshot(user)
    audit_record(
        actor=actor,
        service=SERVICE,
        action="user.role_remove",
        target_type="user",
        target_id=user_id,
        before=before,
        after=after,
        detail="" if deleted else f"did not hold {role}",
    )
    return RoleChange(changed=bool(deleted), roles=after["roles"])


@transaction.atomic
def user_block(*, actor: Actor, user_id: str, reason: str = "") -> UserSummary:
    """BlockUser (ADMIN): the user's tokens stop working at once (checked on every call)."""
    validate_id(user_id, field="user_id")
    _require_admin(actor, "block users")
    if user_id in (actor.user_id, actor.impersonator_id):
        raise FailedPrecondition("you cannot block yourself")
    checked_free_text(reason, field="reason", max_length=BLOCK_REASON_MAX_LENGTH)
    user = _get_user_for_update(user_id)
    before = _user_snapshot(user)
    user.blocked, user.blocked_reason = True, reason
    user.save(update_fields=["blocked", "blocked_reason"])
    after = _user_snapshot(user)
    audit_record(
        actor=actor,
        service=SERVICE,
        action="user.block",
        target_type="user",
        target_id=user_id,
        before=before,
        after=after,
    )
    return user_summary(actor=actor, user=user, roles=after["roles"])


@transaction.atomic
def user_unblock(*, actor: Actor, user_id: str) -> UserSummary:
    """UnblockUser (ADMIN)."""
    validate_id(user_id, field="user_id")
    _require_admin(actor, "unblock users")
    user = _get_user_for_update(user_id)
    before = _user_snapshot(user)
    user.blocked, user.blocked_reason = False, ""
    user.save(update_fields=["blocked", "blocked_reason"])
    after = _user_snapshot(user)
    audit_record(
        actor=actor,
        service=SERVICE,
        action="user.unblock",
        target_type="user",
        target_id=user_id,
        before=before,
        after=after,
    )
    return user_summary(actor=actor, user=user, roles=after["roles"])


@transaction.atomic
def user_bootstrap_admin(*, id: str, name: str) -> tuple[User, bool, bool]:
    """``privetl createadmin``: create the user if needed and make them ADMIN, acting as the system.

    Returns (user, created, granted): an existing user keeps their name and just gains ADMIN.
    """
    validate_id(id, field="id")
    name = validate_name(name)
    user, created = User.objects.select_for_update().get_or_create(pk=id, defaults={"name": name})
    before = None if created else _user_snapshot(user)
    _, granted = UserRole.objects.get_or_create(
        user=user, role=Role.ADMIN, defaults={"granted_by": SYSTEM.user_id}
    )
    audit_record(
        actor=SYSTEM,
        service=SERVICE,
        action="user.bootstrap_admin",
        target_type="user",
        target_id=id,
        before=before,
        after=_user_snapshot(user),
        detail=("created" if created else "existing user")
        + ("; ADMIN granted" if granted else "; already ADMIN"),
    )
    return user, created, granted


# --- access requests ------------------------------------------------------------------


@transaction.atomic
def access_request_file(
    *,
    actor: Actor,
    user_id: str,
    ext_datamodule_id: str,
    access_types: Iterable[str],
    reason: str = "",
    expires_at: dt.datetime | None = None,
    request_id: str | None = None,
) -> AccessRequestView:
    """AddAccess: file a PENDING request and tell the module's owners (after commit).

    Only the user themself (or an ADMIN acting for them) files; nothing is granted here.
    ``request_id`` lets an old client, which cannot read the new response field, name
    the request it will later approve or withdraw.
    """
    validate_id(user_id, field="user_id")
    validate_id(ext_datamodule_id, field="access.ext_datamodule_id")
    types = validate_access_types(access_types)
    if request_id:
        validate_id(request_id, field="access.id")
    checked_free_text(reason, field="access.reason", max_length=REASON_MAX_LENGTH)
    now = timezone.now()
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            raise InvalidArgument("access.expires_at needs a time zone", field="access.expires_at")
        if expires_at <= now:
            raise InvalidArgument(
                "access.expires_at must be in the future", field="access.expires_at"
            )
    if actor.user_id != user_id and not actor.is_admin:
        raise PermissionDenied("you may request access only for yourself")
    user = _get_user_for_update(user_id)
    if user.blocked:
        raise FailedPrecondition(f"user {user_id!r} is blocked")
    if module_is_catalogued(ext_datamodule_id) is False and not module_has_access_records(
        ext_datamodule_id
    ):
        raise NotFound(
            f"external data module {ext_datamodule_id!r} does not exist: ask for access to a "
            "connection that GetAllConnection lists",
            field="access.ext_datamodule_id",
        )
    if request_id and AccessRequest.objects.filter(pk=request_id).exists():
        raise AlreadyExists(f"access request {request_id!r} already exists", field="access.id")
    duplicate = access_requests_matching(
        user_id=user_id, ext_datamodule_id=ext_datamodule_id, access_types=types
    ).filter(state=AccessState.PENDING)
    for pending in duplicate:
        if access_request_effective_state(pending, now) == AccessState.PENDING:
            raise AlreadyExists(
                f"an identical request is already pending: {pending.id!r}; withdraw it or wait for the decision",
                field="access",
            )
    try:
        with transaction.atomic():
            request = AccessRequest.objects.create(
                id=request_id or uuid.uuid4().hex,
                user=user,
                ext_datamodule_id=ext_datamodule_id,
                read=AccessType.READ in types,
                write=AccessType.WRITE in types,
                owner=AccessType.OWNER in types,
                reason=reason,
                expires_at=expires_at,
                created_at=now,
            )
    except IntegrityError:
        raise AlreadyExists(
            f"access request {request_id!r} already exists", field="access.id"
        ) from None
    audit_record(
        actor=actor,
        service=SERVICE,
        action="access_request.file",
        target_type="access_request",
        target_id=request.id,
        after=_request_snapshot(request),
    )
    transaction.on_commit(partial(notifications.request_filed, access_request_id=request.id))
    return access_request_view(request, now)


@transaction.atomic
def access_request_decide(
    *, actor: Actor, access_request_id: str, owner_user_id: str, approve: bool, note: str = ""
) -> AccessRequestView:
    """ApproveAccessRequest: an owner of the module approves or denies a pending request.

    - ``owner_user_id`` must be the authenticated caller: the contract lets a client name
      the owner, so a different name is a forgery, not a delegation.
    - Nobody decides their own request (not even an owner or admin, nor an admin
      impersonating somebody else for it).
    - An ADMIN may decide only while the module has no owner. A connection gets its first
      owners when it is created (``access_grant_owner_on_creation``), so this bootstrap is
      for modules named before connections existed ("bootstrap: module had no owner" in
      the audit detail) and for a connection whose every owner was revoked ("bootstrap:
      connection had no owner left").
    - The row is locked and updated only ``WHERE state = 'pending'``, so of two concurrent
      decisions exactly one wins; the other gets FAILED_PRECONDITION.
    """
    validate_id(access_request_id, field="access_request_id")
    if not owner_user_id:
        raise InvalidArgument(
            "owner_user_id is required: the id of the deciding owner (you)", field="owner_user_id"
        )
    checked_free_text(note, field="note", max_length=REASON_MAX_LENGTH)
    if owner_user_id != actor.user_id:
        raise PermissionDenied(
            "owner_user_id must be your own user id: you cannot decide in another owner's name"
        )
    try:
        request = AccessRequest.objects.select_for_update().get(pk=access_request_id)
    except AccessRequest.DoesNotExist:
        raise NotFound(
            f"access request {access_request_id!r} does not exist", field="access_request_id"
        ) from None
    if request.user_id in (actor.user_id, actor.impersonator_id):
        raise PermissionDenied("you cannot decide your own access request; another owner must")
    detail = ""
    if not user_is_module_owner(actor.user_id, request.ext_datamodule_id):
        if actor.is_admin and not module_has_owner(request.ext_datamodule_id):
            detail = (
                "bootstrap: connection had no owner left"
                if module_is_catalogued(request.ext_datamodule_id)
                else "bootstrap: module had no owner"
            )
        else:
            raise PermissionDenied(
                f"only an OWNER of module {request.ext_datamodule_id!r} may decide this request"
            )
    now = timezone.now()
    effective = access_request_effective_state(request, now)
    if effective != AccessState.PENDING:
        raise FailedPrecondition(
            f"access request {access_request_id!r} is {effective}, not pending: it cannot be decided again"
        )
    before = _request_snapshot(request)
    new_state = AccessState.APPROVED if approve else AccessState.DENIED
    updated = AccessRequest.objects.filter(pk=request.pk, state=AccessState.PENDING).update(
        state=new_state, decided_at=now, decided_by=actor.user_id, decision_note=note
    )
    if updated != 1:  # only reachable where row locks are not supported
        raise FailedPrecondition(f"access request {access_request_id!r} was decided meanwhile")
    request.refresh_from_db()
    audit_record(
        actor=actor,
        service=SERVICE,
        action="access_request.approve" if approve else "access_request.deny",
        target_type="access_request",
        target_id=request.id,
        before=before,
        after=_request_snapshot(request),
        detail=detail,
    )
    transaction.on_commit(partial(notifications.request_decided, access_request_id=request.id))
    return access_request_view(request, now)


@transaction.atomic
def access_grant_owner_on_creation(
    *, actor: Actor, ext_datamodule_id: str, user_ids: Iterable[str]
) -> list[AccessRequestView]:
    """OWNER grants for the creator and the listed owners of a new connection.

    Called by the ExtDatamodule Manager inside the connection's own transaction, so the
    connection and its owners commit (or roll back) together. Each grant is an APPROVED
    request like any other — revoked, listed and checked the one way — decided by the
    creator and audited as "granted by the connection's creation". The caller has already
    authorized the creation; here every user must exist and not be blocked.
    """
    validate_id(ext_datamodule_id, field="connection.id")
    wanted = sorted(set(user_ids))
    for user_id in wanted:
        validate_id(user_id, field="connection.owner_user_ids")
    users = {u.id: u for u in User.objects.select_for_update().filter(pk__in=wanted)}
    for user_id in wanted:
        if user_id not in users:
            raise NotFound(
                f"owner {user_id!r} is not a user; create the user first",
                field="connection.owner_user_ids",
            )
        if users[user_id].blocked:
            raise FailedPrecondition(
                f"owner {user_id!r} is blocked and cannot own a connection",
                field="connection.owner_user_ids",
            )
    now = timezone.now()
    grants = [
        AccessRequest(
            id=uuid.uuid4().hex,
            user=users[user_id],
            ext_datamodule_id=ext_datamodule_id,
            owner=True,
            state=AccessState.APPROVED,
            reason="owner named at the connection's creation",
            created_at=now,
            decided_at=now,
            decided_by=actor.user_id,
        )
        for user_id in wanted
    ]
    AccessRequest.objects.bulk_create(grants)
    for grant in grants:
        audit_record(
            actor=actor,
            service=SERVICE,
            action="access_request.grant",
            target_type="access_request",
            target_id=grant.id,
            after=_request_snapshot(grant),
            detail="granted by the connection's creation",
        )
    return [access_request_view(g, now) for g in grants]


@transaction.atomic
def access_request_remove(
    *,
    actor: Actor,
    user_id: str | None,
    access_request_id: str | None = None,
    ext_datamodule_id: str | None = None,
    access_types: Iterable[str] | None = None,
) -> list[AccessRequestView]:
    """RemoveAccess: withdraw a pending request or revoke a current grant.

    Identified by request id, or — for old clients that never learnt the id — by
    (user_id, ext_datamodule_id, access_types), which then acts on every pending request
    and current grant that matches exactly. A pending request may be withdrawn by its
    requester or an ADMIN (owners deny instead); a grant may be revoked by its holder,
    an OWNER of the module, or an ADMIN.
    """
    now = timezone.now()
    if user_id:
        validate_id(user_id, field="user_id")
    if access_request_id:
        validate_id(access_request_id, field="access.id")
        try:
            targets = [AccessRequest.objects.select_for_update().get(pk=access_request_id)]
        except AccessRequest.DoesNotExist:
            raise NotFound(
                f"access request {access_request_id!r} does not exist", field="access.id"
            ) from None
        if user_id and targets[0].user_id != user_id:
            raise NotFound(
                f"access request {access_request_id!r} does not belong to user {user_id!r}",
                field="access.id",
            )
    else:
        if not user_id:
            raise InvalidArgument(
                "user_id is required when the request id is not given", field="user_id"
            )
        validate_id(ext_datamodule_id or "", field="access.ext_datamodule_id")
        types = validate_access_types(access_types or [])
        if not User.objects.filter(pk=user_id).exists():
            raise NotFound(f"user {user_id!r} does not exist", field="user_id")
        matching = access_requests_matching(
            user_id=user_id, ext_datamodule_id=ext_datamodule_id or "", access_types=types
        ).select_for_update()
        targets = [
            r
            for r in matching
            if access_request_effective_state(r, now) in (AccessState.PENDING, AccessState.APPROVED)
        ]
        if not targets:
            raise NotFound(
                f"user {user_id!r} has no pending request or current grant of exactly these types on {ext_datamodule_id!r}",
                field="access",
            )
    hidden = [r for r in targets if not may_see_access_request(actor, r)]
    if hidden:
        # Answer as for an absent request: nobody learns of requests they may not see.
        raise NotFound(
            f"access request {access_request_id!r} does not exist"
            if access_request_id
            else f"user {user_id!r} has no pending request or current grant of exactly these "
            f"types on {ext_datamodule_id!r}",
            field="access.id" if access_request_id else "access",
        )
    for request in targets:
        effective = access_request_effective_state(request, now)
        is_holder = actor.user_id == request.user_id
        if effective == AccessState.PENDING:
            if not (is_holder or actor.is_admin):
                raise PermissionDenied(
                    "only the requester or an ADMIN may withdraw a pending request; owners deny it"
                )
        elif effective == AccessState.APPROVED:
            if not (
                is_holder
                or actor.is_admin
                or user_is_module_owner(actor.user_id, request.ext_datamodule_id)
            ):
                raise PermissionDenied(
                    f"only the holder, an OWNER of module {request.ext_datamodule_id!r} or an ADMIN may revoke this grant"
                )
        else:
            raise FailedPrecondition(
                f"access request {request.id!r} is {effective}: nothing to withdraw or revoke"
            )
    for request in targets:
        before = _request_snapshot(request)
        pending = access_request_effective_state(request, now) == AccessState.PENDING
        new_state = AccessState.WITHDRAWN if pending else AccessState.REVOKED
        updated = AccessRequest.objects.filter(pk=request.pk, state=request.state).update(
            state=new_state, decided_at=now, decided_by=actor.user_id
        )
        if updated != 1:
            raise FailedPrecondition(
                f"access request {request.id!r} changed meanwhile; read it again"
            )
        request.refresh_from_db()
        audit_record(
            actor=actor,
            service=SERVICE,
            action="access_request.withdraw" if pending else "access_request.revoke",
            target_type="access_request",
            target_id=request.id,
            before=before,
            after=_request_snapshot(request),
        )
    return [access_request_view(r, now) for r in targets]


# --- tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenGrant:
    """Who a token about to be issued is for, checked and recorded: the issuer signs this."""

    user_id: str
    impersonator_id: str | None
    ttl_seconds: int | None
    jti: str


@transaction.atomic
def token_issue_record(
    *,
    actor: Actor,
    user_id: str,
    impersonator_id: str | None = None,
    ttl_seconds: int | None = None,
) -> TokenGrant:
    """``privetl token``: check who the token may be for, and audit that it was issued.

    The impersonation rule is authentication's own (``selectors.principal_for``), so a
    token is never issued that authentication would refuse. The record names who issued
    it, for whom, the impersonating admin, the lifetime and the token id (``jti``), never
    the token text.
    """
    validate_id(user_id, field="user_id")
    if impersonator_id:
        validate_id(impersonator_id, field="impersonator_id")
    if ttl_seconds is not None and ttl_seconds <= 0:
        raise InvalidArgument(
            "ttl_seconds must be a positive number of seconds", field="ttl_seconds"
        )
    principal = principal_for(user_id=user_id, impersonator_id=impersonator_id)
    grant = TokenGrant(
        user_id=principal.subject.user_id,
        impersonator_id=principal.impersonator.user_id if principal.impersonator else None,
        ttl_seconds=ttl_seconds,
        jti=uuid.uuid4().hex,
    )
    audit_record(
        actor=actor,
        service=SERVICE,
        action="token.issue",
        target_type="user",
        target_id=grant.user_id,
        after={
            "user_id": grant.user_id,
            "impersonator_id": grant.impersonator_id,
            "ttl_seconds": grant.ttl_seconds,
            "jti": grant.jti,
        },
        detail="impersonation" if grant.impersonator_id else "",
    )
    return grant


@transaction.atomic
def impersonation_begin(*, actor: Actor, user_id: str) -> Actor:
    """An admin starts acting as ``user_id`` in the web UI: the actor of the session from now.

    The rule is authentication's own (``selectors.principal_for``): only an ADMIN who is not
    already acting as somebody, and only as an existing, unblocked user. The record names the
    admin (actor) and the user; every record made while acting names both (``Actor``).
    """
    validate_id(user_id, field="user_id")
    if actor.impersonator_id:
        raise FailedPrecondition(
            f"you are acting as {actor.user_id!r}; stop acting as them before acting as another user"
        )
    principal = principal_for(user_id=user_id, impersonator_id=actor.user_id)
    if principal.impersonator is None:
        raise InvalidArgument("acting as yourself is no impersonation", field="user_id")
    acting = Actor(
        user_id=principal.subject.user_id,
        roles=frozenset(principal.subject.roles),
        impersonator_id=principal.impersonator.user_id,
        address=actor.address,
        request_id=actor.request_id,
        door=actor.door,
    )
    audit_record(
        actor=acting,
        service=SERVICE,
        action="user.impersonation_begin",
        target_type="user",
        target_id=acting.user_id,
        after={"user_id": acting.user_id, "impersonator_id": acting.impersonator_id},
        detail="impersonation",
    )
    return acting


@transaction.atomic
def impersonation_end(*, actor: Actor) -> None:
    """The admin stops acting as the session's user (audited under both names)."""
    if not actor.impersonator_id:
        raise FailedPrecondition("you are not acting as another user")
    audit_record(
        actor=actor,
        service=SERVICE,
        action="user.impersonation_end",
        target_type="user",
        target_id=actor.user_id,
        before={"user_id": actor.user_id, "impersonator_id": actor.impersonator_id},
        detail="impersonation",
    )


# --- refused authentications that identified nobody --------------------------------------


def _refusal_address(host: str | None) -> str:
    """The address a refusal is counted under: the host, an IPv6 host's /64 network.

    An IPv6 client typically holds a whole /64, so counting per address would let it
    spread a flood over 2**64 rows.
    """
    text = (host or "").strip().strip("[]")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text[:255]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@transaction.atomic
def login_refusal_record(*, host: str | None, reason: str, at: dt.datetime | None = None) -> None:
    """Count one refused authentication that identified nobody (``LoginRefusal``).

    Not audited and not under the audit chain's lock: one UPDATE of the (address, minute,
    reason) row, or its INSERT for the first refusal of the minute. ``reason`` must be one
    of the platform's fixed phrases, never the caller's text.
    """
    now = at or timezone.now()
    key = {
        "address": _refusal_address(host),
        "minute": now.replace(second=0, microsecond=0),
        "reason": (reason or "refused")[:64],
    }
    counted = LoginRefusal.objects.filter(**key)
    if counted.update(count=F("count") + 1, last_at=now):
        return
    _, created = LoginRefusal.objects.get_or_create(**key, defaults={"count": 1, "last_at": now})
    if not created:  # a concurrent first refusal of the minute inserted the row
        counted.update(count=F("count") + 1, last_at=now)
