"""The query budget of every list on both doors: a page costs the same whatever its size.

Each list is read with a page of 25 out of more rows, every user holding roles and every
request on a module with an owner, so a per-row query (an N+1) would blow the budget many
times over. The caller's first call is made before counting (it writes the login record).
REST runs in-process through the whole Django/DRF stack; the gRPC door runs the real
``grpc_door`` and servicer in the test thread (the counting fixture sees only this thread).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb
from privetl.platform import auth
from privetl.platform.auth import token_issue
from privetl.users.grpc import UserManagerServicer
from privetl.users.models import AccessRequest, LoginEvent, User, UserRole
from tests.users.grpc_helpers import InThreadContext

ROWS = 40
PAGE = 25
AUTH = 1
"""The caller, roles and blocked flag: one query on every authenticated call."""

BUDGETS = {
    "users": AUTH + 2,  # the page of users, their roles
    "logins": AUTH + 2,  # the user exists, the page
    "pending_owner": AUTH + 2,  # the caller's modules, the page
    "pending_admin": AUTH + 3,  # ... and the ownerless modules with pending requests
    "owned": AUTH + 2,  # the caller's modules, the page
    "user_requests": AUTH + 2,  # the user exists (seeing oneself needs no query), the page
}


@pytest.fixture
def data(admin, alice, olga) -> None:
    auth.VERIFIED_TOKENS.clear()
    now = timezone.now() - dt.timedelta(hours=1)
    User.objects.bulk_create(User(id=f"p{n:03d}", name=f"P {n}") for n in range(ROWS))
    UserRole.objects.bulk_create(
        UserRole(user_id=f"p{n:03d}", role=role, granted_by="root")
        for n in range(ROWS)
        for role in ("EDIT_TASK", "MANAGE_DATA")
    )
    LoginEvent.objects.bulk_create(
        LoginEvent(user_id="alice", door="rest", success=True, at=now) for _ in range(ROWS)
    )
    AccessRequest.objects.bulk_create(
        AccessRequest(
            id=f"q{n:03d}",
            user_id=f"p{n % ROWS:03d}",
            ext_datamodule_id="customers" if n % 2 else f"free{n}",  # owned by olga, or nobody
            read=True,
            created_at=now,
        )
        for n in range(ROWS * 2)
    )
    AccessRequest.objects.bulk_create(
        AccessRequest(id=f"a{n:03d}", user_id="alice", ext_datamodule_id=f"m{n}", read=True)
        for n in range(ROWS)
    )


REST = {
    "users": ("root", "/api/v1/users", {}, "users"),
    "logins": ("root", "/api/v1/users/alice/logins", {}, "logins"),
    "pending_owner": ("olga", "/api/v1/access-requests", {}, "access_requests"),
    "pending_admin": ("root", "/api/v1/access-requests", {}, "access_requests"),
    "owned": ("olga", "/api/v1/access-requests", {"pending": "false"}, "access_requests"),
    "user_requests": ("alice", "/api/v1/users/alice/access-requests", {}, "access_requests"),
}


@pytest.mark.parametrize("name", sorted(REST))
def test_rest_list_query_budget(data, name, django_assert_max_num_queries) -> None:
    caller, path, params, items = REST[name]
    client = Client()
    header = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user_id=caller)}"}
    client.get(path, {**params, "page_size": PAGE}, **header)  # first use: the login record
    with django_assert_max_num_queries(BUDGETS[name]):
        response = client.get(path, {**params, "page_size": PAGE}, **header)
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body[items]) == PAGE and body["next_page_token"]


GRPC = {
    "users": ("root", "ListUsers", pb.ListUsersRequest(page_size=PAGE), "users"),
    "logins": (
        "root",
        "ListLogins",
        pb.ListLoginsRequest(user_id="alice", page_size=PAGE),
        "logins",
    ),
    "pending_owner": (
        "olga",
        "ListPendingAccessRequests",
        pb.ListPendingAccessRequestsRequest(page_size=PAGE),
        "requests",
    ),
    "pending_admin": (
        "root",
        "ListPendingAccessRequests",
        pb.ListPendingAccessRequestsRequest(page_size=PAGE),
        "requests",
    ),
    "user_requests": (
        "alice",
        "ListUserAccessRequests",
        pb.ListUserAccessRequestsRequest(user_id="alice", page_size=PAGE),
        "requests",
    ),
}


@pytest.mark.django_db(transaction=True)  # the door closes stale connections, as in a server
@pytest.mark.parametrize("name", sorted(GRPC))
def test_grpc_list_query_budget(data, name, django_assert_max_num_queries) -> None:
    caller, method, request, items = GRPC[name]
    call = getattr(UserManagerServicer(), method)
    token = token_issue(user_id=caller)
    call(request, InThreadContext(token))  # first use: the login record is written
    with django_assert_max_num_queries(BUDGETS[name]):
        response = call(request, InThreadContext(token))
    assert len(getattr(response, items)) == PAGE and response.next_page_token
