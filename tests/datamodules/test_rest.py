"""The REST door (``/api/v1/connections``) in-process through the whole Django/DRF stack,
with real tokens; every response is checked against docs/openapi.yaml by the suite."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from privetl.datamodules.models import Connection
from privetl.platform.auth import token_issue
from privetl.users.models import AccessRequest

pytestmark = pytest.mark.django_db

PG = "postgresql://etl:pw-Secret1@db.example:5432/shop?password=pw-Secret2"


@pytest.fixture
def as_user():
    def make(user_id: str | None) -> APIClient:
        client = APIClient()
        if user_id:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id=user_id)}")
        return client

    return make


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"], body
    return body


def _body(**kw: Any) -> dict[str, Any]:
    return {"id": "shop", "name": "Shop DB", "type": "SQL", "connection_string": PG, **kw}


def test_every_endpoint(as_user, carol, dave, alice, contract, tmp_path) -> None:
    rest = as_user("carol")
    created = rest.post(
        "/api/v1/connections", _body(owner_user_ids=["dave"], contract=contract), format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json() == {"connection_id": "shop", "owner_user_ids": ["carol", "dave"]}

    got = as_user("alice").get("/api/v1/connections/shop")
    assert got.status_code == 200
    body = got.json()
    assert "connection_string" not in body
    assert body["connection_string_redacted"] == (
        "postgresql://etl:***@db.example:5432/shop?password=***"
    )
    assert body["caller_access"] == "NONE" and body["owner_user_ids"] == ["carol", "dave"]
    assert body["contract"] == contract

    rest.post(
        "/api/v1/connections",
        _body(id="files", type="FILE", connection_string=str(tmp_path)),
        format="json",
    )
    listed = as_user("dave").get("/api/v1/connections", {"page_size": 1})
    assert listed.status_code == 200
    first = listed.json()
    assert [c["id"] for c in first["connections"]] == ["files"]
    assert first["connections"][0]["caller_access"] == "NONE"
    second = (
        as_user("dave")
        .get("/api/v1/connections", {"page_size": 1, "page_token": first["next_page_token"]})
        .json()
    )
    assert [(c["id"], c["caller_access_types"], c["contract"]) for c in second["connections"]] == [
        ("shop", ["OWNER"], "")  # a list leaves contracts out; GetConnection gives them
    ]
    assert second["next_page_token"] == ""
    only_sql = as_user("dave").get("/api/v1/connections", {"type": "SQL"}).json()
    assert [c["id"] for c in only_sql["connections"]] == ["shop"]

    updated = rest.patch(
        "/api/v1/connections/shop",
        {"update_mask": ["description"], "description": "the shop"},
        format="json",
    )
    assert updated.status_code == 200 and updated.json()["description"] == "the shop"

    tested = rest.post("/api/v1/connections/files/test", {"timeout_seconds": 2}, format="json")
    assert tested.status_code == 200, tested.content
    assert tested.json()["ok"] is True and tested.json()["connection_id"] == "files"


def test_errors_have_their_http_status_and_change_nothing(as_user, carol, alice) -> None:
    _error(as_user(None).get("/api/v1/connections"), 401, "UNAUTHENTICATED")
    _error(
        as_user("alice").post("/api/v1/connections", _body(), format="json"),
        403,
        "PERMISSION_DENIED",
    )
    rest = as_user("carol")
    bad = _error(
        rest.post("/api/v1/connections", _body(type="MONGO"), format="json"),
        400,
        "INVALID_ARGUMENT",
    )
    assert bad["field"] == "connection.type"
    _error(rest.post("/api/v1/connections", {"name": "x"}, format="json"), 400, "INVALID_ARGUMENT")
    assert not Connection.objects.exists() and not AccessRequest.objects.exists()
    assert rest.post("/api/v1/connections", _body(), format="json").status_code == 201
    _error(rest.post("/api/v1/connections", _body(), format="json"), 409, "ALREADY_EXISTS")
    _error(rest.get("/api/v1/connections/nosuch"), 404, "NOT_FOUND")
    _error(rest.get("/api/v1/connections", {"type": "MONGO"}), 400, "INVALID_ARGUMENT")
    _error(rest.get("/api/v1/connections", {"page_size": 501}), 400, "INVALID_ARGUMENT")
    _error(rest.get("/api/v1/connections", {"page_token": "forged"}), 400, "INVALID_ARGUMENT")
    _error(
        rest.patch("/api/v1/connections/shop", {"update_mask": ["id"]}, format="json"),
        400,
        "INVALID_ARGUMENT",
    )
    _error(
        as_user("alice").patch(
            "/api/v1/connections/shop", {"update_mask": ["name"], "name": "x"}, format="json"
        ),
        403,
        "PERMISSION_DENIED",
    )
    _error(
        rest.patch(
            "/api/v1/connections/nosuch", {"update_mask": ["name"], "name": "x"}, format="json"
        ),
        404,
        "NOT_FOUND",
    )
    _error(
        as_user("alice").post("/api/v1/connections/shop/test", {}, format="json"),
        403,
        "PERMISSION_DENIED",
    )
    _error(
        rest.post("/api/v1/connections/shop/test", {"timeout_seconds": 99}, format="json"),
        400,
        "INVALID_ARGUMENT",
    )
    _error(rest.post("/api/v1/connections/nosuch/test", {}, format="json"), 404, "NOT_FOUND")
    rest.post(
        "/api/v1/connections",
        _body(id="rpc", type="GRPC", connection_string="grpc://127.0.0.1:1"),
        format="json",
    )
    unsupported = _error(
        rest.post("/api/v1/connections/rpc/test", {}, format="json"), 409, "FAILED_PRECONDITION"
    )
    assert "not supported yet" in unsupported["message"]
    assert Connection.objects.get(pk="shop").name == "Shop DB"


def test_add_access_on_an_unknown_id_is_404_once_connections_exist(as_user, carol, alice) -> None:
    as_user("carol").post("/api/v1/connections", _body(), format="json")
    alice_rest = as_user("alice")
    _error(
        alice_rest.post(
            "/api/v1/users/alice/access-requests",
            {"ext_datamodule_id": "nosuch", "access_types": ["READ"]},
            format="json",
        ),
        404,
        "NOT_FOUND",
    )
    filed = alice_rest.post(
        "/api/v1/users/alice/access-requests",
        {"ext_datamodule_id": "shop", "access_types": ["READ"]},
        format="json",
    )
    assert filed.status_code == 201, filed.content
    assert alice_rest.get("/api/v1/connections/shop").json()["caller_access"] == "REQUESTED"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 123}, "connection.name"),
        ({"name": "\u202eevil"}, "connection.name"),
        ({"name": "x" * 201}, "connection.name"),
        ({"id": "has space"}, "connection.id"),
        ({"type": "sql"}, "connection.type"),
        ({"type": ["SQL"]}, "connection.type"),
        ({"description": "bell\x07"}, "connection.description"),
        ({"connection_string": 5}, "connection.connection_string"),
        ({"contract": {"@type": "sc:Dataset"}}, "connection.contract"),
        ({"owner_user_ids": "dave"}, "connection.owner_user_ids"),
        ({"owner_user_ids": [1]}, "connection.owner_user_ids"),
    ],
)
def test_bodies_are_taken_as_sent_or_refused_naming_the_field(
    as_user, carol, body: dict[str, Any], field: str
) -> None:
    refused = _error(
        as_user("carol").post("/api/v1/connections", _body(**body), format="json"),
        400,
        "INVALID_ARGUMENT",
    )
    assert refused["field"] == field, refused
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "data", "field"),
    [
        ("get", "/api/v1/connections", {"page_size": "ten"}, "page_size"),
        ("get", "/api/v1/connections", {"typ": "SQL"}, "typ"),
        ("post", "/api/v1/connections/shop/test", {"timeout_seconds": "2"}, "timeout_seconds"),
        ("post", "/api/v1/connections/shop/test", {"timeout_seconds": True}, "timeout_seconds"),
        ("patch", "/api/v1/connections/shop", {"update_mask": "name"}, "update_mask"),
        ("patch", "/api/v1/connections/shop", {"update_mask": ["created_by"]}, "update_mask"),
    ],
)
def test_queries_and_other_bodies_are_strict_too(
    as_user, carol, method: str, path: str, data: dict[str, Any], field: str
) -> None:
    call = getattr(as_user("carol"), method)
    response = call(path, data) if method == "get" else call(path, data, format="json")
    assert _error(response, 400, "INVALID_ARGUMENT")["field"] == field
