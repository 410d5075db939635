"""Every list of the User Manager, on both doors, pages to the end with no silent cap.

More than ``MAX_PAGE_SIZE`` rows are made with ``bulk_create`` (not through the API), then
each list is read page by page: every row comes exactly once, in the list's order, and
``next_page_token`` is empty only on the last page. A ``page_size`` above the maximum is
refused naming it, and a token that is forged or belongs to another list is refused.
REST runs in-process through the whole Django/DRF stack; gRPC over a real channel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from django.test import Client
from django.utils import timezone

from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as pb
from privetl._gen.etl.user.manager.V1 import user_manager_pb2_grpc as pb_grpc
from privetl.common.paging import MAX_PAGE_SIZE
from privetl.platform.auth import token_issue
from privetl.users.models import AccessRequest, LoginEvent, User
from tests.users.grpc_helpers import running_server

pytestmark = pytest.mark.django_db(transaction=True)

CROWD = MAX_PAGE_SIZE + 23
"""Rows per list: more than one full page of the largest size."""


@pytest.fixture
def crowd(admin, alice, olga) -> dict[str, list[str]]:
    """CROWD rows for every list, with ties on the first order field; the expected orders."""
    base = timezone.now() - dt.timedelta(days=1)
    User.objects.bulk_create(
        User(id=f"p{n:04d}", name=f"Person {n}", created_at=base) for n in range(CROWD)
    )
    LoginEvent.objects.bulk_create(
        LoginEvent(
            user_id="alice",
            door="rest",
            success=True,
            address=f"login-{n:04d}",
            at=base + dt.timedelta(seconds=n // 3),  # ties of three
        )
        for n in range(CROWD)
    )
    AccessRequest.objects.bulk_create(
        AccessRequest(
            id=f"q{CROWD - n:04d}",  # ids against the time order: the tie-breaker shows
            user_id=f"p{n:04d}",
            ext_datamodule_id="customers",
            read=True,
            created_at=base + dt.timedelta(seconds=n // 4),
        )
        for n in range(CROWD)
    )
    AccessRequest.objects.bulk_create(
        AccessRequest(
            id=f"a{n:04d}",
            user_id="alice",
            ext_datamodule_id=f"m{n % 7}",
            write=True,
            state="denied" if n % 2 else "pending",
            created_at=base + dt.timedelta(seconds=n // 5),
        )
        for n in range(2 * CROWD)  # half of them denied: the filtered list is long too
    )

    def requests(**filters: Any) -> list[str]:
        rows = AccessRequest.objects.filter(**filters)
        return [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id))]

    logins = sorted(
        LoginEvent.objects.filter(user_id="alice"), key=lambda e: (e.at, e.pk), reverse=True
    )
    return {
        "users": sorted(User.objects.values_list("id", flat=True)),
        "logins": [e.address for e in logins],
        "pending": requests(ext_datamodule_id="customers", state="pending"),
        "owned": requests(ext_datamodule_id="customers"),
        "user_requests": requests(user_id="alice"),
        "user_requests_denied": requests(user_id="alice", state="denied"),
    }


# --- REST ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestList:
    caller: str
    path: str
    params: dict[str, Any]
    items: str
    key: str


REST_LISTS = {
    "users": RestList("root", "/api/v1/users", {}, "users", "id"),
    "logins": RestList("root", "/api/v1/users/alice/logins", {}, "logins", "address"),
    "pending": RestList(
        "olga", "/api/v1/access-requests", {"pending": "true"}, "access_requests", "id"
    ),
    "owned": RestList(
        "olga", "/api/v1/access-requests", {"pending": "false"}, "access_requests", "id"
    ),
    "user_requests": RestList(
        "alice", "/api/v1/users/alice/access-requests", {}, "access_requests", "id"
    ),
    "user_requests_denied": RestList(
        "root", "/api/v1/users/alice/access-requests", {"state": "DENIED"}, "access_requests", "id"
    ),
}


def _rest_get(listing: RestList, **params: Any) -> Any:
    client = Client()
    return client.get(
        listing.path,
        {**listing.params, **params},
        HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id=listing.caller)}",
    )


def _rest_all(listing: RestList, page_size: int) -> tuple[list[str], int]:
    seen: list[str] = []
    token, pages = "", 0
    while True:
        response = _rest_get(listing, page_size=page_size, page_token=token)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [item[listing.key] for item in body[listing.items]]
        pages += 1
        token = body["next_page_token"]
        if not token:
            return seen, pages
        assert len(body[listing.items]) == (page_size or 50)  # only the last page is short


@pytest.mark.parametrize("name", sorted(REST_LISTS))
def test_rest_lists_page_to_the_end(crowd, name) -> None:
    expected = crowd[name]
    assert len(expected) > MAX_PAGE_SIZE
    seen, pages = _rest_all(REST_LISTS[name], MAX_PAGE_SIZE)
    assert seen == expected and len(set(seen)) == len(seen)
    assert pages == -(-len(expected) // MAX_PAGE_SIZE)


def test_rest_default_page_size_pages_to_the_end_too(crowd) -> None:
    listing = REST_LISTS["users"]
    response = _rest_get(listing)
    assert len(response.json()["users"]) == 50
    seen, _ = _rest_all(listing, 0)
    assert seen == crowd["users"]


@pytest.mark.parametrize("name", sorted(REST_LISTS))
def test_rest_lists_refuse_a_page_size_above_the_maximum(crowd, name) -> None:
    response = _rest_get(REST_LISTS[name], page_size=MAX_PAGE_SIZE + 1)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "INVALID_ARGUMENT" and body["field"] == "page_size"
    assert str(MAX_PAGE_SIZE) in body["message"]


@pytest.mark.parametrize("name", sorted(REST_LISTS))
def test_rest_lists_refuse_forged_and_foreign_tokens(crowd, name) -> None:
    listing = REST_LISTS[name]
    other = REST_LISTS["logins" if name == "users" else "users"]
    foreign = _rest_get(other, page_size=1).json()["next_page_token"]
    assert foreign
    for token in ("forged", foreign):
        response = _rest_get(listing, page_token=token)
        assert response.status_code == 400, (token, response.content)
        assert response.json()["field"] == "page_token"


@pytest.mark.parametrize("name", sorted(REST_LISTS))
def test_rest_lists_refuse_the_old_limit_rather_than_ignore_it(crowd, name) -> None:
    response = _rest_get(REST_LISTS[name], limit=1000)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "limit" and "page_size" in response.json()["message"]


def test_rest_token_is_tied_to_the_filters(crowd) -> None:
    denied = REST_LISTS["user_requests_denied"]
    token = _rest_get(denied, page_size=1).json()["next_page_token"]
    everything = RestList("root", denied.path, {}, denied.items, denied.key)
    response = _rest_get(everything, page_token=token)
    assert response.status_code == 400 and response.json()["field"] == "page_token"


# --- gRPC ------------------------------------------------------------------------------


@pytest.fixture
def stub(transactional_db) -> Iterator[pb_grpc.UserManagerStub]:
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield pb_grpc.UserManagerStub(channel)


@dataclass(frozen=True)
class GrpcList:
    caller: str
    method: str
    request: Callable[..., Any]
    items: str
    key: str


GRPC_LISTS = {
    "users": GrpcList(
        "root",
        "ListUsers",
        lambda **kw: pb.ListUsersRequest(include_blocked=True, **kw),
        "users",
        "id",
    ),
    "logins": GrpcList(
        "root",
        "ListLogins",
        lambda **kw: pb.ListLoginsRequest(user_id="alice", **kw),
        "logins",
        "address",
    ),
    "pending": GrpcList(
        "olga",
        "ListPendingAccessRequests",
        lambda **kw: pb.ListPendingAccessRequestsRequest(**kw),
        "requests",
        "id",
    ),
    "user_requests": GrpcList(
        "alice",
        "ListUserAccessRequests",
        lambda **kw: pb.ListUserAccessRequestsRequest(user_id="alice", **kw),
        "requests",
        "id",
    ),
    "user_requests_denied": GrpcList(
        "root",
        "ListUserAccessRequests",
        lambda **kw: pb.ListUserAccessRequestsRequest(user_id="alice", states=[pb.DENIED], **kw),
        "requests",
        "id",
    ),
}


def _grpc_call(stub, listing: GrpcList, **fields: Any) -> Any:
    metadata = (("authorization", f"Bearer {token_issue(user_id=listing.caller)}"),)
    return getattr(stub, listing.method)(listing.request(**fields), metadata=metadata, timeout=60)


def _grpc_code(stub, listing: GrpcList, **fields: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as exc:
        _grpc_call(stub, listing, **fields)
    return exc.value.code(), exc.value.details()


@pytest.mark.parametrize("name", sorted(GRPC_LISTS))
def test_grpc_lists_page_to_the_end(crowd, stub, name) -> None:
    listing, expected = GRPC_LISTS[name], crowd[name]
    assert len(expected) > MAX_PAGE_SIZE
    seen: list[str] = []
    token, pages = "", 0
    while True:
        response = _grpc_call(stub, listing, page_size=MAX_PAGE_SIZE, page_token=token)
        items = getattr(response, listing.items)
        seen += [getattr(item, listing.key) for item in items]
        pages += 1
        token = response.next_page_token
        if not token:
            break
        assert len(items) == MAX_PAGE_SIZE
    assert seen == expected and len(set(seen)) == len(seen)
    assert pages == -(-len(expected) // MAX_PAGE_SIZE)


def test_grpc_old_style_request_gets_the_first_default_page(crowd, stub) -> None:
    """A client that sends no paging fields gets the first page of the default size."""
    listing = GRPC_LISTS["users"]
    response = _grpc_call(stub, listing)
    assert [u.id for u in response.users] == crowd["users"][:50] and response.next_page_token


@pytest.mark.parametrize("name", sorted(GRPC_LISTS))
def test_grpc_lists_refuse_a_page_size_above_the_maximum(crowd, stub, name) -> None:
    code, details = _grpc_code(stub, GRPC_LISTS[name], page_size=MAX_PAGE_SIZE + 1)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and str(MAX_PAGE_SIZE) in details


@pytest.mark.parametrize("name", sorted(GRPC_LISTS))
def test_grpc_lists_refuse_forged_and_foreign_tokens(crowd, stub, name) -> None:
    other = GRPC_LISTS["logins" if name == "users" else "users"]
    foreign = _grpc_call(stub, other, page_size=1).next_page_token
    rest_token = _rest_get(REST_LISTS["users" if name != "users" else "logins"], page_size=1)
    for token in ("forged", foreign, rest_token.json()["next_page_token"]):
        code, _ = _grpc_code(stub, GRPC_LISTS[name], page_token=token)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, token
