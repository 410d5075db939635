"""The gRPC door, over a real channel to an in-process server on a free loopback port."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import grpc
import pytest
from django.utils import timezone
from google.protobuf.timestamp_pb2 import Timestamp

from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb
from privetl._gen.etl.user.manager.V1 import user_manager_pb2_grpc as pb_grpc
from privetl.platform.auth import token_issue
from privetl.users import services
from privetl.users.models import AccessRequest, User
from tests.users.audit_helpers import audit_entries
from tests.users.grpc_helpers import running_server

pytestmark = pytest.mark.django_db(transaction=True)


class Caller:
    """A stub that sends one user's bearer token with every call."""

    def __init__(self, channel: grpc.Channel, token: str | None) -> None:
        self.stub = pb_grpc.UserManagerStub(channel)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()

    def __getattr__(self, method: str):
        rpc = getattr(self.stub, method)
        return lambda request: rpc(request, metadata=self.metadata, timeout=30)


@pytest.fixture
def channel(transactional_db) -> Iterator[grpc.Channel]:
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch


@pytest.fixture
def as_user(channel):
    def make(user_id: str | None, impersonator_id: str | None = None) -> Caller:
        token = token_issue(user_id=user_id, impersonator_id=impersonator_id) if user_id else None
        return Caller(channel, token)

    return make


def _code(call, request) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    assert exc.value.details()  # a message a person can act on
    return exc.value.code()


def _access(**kw) -> pb.ExtDatamoduleAccess:
    return pb.ExtDatamoduleAccess(**kw)


# --- users ----------------------------------------------------------------------------


def test_create_and_get_user(as_user, admin) -> None:
    root = as_user("root")
    assert root.CreateUser(pb.CreateUserRequest(id="alice", name="Alice")).result is True
    user = as_user("alice").GetUser(pb.GetUserRequest(id="alice")).user
    assert (user.id, user.name, list(user.roles), user.blocked) == ("alice", "Alice", [], False)
    assert user.HasField("created_at")


def test_create_user_with_email_over_grpc(as_user, admin, olga) -> None:
    root = as_user("root")
    created = root.CreateUser(
        pb.CreateUserRequest(id="alice", name="Alice", email="alice@example.test")
    )
    assert created.result is True
    assert User.objects.get(pk="alice").email == "alice@example.test"
    # shown to the user themself and to admins; an owner who may see alice does not see it
    assert as_user("alice").GetUser(pb.GetUserRequest(id="alice")).user.email == (
        "alice@example.test"
    )
    assert root.GetUser(pb.GetUserRequest(id="alice")).user.email == "alice@example.test"
    as_user("alice").AddAccess(
        pb.AddAccessRequest(
            user_id="alice", access=_access(ext_datamodule_id="customers", access_types=[pb.READ])
        )
    )
    assert as_user("olga").GetUser(pb.GetUserRequest(id="alice")).user.email == ""
    bad = pb.CreateUserRequest(id="eve", name="Eve", email="not-an-address")
    assert _code(root.CreateUser, bad) == grpc.StatusCode.INVALID_ARGUMENT
    assert not User.objects.filter(pk="eve").exists()


@pytest.mark.parametrize(
    ("user_id", "name"),
    [("", "X"), ("x" * 65, "X"), ("bad id", "X"), ("ok", ""), ("ok", "n" * 201)],
)
def test_create_user_bad_input(as_user, admin, user_id, name) -> None:
    code = _code(as_user("root").CreateUser, pb.CreateUserRequest(id=user_id, name=name))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert not User.objects.filter(pk="ok").exists()


