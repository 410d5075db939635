"""Readers of the User Manager, each scoped by who is asking.

Permission rules live here (and only here), so every door asks the same question the
same way: "may this actor see/decide/withdraw this?" Views and servicers never call
``Model.objects.get`` for a user-scoped object.

Effective state: an approved request whose ``expires_at`` has passed is a grant no
longer — it is read as ``expired`` everywhere, compared with the clock at read time.

What a door gets back is already what it may show: a ``UserView`` carries the e-mail
address only when the caller may see it, and every request comes as an
``AccessRequestView`` with its effective state read. Every list is one page of the one
scheme (``privetl.common.paging``: ``page_size`` up to ``MAX_PAGE_SIZE``, a signed
``page_token``, ``next_page_token`` until the end), never a silent cut.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from django.db.models import Q, QuerySet
from django.utils import timezone

from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from privetl.common.paging import Page, keyset_page, scope_of
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
            f"user {authenticating.user_id!r} is blocked; ask an admin to unblock it",
            reason="blocked user",
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
            f"user {user_id!r} does not exist here; ask an admin to create it",
            reason="unknown user",
        ) from None


# --- grants and effective state -------------------------------------------------------


def _now() -> dt.datetime:
    return timezone.now()


def grants_current_q(now: dt.datetime | None = None) -> Q:
    """The filter "approved and not expired": the one definition of a current grant."""
    now = now or _now()
    return Q(state=AccessState.APPROVED) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class _Stated(Protocol):
    state: str
    expires_at: dt.datetime | None


def access_request_effective_state(request: _Stated, now: dt.datetime | None = None) -> str:
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


# --- which module ids exist --------------------------------------------------------------

ModuleCatalog = Callable[[str], bool | None]
"""Answers "is this id an external data module?": True (it is one), False (it is not), or
None (no opinion: the catalog does not know modules yet)."""

_module_catalogs: list[ModuleCatalog] = []


def module_catalog_register(catalog: ModuleCatalog) -> None:
    """Called once by the ExtDatamodule Manager's app config (``DatamodulesConfig.ready``).

    The User Manager sits below the ExtDatamodule Manager and must not import it, yet
    AddAccess must refuse ids that are no module: the app that knows the modules plugs
    its answer in here (a port, as ``GRPC_SERVICERS`` plugs in servicers).
    """
    if catalog not in _module_catalogs:
        _module_catalogs.append(catalog)


def module_is_catalogued(ext_datamodule_id: str) -> bool | None:
    """True when a registered catalog knows the id, False when one says it is unknown, None
    when no catalog has an opinion (no ExtDatamodule Manager, or one with no connection yet)."""
    answers = [catalog(ext_datamodule_id) for catalog in _module_catalogs]
    if any(answer is True for answer in answers):
        return True
    if any(answer is False for answer in answers):
        return False
    return None


def module_has_access_records(ext_datamodule_id: str) -> bool:
    """True when any request or grant, in any state, names the module (a module from before
    connections existed is known by its records)."""
    return AccessRequest.objects.filter(ext_datamodule_id=ext_datamodule_id).exists()


# --- views: what a door may show ---------------------------------------------------------


@dataclass(frozen=True)
class AccessRequestView:
    """An access request as every door shows it: ``state`` is the effective one."""

    id: str
    user_id: str
    ext_datamodule_id: str
    access_types: list[str]
    state: str
    reason: str
    expires_at: dt.datetime | None
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str
    decision_note: str


def access_request_view(
    request: AccessRequest, now: dt.datetime | None = None
) -> AccessRequestView:
    """The view of a loaded request, its state read against ``now``."""
    return AccessRequestView(
        id=request.id,
        user_id=request.user_id,
        ext_datamodule_id=request.ext_datamodule_id,
        access_types=request.access_types,
        state=access_request_effective_state(request, now),
        reason=request.reason,
        expires_at=request.expires_at,
        created_at=request.created_at,
        decided_at=request.decided_at,
        decided_by=request.decided_by,
        decision_note=request.decision_note,
    )


@dataclass(frozen=True)
class UserSummary:
    """A user as shown to a caller: ``email`` is None unless the caller may see it."""

    id: str
    name: str
    email: str | None
    roles: list[str]
    blocked: bool
    blocked_reason: str
    created_at: dt.datetime


@dataclass(frozen=True)
class UserView(UserSummary):
    """GetUser's user: also its current grants and, apart, every other request."""

    grants: list[AccessRequestView]
    other_requests: list[AccessRequestView]


