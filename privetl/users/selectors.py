"""Readers of the User Manager, each scoped by who is asking.

Permission rules live here (and only here), so every door asks the same question the
same way: "may this actor see/decide/withdraw this?" Views and servicers never call
``Model.objects.get`` for a user-scoped object.

Effective state: an approved request whose ``expires_at`` has passed is a grant no
longer — it is read as ``expired`` everywhere, compared with the clock at read time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from privetl.common.context import Actor
from privetl.common.errors import NotFound, PermissionDenied, Unauthenticated
from privetl.users.models import AccessRequest, AccessState, LoginEvent, User, UserRole

ADMIN = "ADMIN"


@dataclass(frozen=True)
class AuthSubject:
    """What authentication needs to know about a user: who, which roles, blocked or not."""

    user_id: str
    roles: frozenset[str]
    blocked: bool


def user_get_for_auth(user_id: str) -> AuthSubject:
    """The subject a token names, read fresh on every call so blocking and role changes bite at once.

    One query (the user left-joined with its roles: a row per role, or one row with no
    role), since it runs before every authenticated call on every door.
    Raises ``NotFound`` for an unknown id (the door turns that into UNAUTHENTICATED).
    """
    rows = list(
        User.objects.filter(pk=user_id)
        .order_by()
        .values_list("id", "blocked", "role_assignments__role")
    )
    if not rows:
        raise NotFound(f"user {user_id!r} does not exist", field="user_id")
    roles = frozenset(role for _, _, role in rows if role is not None)
    return AuthSubject(user_id=rows[0][0], roles=roles, blocked=rows[0][1])


@dataclass(frozen=True)
class Principal:
    """Whom a call (or a token) acts as, and the admin behind it when impersonating."""

    subject: AuthSubject
    impersonator: AuthSubject | None = None


def principal_for(*, user_id: str, impersonator_id: str | None = None) -> Principal:
    """The one rule of who may act as whom, for authentication and ``privetl token`` alike.

    Without ``impersonator_id``: ``user_id`` must exist and not be blocked. With it: the
    impersonator must exist, not be blocked and hold ADMIN, and the impersonated user must
    exist and not be blocked. Acting as oneself is no impersonation.

    Raises ``Unauthenticated`` when the user who authenticates (the impersonator, or the
    user) is unknown or blocked, and ``PermissionDenied`` when the impersonation is refused.
    """
    if impersonator_id == user_id:
        impersonator_id = None
    authenticating = _known_subject(impersonator_id or user_id)
    if authenticating.blocked:
        raise Unauthenticated(
            f"user {authenticating.user_id!r} is blocked; ask an admin to unblock it"
        )
    if impersonator_id is None:
        return Principal(subject=authenticating)
    if ADMIN not in authenticating.roles:
        raise PermissionDenied(
            f"only an ADMIN may act as another user; {impersonator_id!r} is not one"
        )
    try:
        target = user_get_for_auth(user_id)
    except NotFound:
        raise PermissionDenied(f"cannot act as {user_id!r}: no such user") from None
    if target.blocked:
        raise PermissionDenied(f"cannot act as {user_id!r}: the user is blocked")
    return Principal(subject=target, impersonator=authenticating)


def _known_subject(user_id: str) -> AuthSubject:
    try:
        return user_get_for_auth(user_id)
    except NotFound:
        raise Unauthenticated(
            f"user {user_id!r} does not exist here; ask an admin to create it"
        ) from None


# --- grants and effective state -------------------------------------------------------


def _now() -> dt.datetime:
    return timezone.now()


def grants_current_q(now: dt.datetime | None = None) -> Q:
    """The filter "approved and not expired": the one definition of a current grant."""
    now = now or _now()
    return Q(state=AccessState.APPROVED) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def access_request_effective_state(request: AccessRequest, now: dt.datetime | None = None) -> str:
    """The state a caller sees: an approved or still-pending request past its expiry is ``expired``."""
    now = now or _now()
    if (
        request.state in (AccessState.APPROVED, AccessState.PENDING)
        and request.expires_at is not None
        and request.expires_at <= now
    ):
        return AccessState.EXPIRED.value
    return str(request.state)


def module_owner_ids(ext_datamodule_id: str) -> list[str]:
    """Ids of users who currently hold OWNER on the module (approved, not expired)."""
    return list(
        AccessRequest.objects.filter(
            grants_current_q(), ext_datamodule_id=ext_datamodule_id, owner=True
        )
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )


def module_has_owner(ext_datamodule_id: str) -> bool:
    """True when anyone currently owns the module (decides whether the admin bootstrap applies)."""
    return AccessRequest.objects.filter(
        grants_current_q(), ext_datamodule_id=ext_datamodule_id, owner=True
    ).exists()


def user_is_module_owner(user_id: str, ext_datamodule_id: str) -> bool:
    """True when ``user_id`` currently holds OWNER on the module."""
    return AccessRequest.objects.filter(
        grants_current_q(), ext_datamodule_id=ext_datamodule_id, owner=True, user_id=user_id
    ).exists()


def user_owned_module_ids(user_id: str) -> set[str]:
    """Modules the user currently owns (for "pending requests I can decide")."""
    return set(
        AccessRequest.objects.filter(grants_current_q(), user_id=user_id, owner=True).values_list(
            "ext_datamodule_id", flat=True
        )
    )


def user_current_grants(user_id: str) -> list[AccessRequest]:
    """The user's effective grants — what other services check rights against."""
    return list(AccessRequest.objects.filter(grants_current_q(), user_id=user_id))


