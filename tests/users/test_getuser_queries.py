"""GetUser's query budget on both doors, so the duplicated reads cannot come back.

One GetUser is: the caller with its roles and blocked flag (one query, fresh on every
call), then the target user, its roles and its requests (one query each, whatever the
number of grants). The REST door runs in-process through the whole Django/DRF stack; the
gRPC door runs the real ``grpc_door`` and servicer in the test thread (the counting
fixture sees only this thread's connection, and a gRPC server runs handlers on pool threads).
"""

from __future__ import annotations

import pytest
from django.test import Client

from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb
from privetl.platform import auth
from privetl.platform.auth import token_issue
from privetl.users import services
from privetl.users.grpc import UserManagerServicer
from tests.users.conftest import actor_for
from tests.users.grpc_helpers import InThreadContext

GET_USER_QUERIES = 4


@pytest.fixture
def alice_with_grants(admin, olga, alice) -> str:
    """alice: two roles, three current grants on modules olga owns, one pending request."""
    auth.VERIFIED_TOKENS.clear()
    for role in ("EDIT_TASK", "MANAGE_DATA"):
        services.user_role_add(actor=admin, user_id="alice", role=role)
    for module in ("customers", "orders", "invoices", "pending"):
        request = services.access_request_file(
            actor=alice, user_id="alice", ext_datamodule_id=module, access_types=["READ"]
        )
        if module != "pending":
            owner = actor_for("olga") if module == "customers" else admin
            services.access_request_decide(
                actor=owner,
                access_request_id=request.id,
                owner_user_id=owner.user_id,
                approve=True,
            )
    return "alice"


@pytest.mark.parametrize("caller", ["root", "alice"])
def test_rest_get_user_query_budget(
    alice_with_grants, caller, django_assert_max_num_queries
) -> None:
    client = Client()
    header = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user_id=caller)}"}
    client.get("/api/v1/users/alice", **header)  # first use: the login record is written
    with django_assert_max_num_queries(GET_USER_QUERIES):
        response = client.get("/api/v1/users/alice", **header)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["roles"] == ["EDIT_TASK", "MANAGE_DATA"]
    assert len(body["ext_datamodule_accesses"]) == 3
    assert [r["state"] for r in body["access_requests"]] == ["PENDING"]


@pytest.mark.django_db(transaction=True)  # the door closes stale connections, as in a server
@pytest.mark.parametrize("caller", ["root", "alice"])
def test_grpc_get_user_query_budget(
    alice_with_grants, caller, django_assert_max_num_queries
) -> None:
    servicer = UserManagerServicer()
    token = token_issue(user_id=caller)
    request = pb.GetUserRequest(id="alice")
    servicer.GetUser(request, InThreadContext(token))  # first use: the login record is written
    with django_assert_max_num_queries(GET_USER_QUERIES):
        response = servicer.GetUser(request, InThreadContext(token))
    assert list(response.user.roles) == [
        pb.UserRole.Value("EDIT_TASK"),
        pb.UserRole.Value("MANAGE_DATA"),
    ]
    assert len(response.user.ext_datamodule_accesses) == 3
    assert len(response.user.access_requests) == 1
