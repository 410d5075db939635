"""What an owner and a bystander may learn of other people's access requests.

An owner of a module sees a requester — deciding needs to know who asks — but only the
requests on modules they own, and not the requester's roles. Removing a request one may
not see is answered as if it did not exist, so nobody learns of requests by probing.
Through the services both doors call, and once through each door.
"""

from __future__ import annotations

import grpc
import pytest
from rest_framework.test import APIClient

from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb
from privetl._gen.etl.user.manager.V1 import user_manager_pb2_grpc as pb_grpc
from privetl.common.context import Actor
from privetl.common.errors import NotFound
from privetl.platform.auth import token_issue
from privetl.users import selectors, services
from privetl.users.models import AccessRequest
from tests.users.conftest import actor_for
from tests.users.grpc_helpers import running_server


@pytest.fixture
def requests_of_alice(admin: Actor, alice: Actor, olga: Actor) -> dict[str, str]:
    """alice asks olga's module for READ and another owner's module for WRITE; alice is an
    EDIT_TASK holder (a role olga should not see)."""
    services.user_role_add(actor=admin, user_id="alice", role="EDIT_TASK")
    services.user_create(actor=admin, id="oscar", name="Oscar Other Owner")
    oscar = actor_for("oscar")
    owning = services.access_request_file(
        actor=oscar, user_id="oscar", ext_datamodule_id="payroll", access_types=["OWNER"]
    )
    services.access_request_decide(
        actor=admin, access_request_id=owning.id, owner_user_id="root", approve=True
    )
    mine = services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["READ"]
    )
    theirs = services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="payroll", access_types=["WRITE"]
    )
    return {"customers": mine.id, "payroll": theirs.id}


def test_an_owner_sees_only_requests_on_their_modules_and_no_roles(
    olga: Actor, requests_of_alice: dict[str, str]
) -> None:
    seen = selectors.user_get_for_actor(actor=olga, user_id="alice")
    shown = [r.id for r in [*seen.grants, *seen.other_requests]]
    assert shown == [requests_of_alice["customers"]]
    assert seen.roles == []
    listed = selectors.access_requests_for_user(actor=olga, user_id="alice")
    assert [r.id for r in listed.items] == [requests_of_alice["customers"]]


def test_the_user_and_admins_still_see_everything(
    admin: Actor, alice: Actor, requests_of_alice: dict[str, str]
) -> None:
    for viewer in (alice, admin):
        seen = selectors.user_get_for_actor(actor=viewer, user_id="alice")
        assert {r.id for r in seen.other_requests} == set(requests_of_alice.values())
        assert seen.roles == ["EDIT_TASK"]


def test_an_owner_sees_it_through_rest(olga: Actor, requests_of_alice: dict[str, str]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='olga')}")
    user = client.get("/api/v1/users/alice").json()
    assert [r["id"] for r in user["access_requests"]] == [requests_of_alice["customers"]]
    assert user["roles"] == []
    listed = client.get("/api/v1/users/alice/access-requests").json()
    assert [r["id"] for r in listed["access_requests"]] == [requests_of_alice["customers"]]


@pytest.mark.django_db(transaction=True)
def test_an_owner_sees_it_through_grpc(olga: Actor, requests_of_alice: dict[str, str]) -> None:
    metadata = [("authorization", f"Bearer {token_issue(user_id='olga')}")]
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.UserManagerStub(channel)
        user = stub.GetUser(pb.GetUserRequest(id="alice"), metadata=metadata, timeout=10).user
        listed = stub.ListUserAccessRequests(
            pb.ListUserAccessRequestsRequest(user_id="alice"), metadata=metadata, timeout=10
        )
    assert [r.id for r in user.access_requests] == [requests_of_alice["customers"]]
    assert list(user.roles) == []
    assert [r.id for r in listed.requests] == [requests_of_alice["customers"]]


def test_removing_a_request_one_may_not_see_is_answered_as_absent(
    bob: Actor, olga: Actor, requests_of_alice: dict[str, str]
) -> None:
    existing = requests_of_alice["payroll"]
    with pytest.raises(NotFound) as hidden:
        services.access_request_remove(actor=olga, user_id="alice", access_request_id=existing)
    with pytest.raises(NotFound) as absent:
        services.access_request_remove(actor=olga, user_id="alice", access_request_id="nope")
    assert hidden.value.message.replace(existing, "X") == absent.value.message.replace("nope", "X")
    assert hidden.value.field == absent.value.field
    # by contents, as old clients remove: the same answer as for contents that match nothing
    with pytest.raises(NotFound) as by_contents:
        services.access_request_remove(
            actor=bob, user_id="alice", ext_datamodule_id="payroll", access_types=["WRITE"]
        )
    with pytest.raises(NotFound) as nothing:
        services.access_request_remove(
            actor=bob, user_id="alice", ext_datamodule_id="payroll", access_types=["READ"]
        )
    assert by_contents.value.message.replace("WRITE", "T") == nothing.value.message.replace(
        "READ", "T"
    )
    assert AccessRequest.objects.get(pk=existing).state == "pending"


@pytest.mark.django_db(transaction=True)
def test_grpc_remove_access_answers_alike(bob: Actor, requests_of_alice: dict[str, str]) -> None:
    metadata = [("authorization", f"Bearer {token_issue(user_id='bob')}")]
    codes = {}
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.UserManagerStub(channel)
        for name, request_id in (("existing", requests_of_alice["payroll"]), ("absent", "nope")):
            with pytest.raises(grpc.RpcError) as caught:
                stub.RemoveAccess(
                    pb.RemoveAccessRequest(
                        user_id="alice", access=pb.ExtDatamoduleAccess(id=request_id)
                    ),
                    metadata=metadata,
                    timeout=10,
                )
            codes[name] = caught.value.code()
    assert codes == {"existing": grpc.StatusCode.NOT_FOUND, "absent": grpc.StatusCode.NOT_FOUND}