# --- users ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UserView:
    """A user as shown to a caller: roles, current grants, and every other request apart."""

    user: User
    roles: list[str]
    grants: list[AccessRequest]
    other_requests: list[AccessRequest]
    now: dt.datetime


def _may_see_user(actor: Actor, user_id: str) -> bool:
    """Self, an admin, or an owner of a module the user asked for access to.

    The owner rule exists because deciding a request needs to know who is asking
    (use case "Approve External Datamodule Access", step 3: GetUser).
    """
    if actor.user_id == user_id or actor.is_admin:
        return True
    owned = user_owned_module_ids(actor.user_id)
    return (
        bool(owned)
        and AccessRequest.objects.filter(user_id=user_id, ext_datamodule_id__in=owned).exists()
    )


def user_get_for_actor(*, actor: Actor, user_id: str) -> UserView:
    """GetUser: the user with roles, current grants (field 4) and all other requests (field 5).

    A caller who may not see the user gets NOT_FOUND only if the user does not exist, and
    PERMISSION_DENIED otherwise — the id space is not secret (ids are chosen by callers).
    """
    try:
        user = User.objects.get(pk=user_id)
    except User.DoesNotExist:
        raise NotFound(f"user {user_id!r} does not exist", field="id") from None
    if not _may_see_user(actor, user_id):
        raise PermissionDenied(
            "you may see only yourself, users who asked for access to a module you own, or (as ADMIN) anyone"
        )
    return _user_view(user)


def _user_view(user: User) -> UserView:
    """Roles and requests of a loaded user: two flat queries, whatever the data."""
    now = _now()
    roles = sorted(
        UserRole.objects.filter(user_id=user.id).order_by().values_list("role", flat=True)
    )
    grants: list[AccessRequest] = []
    others: list[AccessRequest] = []
    for request in AccessRequest.objects.filter(user=user).order_by("created_at", "id"):
        if access_request_effective_state(request, now) == AccessState.APPROVED:
            grants.append(request)
        else:
            others.append(request)
    return UserView(user=user, roles=roles, grants=grants, other_requests=others, now=now)


def user_list_for_actor(
    *, actor: Actor, limit: int = 100, after: str = "", include_blocked: bool = True
) -> list[User]:
    """ListUsers (ADMIN only): users ordered by id, keyset-paged by ``after``."""
    if not actor.is_admin:
        raise PermissionDenied("only an ADMIN may list users")
    users = User.objects.filter(pk__gt=after)
    if not include_blocked:
        users = users.filter(blocked=False)
    return list(users.order_by("id")[: max(1, min(limit, 1000))])