def email_visible(actor: Actor, user_id: str) -> bool:
    """The e-mail rule: an address is personal data, shown to the user themself and admins."""
    return actor.is_admin or actor.user_id == user_id


def user_summary(*, actor: Actor, user: User, roles: Iterable[str]) -> UserSummary:
    """The summary of a loaded user for ``actor`` (e-mail applied, roles sorted)."""
    return UserSummary(
        id=user.id,
        name=user.name,
        email=(user.email or None) if email_visible(actor, user.id) else None,
        roles=sorted(roles),
        blocked=user.blocked,
        blocked_reason=user.blocked_reason,
        created_at=user.created_at,
    )


def _views(
    requests: Iterable[AccessRequest], now: dt.datetime | None = None
) -> list[AccessRequestView]:
    now = now or _now()
    return [access_request_view(r, now) for r in requests]


def _page_of_views(page: Page[AccessRequest]) -> Page[AccessRequestView]:
    return Page(items=_views(page.items), next_page_token=page.next_page_token)


# --- users ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _UserScope:
    """What of a user ``actor`` may see: everything, or only requests on ``modules``.

    Self and admins see the whole user. An owner of a module sees a user who asked for
    access to it — deciding needs to know who is asking (use case "Approve External
    Datamodule Access", step 3: GetUser) — but only the requests on modules they own, and
    not the user's roles: what someone asked of other owners is not theirs to know.
    """

    whole: bool
    modules: frozenset[str] = frozenset()

    def requests(self, requests: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
        """``requests`` narrowed to what this scope shows."""
        return requests if self.whole else requests.filter(ext_datamodule_id__in=self.modules)


def _user_scope(actor: Actor, user_id: str) -> _UserScope | None:
    """The part of user ``user_id`` that ``actor`` may see; None when nothing."""
    if actor.user_id == user_id or actor.is_admin:
        return _UserScope(whole=True)
    owned = user_owned_module_ids(actor.user_id)
    asked = set(
        AccessRequest.objects.filter(user_id=user_id, ext_datamodule_id__in=owned)
        .values_list("ext_datamodule_id", flat=True)
        .distinct()
    ) if owned else set()
    return _UserScope(whole=False, modules=frozenset(asked)) if asked else None


def may_see_access_request(actor: Actor, request: AccessRequest) -> bool:
    """The requester, an admin, or an owner of the request's module: others may not know of it."""
    return (
        actor.user_id == request.user_id
        or actor.is_admin
        or user_is_module_owner(actor.user_id, request.ext_datamodule_id)
    )


_MAY_NOT_SEE_USER = "you may see only yourself, users who asked for access to a module you own, or (as ADMIN) anyone"


def user_get_for_actor(*, actor: Actor, user_id: str) -> UserView:
    """GetUser: the user with roles, current grants (field 4) and all other requests (field 5).

    A caller who may not see the user gets NOT_FOUND only if the user does not exist, and
    PERMISSION_DENIED otherwise — the id space is not secret (ids are chosen by callers).
    An owner sees only the requests on modules they own, and no roles (``_UserScope``).
    Three flat queries for oneself or an admin (user, roles, requests), whatever the data.
    """
    try:
        user = User.objects.get(pk=user_id)
    except User.DoesNotExist:
        raise NotFound(f"user {user_id!r} does not exist", field="id") from None
    scope = _user_scope(actor, user_id)
    if scope is None:
        raise PermissionDenied(_MAY_NOT_SEE_USER)
    now = _now()
    roles = (
        UserRole.objects.filter(user_id=user.id).order_by().values_list("role", flat=True)
        if scope.whole
        else []
    )
    summary = user_summary(actor=actor, user=user, roles=roles)
    grants: list[AccessRequestView] = []
    others: list[AccessRequestView] = []
    requests = scope.requests(AccessRequest.objects.filter(user=user))
    for request in requests.order_by("created_at", "id"):
        view = access_request_view(request, now)
        (grants if view.state == AccessState.APPROVED else others).append(view)
    return UserView(**vars(summary), grants=grants, other_requests=others)


def user_list_for_actor(
    *,
    actor: Actor,
    page_size: int | None = None,
    page_token: str = "",
    include_blocked: bool = True,
    after: str = "",
) -> Page[UserSummary]:
    """ListUsers (ADMIN only): users ordered by id with their roles, one page at a time.

    ``after`` (the REST door's older form of paging) keeps only ids sorting after it; it
    is a filter like any other, so a page token is tied to it. Two queries per page.
    """
    if not actor.is_admin:
        raise PermissionDenied("only an ADMIN may list users")
    users = User.objects.prefetch_related("role_assignments")
    if after:
        users = users.filter(pk__gt=after)
    if not include_blocked:
        users = users.filter(blocked=False)
    page = keyset_page(
        users,
        order=("id",),
        scope=scope_of("users", include_blocked, after),
        page_size=page_size,
        page_token=page_token,
    )
    return Page(
        items=[
            user_summary(actor=actor, user=u, roles=[a.role for a in u.role_assignments.all()])
            for u in page.items
        ],
        next_page_token=page.next_page_token,
    )


def user_roles_map(user_ids: list[str]) -> dict[str, list[str]]:
    """Roles of many users in one query."""
    result: dict[str, list[str]] = {uid: [] for uid in user_ids}
    for uid, role in UserRole.objects.filter(user_id__in=user_ids).values_list("user_id", "role"):
        result[uid].append(role)
    return {uid: sorted(roles) for uid, roles in result.items()}


# --- access requests ------------------------------------------------------------------

REQUEST_ORDER = ("created_at", "id")
"""Every list of requests is oldest first; ``id`` breaks ties of one instant."""


def access_request_get_for_actor(*, actor: Actor, access_request_id: str) -> AccessRequestView:
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
    return access_request_view(request)


def _live_pending_q(now: dt.datetime) -> Q:
    return Q(state=AccessState.PENDING) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def access_requests_pending_for_owner(
    *,
    actor: Actor,
    ext_datamodule_id: str | None = None,
    page_size: int | None = None,
    page_token: str = "",
) -> Page[AccessRequestView]:
    """Pending requests the actor can decide: on modules they own; admins also on ownerless modules.

    Requests filed by the actor themself are left out — nobody may decide their own.
    Requests already past their expiry are left out too: they can no longer be approved.
    Queries: the actor's modules, (for an admin) the ownerless modules that have pending
    requests, then the page.
    """
    now = _now()
    decidable = user_owned_module_ids(actor.user_id)
    pending = AccessRequest.objects.filter(_live_pending_q(now)).exclude(user_id=actor.user_id)
    if ext_datamodule_id:
        pending = pending.filter(ext_datamodule_id=ext_datamodule_id)
    if actor.is_admin:
        owned_by_someone = AccessRequest.objects.filter(grants_current_q(now), owner=True).values(
            "ext_datamodule_id"
        )
        decidable |= set(
            pending.exclude(ext_datamodule_id__in=owned_by_someone)
            .order_by()
            .values_list("ext_datamodule_id", flat=True)
            .distinct()
        )
    page = keyset_page(
        pending.filter(ext_datamodule_id__in=decidable),
        order=REQUEST_ORDER,
        scope=scope_of("pending_access_requests", ext_datamodule_id),
        page_size=page_size,
        page_token=page_token,
    )
    return _page_of_views(page)


def access_requests_on_owned_modules(
    *,
    actor: Actor,
    ext_datamodule_id: str | None = None,
    page_size: int | None = None,
    page_token: str = "",
) -> Page[AccessRequestView]:
    """Every request (any state) on modules the actor owns; an ADMIN sees every request."""
    requests = AccessRequest.objects.all()
    if not actor.is_admin:
        requests = requests.filter(ext_datamodule_id__in=user_owned_module_ids(actor.user_id))
    if ext_datamodule_id:
        requests = requests.filter(ext_datamodule_id=ext_datamodule_id)
    page = keyset_page(
        requests,
        order=REQUEST_ORDER,
        scope=scope_of("owned_access_requests", ext_datamodule_id),
        page_size=page_size,
        page_token=page_token,
    )
    return _page_of_views(page)


def access_requests_to_decide(
    *,
    actor: Actor,
    pending: bool = True,
    ext_datamodule_id: str | None = None,
    page_size: int | None = None,
    page_token: str = "",
) -> Page[AccessRequestView]:
    """ListPendingAccessRequests: what the caller can decide (``pending``) or every request
    on the modules they own (not ``pending``; an ADMIN: every request)."""
    listing = access_requests_pending_for_owner if pending else access_requests_on_owned_modules
    return listing(
        actor=actor,
        ext_datamodule_id=ext_datamodule_id,
        page_size=page_size,
        page_token=page_token,
    )


def _effective_state_q(state: str, now: dt.datetime) -> Q:
    """The stored rows whose effective state is ``state`` (see ``access_request_effective_state``)."""
    lapsed = Q(expires_at__isnull=False) & Q(expires_at__lte=now)
    if state in (AccessState.PENDING, AccessState.APPROVED):
        return Q(state=state) & ~lapsed
    if state == AccessState.EXPIRED:
        return Q(state=AccessState.EXPIRED) | (
            Q(state__in=[AccessState.PENDING, AccessState.APPROVED]) & lapsed
        )
    return Q(state=state)


def access_requests_for_user(
    *,
    actor: Actor,
    user_id: str,
    states: Iterable[str] = (),
    page_size: int | None = None,
    page_token: str = "",
) -> Page[AccessRequestView]:
    """ListUserAccessRequests: one user's requests (only in ``states``, effective, when given),
    for whoever may see that user."""
    wanted = sorted(set(states))
    unknown = [s for s in wanted if s not in AccessState.values]
    if unknown:
        raise InvalidArgument(
            f"states: {unknown[0]!r} is not a state; use {', '.join(AccessState.values)}",
            field="states",
        )
    if not User.objects.filter(pk=user_id).exists():
        raise NotFound(f"user {user_id!r} does not exist", field="user_id")
    scope = _user_scope(actor, user_id)
    if scope is None:
        raise PermissionDenied(_MAY_NOT_SEE_USER)
    requests = scope.requests(AccessRequest.objects.filter(user_id=user_id))
    if wanted:
        now = _now()
        matching = Q(pk__in=[])
        for state in wanted:
            matching |= _effective_state_q(state, now)
        requests = requests.filter(matching)
    page = keyset_page(
        requests,
        order=REQUEST_ORDER,
        scope=scope_of("user_access_requests", user_id, *wanted),
        page_size=page_size,
        page_token=page_token,
    )
    return _page_of_views(page)


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


def login_events_for_actor(
    *, actor: Actor, user_id: str, page_size: int | None = None, page_token: str = ""
) -> Page[LoginEvent]:
    """ListLogins: a user's own history, or anyone's for an admin; newest first."""
    if not (actor.is_admin or actor.user_id == user_id):
        raise PermissionDenied("only the user themself or an ADMIN may read login history")
    if not User.objects.filter(pk=user_id).exists():
        raise NotFound(f"user {user_id!r} does not exist", field="user_id")
    return keyset_page(
        LoginEvent.objects.filter(user_id=user_id),
        order=("-at", "-id"),
        scope=scope_of("logins", user_id),
        page_size=page_size,
        page_token=page_token,
    )


# --- the users admin ------------------------------------------------------------------

LOGINS_PER_ADMIN_PAGE = 20


@dataclass(frozen=True)
class UserAdminView:
    """One user as the users admin manages them: the whole user, and their latest logins."""

    user: UserView
    logins: Page[LoginEvent]


def user_admin_view(*, actor: Actor, user_id: str, logins_page_token: str = "") -> UserAdminView:
    """The users admin's page of one user (ADMIN only, even for oneself: it is where roles
    and blocks are managed). GetUser's view plus one page of ListLogins; five queries."""
    if not actor.is_admin:
        raise PermissionDenied("only an ADMIN may manage users")
    user = user_get_for_actor(actor=actor, user_id=user_id)
    logins = login_events_for_actor(
        actor=actor,
        user_id=user_id,
        page_size=LOGINS_PER_ADMIN_PAGE,
        page_token=logins_page_token,
    )
    return UserAdminView(user=user, logins=logins)
