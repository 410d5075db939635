"""REST door of the User Manager (``/api/v1/...``).

Each view does the four steps of every door: parse (its own input serializer) →
authorize (the actor; permission rules live in services/selectors) → call one service or
selector → serialize (its own output serializer). Errors are ``PrivetlError``s rendered
by the platform's exception handler as ``{"code", "message", "field"}``. Enum values
travel as their contract names ("READ", "OWNER", "EDIT_TASK", "PENDING").
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privetl.common.errors import InvalidArgument
from privetl.common.paging import MAX_PAGE_SIZE, Page
from privetl.common.text import ID_PATTERN, ID_RULE
from privetl.platform import rest_fields
from privetl.platform.rest import ErrorSerializer, actor_from
from privetl.users import selectors, services
from privetl.users.models import NAME_MAX_LENGTH, AccessType, Role

ROLE_CHOICES = [r.value for r in Role]
ACCESS_TYPE_CHOICES = [t.value for t in AccessType]
STATE_NAMES = ["PENDING", "APPROVED", "DENIED", "WITHDRAWN", "REVOKED", "EXPIRED"]
TAG = "User Manager"
ERRORS = {status_code: ErrorSerializer for status_code in (400, 401, 403, 404, 409)}
"""Every endpoint may answer these, always as {"code", "message", "field"}."""
USER_ID = OpenApiParameter(
    "user_id",
    str,
    OpenApiParameter.PATH,
    pattern=ID_PATTERN.pattern,
    description=f"The user's id ({ID_RULE}).",
    examples=[OpenApiExample("a user", value="alice")],
)
ACCESS_REQUEST_ID = OpenApiParameter(
    "access_request_id",
    str,
    OpenApiParameter.PATH,
    pattern=ID_PATTERN.pattern,
    description=f"The access request's id ({ID_RULE}).",
    examples=[OpenApiExample("a request", value="req-1")],
)


class PagingQuery(rest_fields.QuerySerializer):
    """``page_size`` and ``page_token``: the same two inputs as every gRPC list."""

    page_size = rest_fields.PageSizeField()
    page_token = rest_fields.TextField(
        required=False,
        default="",
        allow_blank=True,
        help_text="`next_page_token` of the previous page of this same list and filters; omit "
        "for the first page. A token of another list or other filters is 400 INVALID_ARGUMENT.",
    )


NEXT_PAGE_HELP = (
    "Pass as `page_token` for the next page; empty only on the last page (a list has no cap: "
    "page on until it is empty)."
)
ROLE = OpenApiParameter(
    "role",
    str,
    OpenApiParameter.PATH,
    enum=[r.value for r in Role],
    description="The role to remove.",
)


# --- output shapes --------------------------------------------------------------------


class AccessRequestOut(serializers.Serializer):
    """An access request (a grant is an APPROVED request that has not expired)."""

    id = serializers.CharField(help_text="Request id: chosen by the requester or generated.")
    user_id = serializers.CharField(help_text="The requester.")
    ext_datamodule_id = serializers.CharField(help_text="The external data module asked for.")
    access_types = serializers.ListField(
        child=serializers.ChoiceField(choices=ACCESS_TYPE_CHOICES),
        help_text="Requested access types.",
    )
    state = serializers.ChoiceField(
        choices=STATE_NAMES,
        help_text="Effective state: an approved grant past expires_at reads EXPIRED.",
    )
    reason = serializers.CharField(allow_blank=True, help_text="Why the requester needs access.")
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the grant ends; null = never."
    )
    created_at = serializers.DateTimeField(help_text="When the request was filed.")
    decided_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was approved, denied, withdrawn or revoked."
    )
    decided_by = serializers.CharField(
        allow_null=True, help_text="Who decided, withdrew or revoked it."
    )
    decision_note = serializers.CharField(
        allow_blank=True, help_text="The decider's note to the requester."
    )


def access_request_data(request: selectors.AccessRequestView) -> dict[str, Any]:
    """The output dict of one request (its effective state as a contract name)."""
    return {
        "id": request.id,
        "user_id": request.user_id,
        "ext_datamodule_id": request.ext_datamodule_id,
        "access_types": request.access_types,
        "state": request.state.upper(),
        "reason": request.reason,
        "expires_at": request.expires_at,
        "created_at": request.created_at,
        "decided_at": request.decided_at,
        "decided_by": request.decided_by or None,
        "decision_note": request.decision_note,
    }


class UserOut(serializers.Serializer):
    """A user with roles, current grants, and every other request apart."""

    id = serializers.CharField(help_text="User id (1..64 of A-Z a-z 0-9 . _ : @ -).")
    name = serializers.CharField(help_text="Display name.")
    email = serializers.CharField(
        allow_null=True,
        help_text="Notification address; shown only to the user themself and admins.",
    )
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=ROLE_CHOICES), help_text="Roles held (any set)."
    )
    blocked = serializers.BooleanField(help_text="A blocked user cannot authenticate.")
    created_at = serializers.DateTimeField(help_text="When the user was created.")
    ext_datamodule_accesses = AccessRequestOut(
        many=True, help_text="Current grants only: APPROVED and not expired (gRPC field 4)."
    )
    access_requests = AccessRequestOut(
        many=True,
        help_text="Every other request: pending, denied, withdrawn, revoked, expired (gRPC field 5).",
    )


def user_view_data(view: selectors.UserView) -> dict[str, Any]:
    """The output dict of GetUser (the e-mail is None unless the caller may see it)."""
    return {
        "id": view.id,
        "name": view.name,
        "email": view.email,
        "roles": view.roles,
        "blocked": view.blocked,
        "created_at": view.created_at,
        "ext_datamodule_accesses": [access_request_data(r) for r in view.grants],
        "access_requests": [access_request_data(r) for r in view.other_requests],
    }


class UserSummaryOut(serializers.Serializer):
    """A user in a list (no requests)."""

    id = serializers.CharField(help_text="User id.")
    name = serializers.CharField(help_text="Display name.")
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=ROLE_CHOICES), help_text="Roles held."
    )
    blocked = serializers.BooleanField(help_text="Blocked users cannot authenticate.")
    blocked_reason = serializers.CharField(allow_blank=True, help_text="Why the user was blocked.")
    created_at = serializers.DateTimeField(help_text="When the user was created.")


def user_summary_data(user: selectors.UserSummary) -> dict[str, Any]:
    """The output dict of one user in a list."""
    return {
        "id": user.id,
        "name": user.name,
        "roles": user.roles,
        "blocked": user.blocked,
        "blocked_reason": user.blocked_reason,
        "created_at": user.created_at,
    }


# --- users ----------------------------------------------------------------------------


class UserCreateIn(serializers.Serializer):
    """CreateUser's body."""

    id = rest_fields.IdField(help_text=f"The new user's id, chosen by you: {ID_RULE}.")
    name = rest_fields.NameField(
        max_length=NAME_MAX_LENGTH,
        help_text=f"Display name, 1..{NAME_MAX_LENGTH} characters with something visible; no "
        "control or bidirectional control characters.",
    )
    email = rest_fields.EmailField(
        required=False,
        allow_blank=True,
        help_text="Optional address for notifications (empty means none).",
    )