def test_user_errors(as_user, alice, bob) -> None:
    root = as_user("root")
    assert (
        _code(root.CreateUser, pb.CreateUserRequest(id="alice", name="A"))
        == grpc.StatusCode.ALREADY_EXISTS
    )
    assert (
        _code(as_user("alice").CreateUser, pb.CreateUserRequest(id="m", name="M"))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        _code(as_user(None).GetUser, pb.GetUserRequest(id="alice"))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    assert _code(root.GetUser, pb.GetUserRequest(id="ghost")) == grpc.StatusCode.NOT_FOUND
    assert (
        _code(as_user("bob").GetUser, pb.GetUserRequest(id="alice"))
        == grpc.StatusCode.PERMISSION_DENIED
    )


def test_roles(as_user, alice) -> None:
    root = as_user("root")
    assert root.AddRole(pb.AddRoleRequest(user_id="alice", role=pb.EDIT_TASK)).result is True
    assert root.AddRole(pb.AddRoleRequest(user_id="alice", role=pb.PROCESS_ETL_TASK)).result is True
    assert (
        root.AddRole(pb.AddRoleRequest(user_id="alice", role=pb.EDIT_TASK)).result is True
    )  # idempotent
    roles = as_user("alice").GetUser(pb.GetUserRequest(id="alice")).user.roles
    assert sorted(roles) == sorted([pb.EDIT_TASK, pb.PROCESS_ETL_TASK])
    assert root.RemoveRole(pb.RemoveRoleRequest(user_id="alice", role=pb.EDIT_TASK)).result is True
    assert list(as_user("alice").GetUser(pb.GetUserRequest(id="alice")).user.roles) == [
        pb.PROCESS_ETL_TASK
    ]
    assert (
        _code(root.AddRole, pb.AddRoleRequest(user_id="alice", role=99))
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (
        _code(as_user("alice").AddRole, pb.AddRoleRequest(user_id="alice", role=pb.ADMIN))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        _code(root.AddRole, pb.AddRoleRequest(user_id="ghost", role=pb.ADMIN))
        == grpc.StatusCode.NOT_FOUND
    )
    assert (
        _code(root.RemoveRole, pb.RemoveRoleRequest(user_id="root", role=pb.ADMIN))
        == grpc.StatusCode.FAILED_PRECONDITION
    )


def test_list_block_unblock_and_logins(as_user, alice, bob) -> None:
    root = as_user("root")
    listed = root.ListUsers(pb.ListUsersRequest())
    assert [u.id for u in listed.users] == ["alice", "bob", "root"]
    assert (
        _code(as_user("alice").ListUsers, pb.ListUsersRequest())
        == grpc.StatusCode.PERMISSION_DENIED
    )
    alice_caller = as_user("alice")
    assert alice_caller.GetUser(pb.GetUserRequest(id="alice")).user.id == "alice"
    assert root.BlockUser(pb.BlockUserRequest(user_id="alice", reason="offboarding")).result is True
    assert (
        _code(alice_caller.GetUser, pb.GetUserRequest(id="alice"))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    assert root.GetUser(pb.GetUserRequest(id="alice")).user.blocked is True
    assert root.UnblockUser(pb.UnblockUserRequest(user_id="alice")).result is True
    assert alice_caller.GetUser(pb.GetUserRequest(id="alice")).user.blocked is False
    services.login_record(
        user_id="alice",
        issuer="privetl",
        address="10.0.0.9",
        door="rest",
        success=False,
        reason="expired token",
    )
    logins = alice_caller.ListLogins(pb.ListLoginsRequest(user_id="alice")).logins
    assert ("rest", False, "expired token", "10.0.0.9") in [
        (e.door, e.success, e.reason, e.address) for e in logins
    ]
    assert (
        _code(as_user("bob").ListLogins, pb.ListLoginsRequest(user_id="alice"))
        == grpc.StatusCode.PERMISSION_DENIED
    )


# --- access requests ------------------------------------------------------------------


def test_add_access_approve_and_get_user(as_user, alice, olga) -> None:
    filed = as_user("alice").AddAccess(
        pb.AddAccessRequest(
            user_id="alice",
            access=_access(ext_datamodule_id="customers", access_types=[pb.READ], reason="churn"),
        )
    )
    assert filed.result is True and filed.access_request_id
    assert pb.AccessRequestState.Name(filed.state).endswith("PENDING")
    user = as_user("alice").GetUser(pb.GetUserRequest(id="alice")).user
    assert list(user.ext_datamodule_accesses) == []
    assert [(r.id, r.reason, r.user_id) for r in user.access_requests] == [
        (filed.access_request_id, "churn", "alice")
    ]

    pending = (
        as_user("olga").ListPendingAccessRequests(pb.ListPendingAccessRequestsRequest()).requests
    )
    assert [r.id for r in pending] == [filed.access_request_id]
    got = as_user("olga").GetAccessRequest(
        pb.GetAccessRequestRequest(access_request_id=filed.access_request_id)
    )
    assert got.request.ext_datamodule_id == "customers"

    assert (
        as_user("olga")
        .ApproveAccessRequest(
            pb.ApproveAccessRequestRequest(
                access_request_id=filed.access_request_id,
                owner_user_id="olga",
                state=True,
                note="ok",
            )
        )
        .result
        is True
    )
    user = as_user("alice").GetUser(pb.GetUserRequest(id="alice")).user
    [grant] = user.ext_datamodule_accesses
    assert (grant.id, grant.ext_datamodule_id, list(grant.access_types)) == (
        filed.access_request_id,
        "customers",
        [pb.READ],
    )
    assert pb.AccessRequestState.Name(grant.state).endswith("APPROVED")
    assert (grant.decided_by, grant.decision_note) == ("olga", "ok")
    assert list(user.access_requests) == []
    mine = (
        as_user("alice")
        .ListUserAccessRequests(pb.ListUserAccessRequestsRequest(user_id="alice"))
        .requests
    )
    assert [r.id for r in mine] == [filed.access_request_id]
    only_pending = as_user("alice").ListUserAccessRequests(
        pb.ListUserAccessRequestsRequest(user_id="alice", states=[pb.PENDING])
    )
    assert list(only_pending.requests) == []
    bad_state = pb.ListUserAccessRequestsRequest(user_id="alice", states=[42])
    assert (
        _code(as_user("alice").ListUserAccessRequests, bad_state)
        == grpc.StatusCode.INVALID_ARGUMENT
    )


def test_add_access_with_id_and_expiry(as_user, alice, olga) -> None:
    expires = Timestamp()
    expires.FromDatetime(timezone.now() + dt.timedelta(days=7))
    filed = as_user("alice").AddAccess(
        pb.AddAccessRequest(
            user_id="alice",
            access=_access(
                id="mine-1",
                ext_datamodule_id="customers",
                access_types=[pb.READ, pb.WRITE],
                expires_at=expires,
            ),
        )
    )
    assert filed.access_request_id == "mine-1"
    stored = AccessRequest.objects.get(pk="mine-1")
    assert abs((stored.expires_at - expires.ToDatetime(tzinfo=dt.UTC)).total_seconds()) < 1
    again = pb.AddAccessRequest(
        user_id="alice",
        access=_access(id="mine-1", ext_datamodule_id="orders", access_types=[pb.READ]),
    )
    assert _code(as_user("alice").AddAccess, again) == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(
    "access",
    [
        _access(ext_datamodule_id="", access_types=[pb.READ]),
        _access(ext_datamodule_id="customers"),
        _access(ext_datamodule_id="customers", access_types=[7]),
        _access(
            ext_datamodule_id="customers", access_types=[pb.READ], expires_at=Timestamp(seconds=1)
        ),
        _access(id="bad id", ext_datamodule_id="customers", access_types=[pb.READ]),
    ],
)
def test_add_access_bad_input(as_user, alice, access) -> None:
    code = _code(as_user("alice").AddAccess, pb.AddAccessRequest(user_id="alice", access=access))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert not AccessRequest.objects.filter(user_id="alice").exists()


def test_add_access_rules(as_user, alice, bob) -> None:
    request = pb.AddAccessRequest(
        user_id="alice", access=_access(ext_datamodule_id="customers", access_types=[pb.READ])
    )
    assert _code(as_user("bob").AddAccess, request) == grpc.StatusCode.PERMISSION_DENIED
    ghost = pb.AddAccessRequest(
        user_id="ghost", access=_access(ext_datamodule_id="customers", access_types=[pb.READ])
    )
    assert _code(as_user("root").AddAccess, ghost) == grpc.StatusCode.NOT_FOUND


def test_approve_errors(as_user, alice, olga, bob) -> None:
    rid = (
        as_user("alice")
        .AddAccess(
            pb.AddAccessRequest(
                user_id="alice",
                access=_access(ext_datamodule_id="customers", access_types=[pb.READ]),
            )
        )
        .access_request_id
    )

    def approve(
        caller: str, owner: str, state: bool = True, request_id: str = rid
    ) -> grpc.StatusCode:
        req = pb.ApproveAccessRequestRequest(
            access_request_id=request_id, owner_user_id=owner, state=state
        )
        return _code(as_user(caller).ApproveAccessRequest, req)

    assert approve("bob", "olga") == grpc.StatusCode.PERMISSION_DENIED  # forged owner
    assert approve("bob", "bob") == grpc.StatusCode.PERMISSION_DENIED  # not an owner
    assert approve("alice", "alice") == grpc.StatusCode.PERMISSION_DENIED  # self-approval
    assert approve("root", "root") == grpc.StatusCode.PERMISSION_DENIED  # module has an owner
    assert approve("olga", "olga", request_id="nope") == grpc.StatusCode.NOT_FOUND
    assert approve("olga", "") == grpc.StatusCode.INVALID_ARGUMENT
    assert AccessRequest.objects.get(pk=rid).state == "pending"
    as_user("olga").ApproveAccessRequest(
        pb.ApproveAccessRequestRequest(access_request_id=rid, owner_user_id="olga", state=False)
    )
    assert AccessRequest.objects.get(pk=rid).state == "denied"
    assert approve("olga", "olga") == grpc.StatusCode.FAILED_PRECONDITION


def test_remove_access_by_id_and_by_contents(as_user, alice, olga) -> None:
    alice_caller = as_user("alice")
    pending = alice_caller.AddAccess(
        pb.AddAccessRequest(
            user_id="alice", access=_access(ext_datamodule_id="customers", access_types=[pb.WRITE])
        )
    ).access_request_id
    assert (
        alice_caller.RemoveAccess(
            pb.RemoveAccessRequest(user_id="alice", access=_access(id=pending))
        ).result
        is True
    )
    assert AccessRequest.objects.get(pk=pending).state == "withdrawn"
    granted = alice_caller.AddAccess(
        pb.AddAccessRequest(
            user_id="alice", access=_access(ext_datamodule_id="customers", access_types=[pb.READ])
        )
    ).access_request_id
    as_user("olga").ApproveAccessRequest(
        pb.ApproveAccessRequestRequest(access_request_id=granted, owner_user_id="olga", state=True)
    )
    old_style = pb.RemoveAccessRequest(
        user_id="alice", access=_access(ext_datamodule_id="customers", access_types=[pb.READ])
    )
    assert as_user("olga").RemoveAccess(old_style).result is True
    assert AccessRequest.objects.get(pk=granted).state == "revoked"
    assert _code(alice_caller.RemoveAccess, old_style) == grpc.StatusCode.NOT_FOUND
    assert (
        list(alice_caller.GetUser(pb.GetUserRequest(id="alice")).user.ext_datamodule_accesses) == []
    )


def test_expired_grant_moves_to_field_5(as_user, alice, olga) -> None:
    rid = (
        as_user("alice")
        .AddAccess(
            pb.AddAccessRequest(
                user_id="alice",
                access=_access(ext_datamodule_id="customers", access_types=[pb.READ]),
            )
        )
        .access_request_id
    )
    as_user("olga").ApproveAccessRequest(
        pb.ApproveAccessRequestRequest(access_request_id=rid, owner_user_id="olga", state=True)
    )
    AccessRequest.objects.filter(pk=rid).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    user = as_user("alice").GetUser(pb.GetUserRequest(id="alice")).user
    assert list(user.ext_datamodule_accesses) == []
    [expired] = user.access_requests
    assert pb.AccessRequestState.Name(expired.state).endswith("EXPIRED")


def test_impersonation_is_audited_with_both_names(as_user, admin, alice) -> None:
    filed = as_user("alice", impersonator_id="root").AddAccess(
        pb.AddAccessRequest(
            user_id="alice", access=_access(ext_datamodule_id="orders", access_types=[pb.OWNER])
        )
    )
    [entry] = audit_entries(action="access_request.file", target_id=filed.access_request_id)
    assert (entry["actor_id"], entry["impersonator_id"]) == ("alice", "root")
    # the admin impersonating alice cannot approve alice's request (self-approval by proxy)
    as_alice = as_user("alice", impersonator_id="root")
    req = pb.ApproveAccessRequestRequest(
        access_request_id=filed.access_request_id, owner_user_id="alice", state=True
    )
    assert _code(as_alice.ApproveAccessRequest, req) == grpc.StatusCode.PERMISSION_DENIED


def test_paging_of_lists(as_user, admin, alice, olga) -> None:
    for n in range(5):
        services.user_create(actor=admin, id=f"u{n}", name=f"User {n}")
        as_user(f"u{n}").AddAccess(
            pb.AddAccessRequest(
                user_id=f"u{n}",
                access=_access(ext_datamodule_id="customers", access_types=[pb.READ]),
            )
        )
    olga_caller = as_user("olga")
    first = olga_caller.ListPendingAccessRequests(pb.ListPendingAccessRequestsRequest(page_size=2))
    second = olga_caller.ListPendingAccessRequests(
        pb.ListPendingAccessRequestsRequest(page_size=2, page_token=first.next_page_token)
    )
    third = olga_caller.ListPendingAccessRequests(
        pb.ListPendingAccessRequestsRequest(page_size=2, page_token=second.next_page_token)
    )
    ids = [r.user_id for page in (first, second, third) for r in page.requests]
    assert ids == [f"u{n}" for n in range(5)] and third.next_page_token == ""
    bad = pb.ListPendingAccessRequestsRequest(page_token="not-a-token")
    assert _code(olga_caller.ListPendingAccessRequests, bad) == grpc.StatusCode.INVALID_ARGUMENT

    root = as_user("root")
    page = root.ListUsers(pb.ListUsersRequest(page_size=3))
    rest = root.ListUsers(pb.ListUsersRequest(page_size=3, page_token=page.next_page_token))
    assert [u.id for u in page.users] + [u.id for u in rest.users] == [
        "alice",
        "olga",
        "root",
        "u0",
        "u1",
        "u2",
    ]
    # the token continues right after u2 (it is the signed keyset cursor, no longer the bare id)
    last = root.ListUsers(pb.ListUsersRequest(page_size=3, page_token=rest.next_page_token))
    assert [u.id for u in last.users] == ["u3", "u4"] and last.next_page_token == ""
    services.user_block(actor=admin, user_id="u0")
    visible = [u.id for u in root.ListUsers(pb.ListUsersRequest(page_size=100)).users]
    assert "u0" not in visible
    assert "u0" in [u.id for u in root.ListUsers(pb.ListUsersRequest(include_blocked=True)).users]