def user_roles_map(user_ids: list[str]) -> dict[str, list[str]]:
    """Roles of many users in one query (no N+1 in ListUsers)."""
    result: dict[str, list[str]] = {uid: [] for uid in user_ids}
    for uid, role in UserRole.objects.filter(user_id__in=user_ids).values_list("user_id", "role"):
        result[uid].append(role)
    return {uid: sorted(roles) for uid, roles in result.items()}


# --- access requests ------------------------------------------------------------------


def access_request_get_for_actor(*, actor: Actor, access_request_id: str) -> AccessRequest:
    """GetAccessRequest: the requester, owners of its module, and admins may read it."""
    try:
        request = AccessRequest.objects.get(pk=access_request_id)
    except AccessRequest.DoesNotExist:
        raise NotFound(
            f"access request {access_request_id!r} does not exist", field="access_request_id"
        ) from None
    if not (
        actor.is_admin
        or actor.user_id == request.user_id
        or user_is_module_owner(actor.user_id, request.ext_datamodule_id)
    ):
        raise PermissionDenied(
            "only the requester, an owner of the module or an ADMIN may read this request"
        )
    return request


def access_requests_pending_for_owner(
    *, actor: Actor, ext_datamodule_id: str | None = None
) -> list[AccessRequest]:
    """Pending requests the actor can decide: on modules they own; admins also see ownerless modules.

    Requests filed by the actor themself are left out — nobody may decide their own.
    Requests already past their expiry are left out too: they can no longer be approved.
    """
    now = _now()
    owned = user_owned_module_ids(actor.user_id)
    qs = AccessRequest.objects.filter(state=AccessState.PENDING).exclude(user_id=actor.user_id)
    qs = qs.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    if ext_datamodule_id:
        qs = qs.filter(ext_datamodule_id=ext_datamodule_id)
    requests = list(qs.order_by("created_at", "id"))
    if actor.is_admin:
        candidate_modules = {r.ext_datamodule_id for r in requests} - owned
        owned_by_someone = set(
            AccessRequest.objects.filter(
                grants_current_q(now), owner=True, ext_datamodule_id__in=candidate_modules
            ).values_list("ext_datamodule_id", flat=True)
        )
        decidable = owned | (candidate_modules - owned_by_someone)
    else:
        decidable = owned
    return [r for r in requests if r.ext_datamodule_id in decidable]


def access_requests_for_user(*, actor: Actor, user_id: str) -> list[AccessRequest]:
    """ListUserAccessRequests: every request of one user, for whoever may see that user."""
    user_get_for_actor(actor=actor, user_id=user_id)
    return list(AccessRequest.objects.filter(user_id=user_id).order_by("created_at", "id"))


def access_requests_matching(
    *, user_id: str, ext_datamodule_id: str, access_types: set[str]
) -> QuerySet[AccessRequest]:
    """Requests of one user on one module with exactly these types (old clients have no request id)."""
    return AccessRequest.objects.filter(
        user_id=user_id,
        ext_datamodule_id=ext_datamodule_id,
        read="READ" in access_types,
        write="WRITE" in access_types,
        owner="OWNER" in access_types,
    )


# --- logins ---------------------------------------------------------------------------


def login_events_for_actor(*, actor: Actor, user_id: str, limit: int = 100) -> list[LoginEvent]:
    """ListLogins: a user's own history, or anyone's for an admin."""
    if not (actor.is_admin or actor.user_id == user_id):
        raise PermissionDenied("only the user themself or an ADMIN may read login history")
    if not User.objects.filter(pk=user_id).exists():
        raise NotFound(f"user {user_id!r} does not exist", field="user_id")
    return list(
        LoginEvent.objects.filter(user_id=user_id).order_by("-at", "-id")[
            : max(1, min(limit, 1000))
        ]
    )


def access_requests_on_owned_modules(
    *, actor: Actor, ext_datamodule_id: str | None = None
) -> list[AccessRequest]:
    """Every request (any state) on modules the actor owns; an ADMIN sees every request."""
    qs = AccessRequest.objects.all()
    if not actor.is_admin:
        qs = qs.filter(ext_datamodule_id__in=user_owned_module_ids(actor.user_id))
    if ext_datamodule_id:
        qs = qs.filter(ext_datamodule_id=ext_datamodule_id)
    return list(qs.order_by("created_at", "id")[:1000])