class UserListOut(serializers.Serializer):
    """One page of ListUsers."""

    users = UserSummaryOut(many=True, help_text="One page of users, ordered by id.")
    next_page_token = serializers.CharField(allow_blank=True, help_text=NEXT_PAGE_HELP)
    next_after = serializers.CharField(
        allow_null=True,
        help_text="Deprecated (use `next_page_token`): the last id of this page, to pass as "
        "`after`, while more follow; null on the last page.",
    )


class UserListQuery(PagingQuery):
    """ListUsers' query."""

    after = rest_fields.TextField(
        required=False,
        default="",
        allow_blank=True,
        help_text="Deprecated (page with `page_token`): only users whose id sorts after this one.",
    )


class UsersView(APIView):
    """POST creates a user; GET lists users."""

    @extend_schema(
        tags=[TAG],
        operation_id="users_create",
        summary="Create a user (CreateUser)",
        description="ADMIN only. Creates a user with the id you choose. A taken id is 409 ALREADY_EXISTS; "
        "an empty, over-long or ill-formed id or name is 400 naming the field.",
        request=UserCreateIn,
        responses={201: UserSummaryOut, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _parse(UserCreateIn, request)
        user = services.user_create(
            actor=actor_from(request),
            id=data["id"],
            name=data["name"],
            email=data.get("email") or None,
        )
        return Response(
            UserSummaryOut(user_summary_data(user)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        tags=[TAG],
        operation_id="users_list",
        summary="List users (ListUsers)",
        description=f"ADMIN only. Users ordered by id, one page at a time: at most "
        f"{MAX_PAGE_SIZE} per page (`page_size`), `next_page_token` until the last page.",
        parameters=[UserListQuery],
        responses={200: UserListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _query(UserListQuery, request)
        page = selectors.user_list_for_actor(
            actor=actor_from(request),
            page_size=query["page_size"],
            page_token=query["page_token"],
            after=query["after"],
        )
        return Response(
            UserListOut(
                {
                    "users": [user_summary_data(u) for u in page.items],
                    "next_page_token": page.next_page_token,
                    "next_after": page.items[-1].id if page.next_page_token else None,
                }
            ).data
        )


class UserDetailView(APIView):
    """GET one user."""

    @extend_schema(
        tags=[TAG],
        operation_id="users_get",
        parameters=[USER_ID],
        summary="Get a user (GetUser)",
        description="The user with roles, current grants (`ext_datamodule_accesses`: approved and not "
        "expired) and every other request (`access_requests`). Visible to the user themself, admins, "
        "and owners of a module the user asked for access to.",
        responses={200: UserOut, **ERRORS},
    )
    def get(self, request: Request, user_id: str) -> Response:
        view = selectors.user_get_for_actor(actor=actor_from(request), user_id=user_id)
        return Response(UserOut(user_view_data(view)).data)


class RoleIn(serializers.Serializer):
    """AddRole's body."""

    # The same choice set as the output's "roles": one enum component (RoleEnum).
    role = rest_fields.ChoiceField(
        ROLE_CHOICES,
        help_text="The role to add: EDIT_TASK, MANAGE_DATA, CREATE_EXT_DATAMODULE, PROCESS_ETL_TASK or ADMIN.",
    )


class RolesOut(serializers.Serializer):
    """The user's roles after AddRole/RemoveRole."""

    changed = serializers.BooleanField(
        help_text="False when the user already held (or did not hold) the role."
    )
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=ROLE_CHOICES), help_text="Roles held now."
    )


class UserRolesView(APIView):
    """POST adds a role."""

    @extend_schema(
        tags=[TAG],
        operation_id="users_roles_add",
        parameters=[USER_ID],
        summary="Add a role (AddRole)",
        description="ADMIN only. Adding a role the user holds changes nothing (changed=false) but is audited.",
        request=RoleIn,
        responses={200: RolesOut, **ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        data = _parse(RoleIn, request)
        change = services.user_role_add(
            actor=actor_from(request), user_id=user_id, role=data["role"]
        )
        return Response(RolesOut({"changed": change.changed, "roles": change.roles}).data)


class UserRoleDetailView(APIView):
    """DELETE removes a role."""

    @extend_schema(
        tags=[TAG],
        operation_id="users_roles_remove",
        parameters=[USER_ID, ROLE],
        summary="Remove a role (RemoveRole)",
        description="ADMIN only. The last ADMIN cannot lose the role (409).",
        responses={200: RolesOut, **ERRORS},
    )
    def delete(self, request: Request, user_id: str, role: str) -> Response:
        change = services.user_role_remove(actor=actor_from(request), user_id=user_id, role=role)
        return Response(RolesOut({"changed": change.changed, "roles": change.roles}).data)


class BlockIn(serializers.Serializer):
    """BlockUser's body."""

    reason = rest_fields.FreeTextField(
        max_length=services.BLOCK_REASON_MAX_LENGTH,
        required=False,
        help_text=f"Why (shown to admins), up to {services.BLOCK_REASON_MAX_LENGTH} characters.",
    )


class UserBlockView(APIView):
    """POST blocks a user."""

    @extend_schema(
        tags=[TAG],
        operation_id="users_block",
        parameters=[USER_ID],
        summary="Block a user (BlockUser)",
        description="ADMIN only. The user's tokens stop working at once: every call answers 401.",
        request=BlockIn,
        responses={200: UserSummaryOut, **ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        data = _parse(BlockIn, request)
        user = services.user_block(
            actor=actor_from(request), user_id=user_id, reason=data.get("reason", "")
        )
        return Response(UserSummaryOut(user_summary_data(user)).data)


class UserUnblockView(APIView):
    """POST unblocks a user."""

    @extend_schema(
        tags=[TAG],
        operation_id="users_unblock",
        parameters=[USER_ID],
        summary="Unblock a user (UnblockUser)",
        description="ADMIN only.",
        request=None,
        responses={200: UserSummaryOut, **ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        user = services.user_unblock(actor=actor_from(request), user_id=user_id)
        return Response(UserSummaryOut(user_summary_data(user)).data)


class LoginOut(serializers.Serializer):
    """One login attempt."""

    at = serializers.DateTimeField(help_text="When.")
    door = serializers.CharField(help_text="grpc or rest.")
    issuer = serializers.CharField(
        allow_blank=True, help_text="Token issuer (privetl or an SSO provider)."
    )
    address = serializers.CharField(allow_blank=True, help_text="Caller's network address.")
    success = serializers.BooleanField(help_text="Whether the attempt succeeded.")
    reason = serializers.CharField(allow_blank=True, help_text="Why it failed (e.g. blocked).")


class LoginListOut(serializers.Serializer):
    """A user's login history."""

    logins = LoginOut(many=True, help_text="One page, newest first.")
    next_page_token = serializers.CharField(allow_blank=True, help_text=NEXT_PAGE_HELP)


class UserLoginsView(APIView):
    """GET a user's login history."""

    @extend_schema(
        tags=[TAG],
        operation_id="users_logins",
        summary="Login history (ListLogins)",
        description=f"The user themself or an ADMIN. Newest first, at most {MAX_PAGE_SIZE} per "
        "page (`page_size`), `next_page_token` until the last page.",
        parameters=[USER_ID, PagingQuery],
        responses={200: LoginListOut, **ERRORS},
    )
    def get(self, request: Request, user_id: str) -> Response:
        query = _query(PagingQuery, request)
        page = selectors.login_events_for_actor(
            actor=actor_from(request),
            user_id=user_id,
            page_size=query["page_size"],
            page_token=query["page_token"],
        )
        return Response(
            LoginListOut({"logins": page.items, "next_page_token": page.next_page_token}).data
        )


# --- access requests ------------------------------------------------------------------


class AccessRequestFileIn(serializers.Serializer):
    """AddAccess's body: what the user asks for."""

    # Refused under the service's names (access.*: the gRPC request's), so both doors agree.
    id = rest_fields.IdField(
        error_name="access.id",
        required=False,
        allow_blank=True,
        help_text=f"Optional request id of your choice ({ID_RULE}); generated when omitted "
        "or empty.",
    )
    ext_datamodule_id = rest_fields.IdField(
        error_name="access.ext_datamodule_id", help_text=f"The external data module ({ID_RULE})."
    )
    access_types = rest_fields.ChoiceListField(
        ACCESS_TYPE_CHOICES,
        error_name="access.access_types",
        help_text="At least one of READ, WRITE, OWNER.",
    )
    reason = rest_fields.FreeTextField(
        max_length=services.REASON_MAX_LENGTH,
        error_name="access.reason",
        required=False,
        help_text="Why you need access (owners see it).",
    )
    expires_at = rest_fields.AwareDateTimeField(
        error_name="access.expires_at",
        required=False,
        allow_null=True,
        help_text="When the grant should end: in the future, with a time zone "
        f"(e.g. {rest_fields.DATETIME_EXAMPLE}); omit or null for never.",
    )


class AccessRequestListOut(serializers.Serializer):
    """A list of access requests."""

    access_requests = AccessRequestOut(many=True, help_text="One page, oldest first.")
    next_page_token = serializers.CharField(allow_blank=True, help_text=NEXT_PAGE_HELP)


class UserAccessRequestsQuery(PagingQuery):
    """ListUserAccessRequests' query."""

    state = rest_fields.ChoiceListField(
        STATE_NAMES,
        required=False,
        allow_empty=True,
        default=list,
        help_text="Only requests in this effective state (repeat for several).",
    )


class UserAccessRequestsView(APIView):
    """POST files a request for the user; GET lists the user's requests."""

    @extend_schema(
        tags=[TAG],
        operation_id="access_requests_file",
        parameters=[USER_ID],
        summary="Request access (AddAccess)",
        description="Files a PENDING request for the user (yourself; an ADMIN may file for others). "
        "Nothing is granted until an owner approves. Owners of the module (or, while it has none, "
        "admins) are e-mailed.",
        request=AccessRequestFileIn,
        responses={201: AccessRequestOut, **ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        data = _parse(AccessRequestFileIn, request)
        filed = services.access_request_file(
            actor=actor_from(request),
            user_id=user_id,
            ext_datamodule_id=data["ext_datamodule_id"],
            access_types=data["access_types"],
            reason=data.get("reason", ""),
            expires_at=data.get("expires_at"),
            request_id=data.get("id") or None,
        )
        return Response(
            AccessRequestOut(access_request_data(filed)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        tags=[TAG],
        operation_id="access_requests_of_user",
        summary="A user's requests (ListUserAccessRequests)",
        description=f"Every request of the user (or only those in the given effective states); "
        f"for whoever may see the user. Oldest first, at most {MAX_PAGE_SIZE} per page "
        "(`page_size`), `next_page_token` until the last page.",
        parameters=[USER_ID, UserAccessRequestsQuery],
        responses={200: AccessRequestListOut, **ERRORS},
    )
    def get(self, request: Request, user_id: str) -> Response:
        query = _query(UserAccessRequestsQuery, request)
        page = selectors.access_requests_for_user(
            actor=actor_from(request),
            user_id=user_id,
            states=[state.lower() for state in query["state"]],
            page_size=query["page_size"],
            page_token=query["page_token"],
        )
        return Response(_request_list_data(page))


class AccessRequestsQuery(PagingQuery):
    """ListPendingAccessRequests' query."""

    pending = rest_fields.BooleanField(
        required=False,
        default=True,
        help_text="Only pending requests you can decide (default true).",
    )
    ext_datamodule_id = rest_fields.TextField(
        required=False, default="", allow_blank=True, help_text="Only this module."
    )


class AccessRequestsView(APIView):
    """GET the requests the caller can decide (or owns)."""

    @extend_schema(
        tags=[TAG],
        operation_id="access_requests_list",
        summary="Requests to decide (ListPendingAccessRequests)",
        description="With pending=true (default): pending requests you may decide — on modules you own, "
        "and for an ADMIN also on modules without an owner; never your own. With pending=false: every "
        "request on modules you own (an ADMIN: every request). Oldest first, at most "
        f"{MAX_PAGE_SIZE} per page (`page_size`), `next_page_token` until the last page.",
        parameters=[AccessRequestsQuery],
        responses={200: AccessRequestListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _query(AccessRequestsQuery, request)
        page = selectors.access_requests_to_decide(
            actor=actor_from(request),
            pending=query["pending"],
            ext_datamodule_id=query["ext_datamodule_id"] or None,
            page_size=query["page_size"],
            page_token=query["page_token"],
        )
        return Response(_request_list_data(page))


class AccessRequestDetailView(APIView):
    """GET one request; DELETE withdraws or revokes it."""

    @extend_schema(
        tags=[TAG],
        operation_id="access_requests_get",
        parameters=[ACCESS_REQUEST_ID],
        summary="Get a request (GetAccessRequest)",
        description="For the requester, owners of the module and admins.",
        responses={200: AccessRequestOut, **ERRORS},
    )
    def get(self, request: Request, access_request_id: str) -> Response:
        item = selectors.access_request_get_for_actor(
            actor=actor_from(request), access_request_id=access_request_id
        )
        return Response(AccessRequestOut(access_request_data(item)).data)

    @extend_schema(
        tags=[TAG],
        operation_id="access_requests_remove",
        parameters=[ACCESS_REQUEST_ID],
        summary="Withdraw or revoke (RemoveAccess)",
        description="A pending request is withdrawn (by the requester or an ADMIN); a current grant is "
        "revoked (by its holder, an OWNER of the module, or an ADMIN). Anything else is 409.",
        responses={200: AccessRequestOut, **ERRORS},
    )
    def delete(self, request: Request, access_request_id: str) -> Response:
        removed = services.access_request_remove(
            actor=actor_from(request), user_id=None, access_request_id=access_request_id
        )
        return Response(AccessRequestOut(access_request_data(removed[0])).data)


class DecisionIn(serializers.Serializer):
    """ApproveAccessRequest's body."""

    approve = rest_fields.BooleanField(help_text="true approves, false denies.")
    note = rest_fields.FreeTextField(
        max_length=services.REASON_MAX_LENGTH,
        required=False,
        help_text="Optional note e-mailed to the requester.",
    )
    owner_user_id = rest_fields.IdField(
        required=False,
        allow_blank=True,
        help_text="Optional; if given (not empty) it must be your own id (as in the gRPC "
        "contract).",
    )


class AccessRequestDecisionView(APIView):
    """POST approves or denies a pending request."""

    @extend_schema(
        tags=[TAG],
        operation_id="access_requests_decide",
        parameters=[ACCESS_REQUEST_ID],
        summary="Approve or deny (ApproveAccessRequest)",
        description="An OWNER of the module decides a pending request; an ADMIN may decide while the "
        "module has no owner (that is how the first owner is made). Nobody decides their own request "
        "(403). A request that is no longer pending is 409. The requester is e-mailed.",
        request=DecisionIn,
        responses={200: AccessRequestOut, **ERRORS},
    )
    def post(self, request: Request, access_request_id: str) -> Response:
        data = _parse(DecisionIn, request)
        actor = actor_from(request)
        decided = services.access_request_decide(
            actor=actor,
            access_request_id=access_request_id,
            owner_user_id=data.get("owner_user_id") or actor.user_id,
            approve=data["approve"],
            note=data.get("note", ""),
        )
        return Response(AccessRequestOut(access_request_data(decided)).data)


# --- parsing helpers (errors through the one vocabulary) -------------------------------


def _parse(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validate the body; DRF's ValidationError is rendered by the platform handler as 400."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validate the query string with the view's query serializer (strict fields).

    ``limit``, the older name of ``page_size``, is refused rather than ignored: a client
    relying on it would otherwise get pages of another size without being told.
    """
    if "limit" in request.query_params:
        raise InvalidArgument(
            f"limit is no longer accepted: use page_size (1..{MAX_PAGE_SIZE}) and page_token",
            field="limit",
        )
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _request_list_data(page: Page[selectors.AccessRequestView]) -> dict[str, Any]:
    return AccessRequestListOut(
        {
            "access_requests": [access_request_data(r) for r in page.items],
            "next_page_token": page.next_page_token,
        }
    ).data
