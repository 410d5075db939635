"""gRPC door of the User Manager (``etl.user.manager.V1.UserManager``).

Each method does the four steps of every door: parse the request message → (the
``grpc_door`` decorator has authenticated the caller into ``actor`` and maps
``PrivetlError`` to a status code) → call one service or selector → build the response.
What to show (e-mail, effective states, which requests, page bounds) is decided by the
selectors and services, the same for this door and the REST one.

Wire compatibility: ``User.ext_datamodule_accesses`` (field 4) carries current grants
only, so a client generated from the original contract can never mistake a pending
request for access; everything else goes in ``User.access_requests`` (field 5).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb
from privetl._gen.etl.user.manager.V1 import user_manager_pb2_grpc as pb_grpc
from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument
from privetl.platform.grpc_door import grpc_door
from privetl.users import selectors, services
from privetl.users.models import LoginEvent

SERVICE = "users"


# --- enum and time conversions (unknown numbers are refused, never guessed) ----------


def _enum_name(enum: Any, value: int, *, field: str) -> str:
    try:
        return str(enum.Name(value))
    except ValueError:
        raise InvalidArgument(f"{field}: {value} is not a known value", field=field) from None


def role_name(value: int, *, field: str = "role") -> str:
    """Contract ``UserRole`` number → role name."""
    return _enum_name(pb.UserRole, value, field=field)


def access_type_names(values: Iterable[int]) -> list[str]:
    """Contract ``ExtDatamoduleAccessType`` numbers → names (READ is 0, the default)."""
    return [_enum_name(pb.ExtDatamoduleAccessType, v, field="access.access_types") for v in values]


def _state_name(state: str) -> str:
    """Effective state ("pending") → its ``AccessRequestState`` value name, whatever the prefix."""
    wanted = state.upper()
    for name in pb.AccessRequestState.keys():
        if name == wanted or name.endswith("_" + wanted):
            return name
    return pb.AccessRequestState.Name(0)


def _timestamp(value: dt.datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _datetime(message: Any, name: str) -> dt.datetime | None:
    if not message.HasField(name):
        return None
    return getattr(message, name).ToDatetime(tzinfo=dt.UTC)


# --- message builders ------------------------------------------------------------------


def access_message(request: selectors.AccessRequestView) -> pb.ExtDatamoduleAccess:
    """One request as ``ExtDatamoduleAccess`` (fields 1-3 are what old clients read)."""
    message = pb.ExtDatamoduleAccess(
        id=request.id,
        ext_datamodule_id=request.ext_datamodule_id,
        access_types=list(request.access_types),
        state=_state_name(request.state),
        reason=request.reason,
        user_id=request.user_id,
        decided_by=request.decided_by,
        decision_note=request.decision_note,
    )
    for name in ("expires_at", "created_at", "decided_at"):
        value = getattr(request, name)
        if value is not None:
            getattr(message, name).CopyFrom(_timestamp(value))
    return message


def user_summary_message(user: selectors.UserSummary) -> pb.User:
    """A user in a list: no requests, no e-mail."""
    message = pb.User(
        id=user.id,
        name=user.name,
        roles=list(user.roles),
        blocked=user.blocked,
    )
    message.created_at.CopyFrom(_timestamp(user.created_at))
    return message


def user_message(view: selectors.UserView) -> pb.User:
    """GetUser's ``User``: grants in field 4, every other request in field 5, e-mail if shown."""
    message = user_summary_message(view)
    message.ext_datamodule_accesses.extend(access_message(r) for r in view.grants)
    message.access_requests.extend(access_message(r) for r in view.other_requests)
    message.email = view.email or ""
    return message


def login_message(event: LoginEvent) -> pb.Login:
    """One login attempt."""
    message = pb.Login(
        id=str(event.pk),
        user_id=event.user_id,
        door=event.door,
        issuer=event.issuer,
        address=event.address,
        success=event.success,
        reason=event.reason,
    )
    message.occurred_at.CopyFrom(_timestamp(event.at))
    return message


def _state_names(values: Iterable[int]) -> set[str]:
    """``AccessRequestState`` numbers → effective state names ("pending", ...)."""
    names = set()
    for value in values:
        name = _enum_name(pb.AccessRequestState, value, field="states")
        if value == 0:
            raise InvalidArgument(
                "states: ACCESS_REQUEST_STATE_UNSPECIFIED is not a state", field="states"
            )
        names.add(
            name.rsplit("_", 1)[-1].lower()
            if name.startswith("ACCESS_REQUEST_STATE_")
            else name.lower()
        )
    return names


# --- the servicer ----------------------------------------------------------------------


class UserManagerServicer(pb_grpc.UserManagerServicer):
    """The User Manager over gRPC; every method is parse → one service/selector → respond."""

    @grpc_door(service=SERVICE, action="CreateUser")
    def CreateUser(
        self, request: pb.CreateUserRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.CreateUserResponse:  # noqa: N802
        services.user_create(
            actor=actor, id=request.id, name=request.name, email=request.email or None
        )
        return pb.CreateUserResponse(result=True)

    @grpc_door(service=SERVICE, action="GetUser")
    def GetUser(
        self, request: pb.GetUserRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetUserResponse:  # noqa: N802
        view = selectors.user_get_for_actor(actor=actor, user_id=request.id)
        return pb.GetUserResponse(user=user_message(view))

    @grpc_door(service=SERVICE, action="AddAccess")
    def AddAccess(
        self, request: pb.AddAccessRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.AddAccessResponse:  # noqa: N802
        access = request.access
        filed = services.access_request_file(
            actor=actor,
            user_id=request.user_id,
            ext_datamodule_id=access.ext_datamodule_id,
            access_types=access_type_names(access.access_types),
            reason=access.reason,
            expires_at=_datetime(access, "expires_at"),
            request_id=access.id or None,
        )
        return pb.AddAccessResponse(
            result=True, access_request_id=filed.id, state=_state_name(str(filed.state))
        )

    @grpc_door(service=SERVICE, action="RemoveAccess")
    def RemoveAccess(
        self, request: pb.RemoveAccessRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.RemoveAccessResponse:  # noqa: N802
        access = request.access
        services.access_request_remove(
            actor=actor,
            user_id=request.user_id or None,
            access_request_id=access.id or None,
            ext_datamodule_id=access.ext_datamodule_id,
            access_types=access_type_names(access.access_types),
        )
        return pb.RemoveAccessResponse(result=True)

    @grpc_door(service=SERVICE, action="AddRole")
    def AddRole(
        self, request: pb.AddRoleRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.AddRoleResponse:  # noqa: N802
        services.user_role_add(actor=actor, user_id=request.user_id, role=role_name(request.role))
        return pb.AddRoleResponse(result=True)

    @grpc_door(service=SERVICE, action="RemoveRole")
    def RemoveRole(
        self, request: pb.RemoveRoleRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.RemoveRoleResponse:  # noqa: N802
        services.user_role_remove(
            actor=actor, user_id=request.user_id, role=role_name(request.role)
        )
        return pb.RemoveRoleResponse(result=True)

    @grpc_door(service=SERVICE, action="ApproveAccessRequest")
    def ApproveAccessRequest(
        self,
        request: pb.ApproveAccessRequestRequest,
        context: grpc.ServicerContext,
        *,
        actor: Actor,
    ) -> pb.ApproveAccessResponse:  # noqa: N802
        services.access_request_decide(
            actor=actor,
            access_request_id=request.access_request_id,
            owner_user_id=request.owner_user_id,
            approve=request.state,
            note=request.note,
        )
        return pb.ApproveAccessResponse(result=True)

    @grpc_door(service=SERVICE, action="ListUsers")
    def ListUsers(  # noqa: N802
        self, request: pb.ListUsersRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.ListUsersResponse:
        page = selectors.user_list_for_actor(
            actor=actor,
            page_size=request.page_size,
            page_token=request.page_token,
            include_blocked=request.include_blocked,
        )
        return pb.ListUsersResponse(
            users=[user_summary_message(u) for u in page.items],
            next_page_token=page.next_page_token,
        )

    @grpc_door(service=SERVICE, action="ListPendingAccessRequests")
    def ListPendingAccessRequests(  # noqa: N802
        self,
        request: pb.ListPendingAccessRequestsRequest,
        context: grpc.ServicerContext,
        *,
        actor: Actor,
    ) -> pb.ListPendingAccessRequestsResponse:
        page = selectors.access_requests_to_decide(
            actor=actor,
            pending=True,
            ext_datamodule_id=request.ext_datamodule_id or None,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListPendingAccessRequestsResponse(
            requests=[access_message(r) for r in page.items],
            next_page_token=page.next_page_token,
        )

    @grpc_door(service=SERVICE, action="ListUserAccessRequests")
    def ListUserAccessRequests(  # noqa: N802
        self,
        request: pb.ListUserAccessRequestsRequest,
        context: grpc.ServicerContext,
        *,
        actor: Actor,
    ) -> pb.ListUserAccessRequestsResponse:
        page = selectors.access_requests_for_user(
            actor=actor,
            user_id=request.user_id,
            states=_state_names(request.states),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListUserAccessRequestsResponse(
            requests=[access_message(r) for r in page.items],
            next_page_token=page.next_page_token,
        )

    @grpc_door(service=SERVICE, action="GetAccessRequest")
    def GetAccessRequest(  # noqa: N802
        self, request: pb.GetAccessRequestRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetAccessRequestResponse:
        item = selectors.access_request_get_for_actor(
            actor=actor, access_request_id=request.access_request_id
        )
        return pb.GetAccessRequestResponse(request=access_message(item))

    @grpc_door(service=SERVICE, action="BlockUser")
    def BlockUser(  # noqa: N802
        self, request: pb.BlockUserRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.BlockUserResponse:
        services.user_block(actor=actor, user_id=request.user_id, reason=request.reason)
        return pb.BlockUserResponse(result=True)

    @grpc_door(service=SERVICE, action="UnblockUser")
    def UnblockUser(  # noqa: N802
        self, request: pb.UnblockUserRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.UnblockUserResponse:
        services.user_unblock(actor=actor, user_id=request.user_id)
        return pb.UnblockUserResponse(result=True)

    @grpc_door(service=SERVICE, action="ListLogins")
    def ListLogins(  # noqa: N802
        self, request: pb.ListLoginsRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.ListLoginsResponse:
        page = selectors.login_events_for_actor(
            actor=actor,
            user_id=request.user_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListLoginsResponse(
            logins=[login_message(e) for e in page.items], next_page_token=page.next_page_token
        )


def register(server: grpc.Server) -> None:
    """Add the User Manager to a gRPC server (listed in ``settings.GRPC_SERVICERS``)."""
    pb_grpc.add_UserManagerServicer_to_server(UserManagerServicer(), server)
