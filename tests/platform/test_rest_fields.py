"""The REST door's strict input fields (``privetl.platform.rest_fields``): a value of the wrong
type, or a time without a zone, is 400 INVALID_ARGUMENT naming the input and changes nothing —
where DRF's own fields would coerce it (``123`` → ``"123"``, ``"yes"`` → true, a naive time
→ UTC). Their refusals use the services' words, and the schema states the rules they and the
services enforce."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from privetl.audit.models import AuditLog
from privetl.common.errors import InvalidArgument
from privetl.common.text import (
    DISPLAY_NAME_PATTERN,
    FREE_TEXT_PATTERN,
    ID_PATTERN,
    checked_display_name,
    checked_free_text,
)
from privetl.platform.auth import token_issue
from privetl.users import services
from privetl.users.models import AccessRequest, User
from tests.openapi import SCHEMA

ACCESS_URL = "/api/v1/users/alice/access-requests"


def client_for(user_id: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id=user_id)}")
    return client


def refused(response: Any, field: str) -> str:
    """The message of a 400 INVALID_ARGUMENT naming ``field``."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("INVALID_ARGUMENT", field), body
    return str(body["message"])


# --- no coercion ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"id": 123, "name": "X"}, "id", "id must be a string, not a number"),
        ({"id": True, "name": "X"}, "id", "id must be a string, not a boolean"),
        ({"id": "ok", "name": 4.5}, "name", "name must be a string, not a number"),
        ({"id": "ok", "name": "X", "email": False}, "email", "must be a string, not a boolean"),
        ({"id": ["ok"], "name": "X"}, "id", "id must be a string, not an array"),
    ],
)
def test_a_number_or_boolean_is_not_taken_as_text(users, body, field, words) -> None:
    before = (User.objects.count(), AuditLog.objects.count())
    assert words in refused(client_for("root").post("/api/v1/users", body, format="json"), field)
    assert (User.objects.count(), AuditLog.objects.count()) == before


def test_a_boolean_must_be_true_or_false(users) -> None:
    request = services.access_request_file(
        actor=users["alice"], user_id="alice", ext_datamodule_id="m1", access_types=["READ"]
    )
    url = f"/api/v1/access-requests/{request.id}/decision"
    for approve in ("yes", 1, "true"):
        response = client_for("root").post(url, {"approve": approve}, format="json")
        assert "approve must be true or false" in refused(response, "approve")
    assert AccessRequest.objects.get(pk=request.id).state == "pending"


def test_a_time_without_a_zone_is_refused_and_nothing_is_filed(users) -> None:
    response = client_for("alice").post(
        ACCESS_URL,
        {"ext_datamodule_id": "m1", "access_types": ["READ"], "expires_at": "2999-01-31T12:00:00"},
        format="json",
    )
    message = refused(response, "access.expires_at")
    assert message == "access.expires_at needs a time zone (e.g. 2026-01-31T12:00:00Z)"
    assert not AccessRequest.objects.exists()


def test_a_time_with_a_zone_is_kept_as_that_instant(users) -> None:
    response = client_for("alice").post(
        ACCESS_URL,
        {
            "ext_datamodule_id": "m1",
            "access_types": ["READ"],
            "expires_at": "2999-01-31T12:00+02:00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["expires_at"] == "2999-01-31T10:00:00Z"


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"since": "2026-01-31T12:00:00"}, "since", "since needs a time zone"),
        ({"until": ""}, "until", "until is not a date-time"),
        ({"until": "tomorrow"}, "until", "until is not a date-time"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since", "since is out of range"),
        ({"page_size": "1.5"}, "page_size", "page_size: '1.5' is not an integer"),
        ({"page_size": "501"}, "page_size", "page_size must be between 1 and 500"),
    ],
)
def test_audit_query_parameters_are_strict(users, query, field, words) -> None:
    response = client_for("root").get("/api/v1/audit-logs", query)
    assert words in refused(response, field)


def test_users_query_parameters_are_strict(users) -> None:
    client = client_for("root")
    assert "pending must be true or false" in refused(
        client.get("/api/v1/access-requests", {"pending": "perhaps"}), "pending"
    )
    assert "500" in refused(client.get("/api/v1/users", {"page_size": "501"}), "page_size")
    response = client.get(ACCESS_URL, {"state": ["PENDING", "SOON"]})
    assert "'SOON' is not allowed" in refused(response, "state")


# --- the same words as the service (both doors say the same thing) ----------------------


@pytest.mark.parametrize("bad_id", ["", "x" * 65, "no spaces", "naïve"])
def test_an_id_is_refused_in_the_services_words(users, bad_id) -> None:
    with pytest.raises(InvalidArgument) as service:
        services.validate_id(bad_id, field="id")
    response = client_for("root").post("/api/v1/users", {"id": bad_id, "name": "X"}, format="json")
    assert refused(response, "id") == service.value.message
    assert not User.objects.filter(name="X").exists()


def test_a_request_id_is_refused_under_the_services_name(users) -> None:
    response = client_for("alice").post(
        ACCESS_URL, {"id": 7, "ext_datamodule_id": "m1", "access_types": ["READ"]}, format="json"
    )
    assert refused(response, "access.id") == "access.id must be a string, not a number"


# --- the schema states the rules --------------------------------------------------------


def _schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA.read_text())


def test_the_schema_states_the_id_rule_everywhere_an_id_is_taken() -> None:
    schema = _schema()
    create = schema["components"]["schemas"]["UserCreateInRequest"]
    assert create["required"] == ["id", "name"]
    assert create["properties"]["id"]["pattern"] == ID_PATTERN.pattern
    assert create["properties"]["id"]["maxLength"] == 64
    assert create["properties"]["id"]["minLength"] == 1  # refused when blank: not allow_blank
    assert create["properties"]["name"]["pattern"] == DISPLAY_NAME_PATTERN
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"].endswith(
                    ("user_id", "access_request_id")
                ):
                    assert parameter["schema"]["pattern"] == ID_PATTERN.pattern, path
    role = schema["components"]["schemas"]["RoleInRequest"]["properties"]["role"]
    assert role["allOf"] == [{"$ref": "#/components/schemas/RolesEnum"}]


def test_optional_free_text_may_be_empty_in_the_schema() -> None:
    reason = _schema()["components"]["schemas"]["BlockInRequest"]["properties"]["reason"]
    assert {"type": "string", "maxLength": 0} in reason["anyOf"]
    assert "oneOf" not in reason  # "" matches both options: oneOf would forbid it


def test_every_operation_with_a_body_documents_413_and_415() -> None:
    for path, operations in _schema()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert {"413", "415"} <= set(operation["responses"]), (method, path)


def test_a_body_that_is_not_json_is_a_documented_415(users) -> None:
    response = client_for("root").post(
        "/api/v1/users", data="id=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415  # and tests/openapi.py finds it documented
    assert response.json()["code"] == "INVALID_ARGUMENT"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"])))
def test_the_text_patterns_accept_what_the_checks_accept(value: str) -> None:
    def accepts(check: Any) -> bool:
        try:
            check(value, field="f", max_length=10_000)
        except InvalidArgument:
            return False
        return True

    assert bool(re.fullmatch(FREE_TEXT_PATTERN, value)) == accepts(checked_free_text)
    assert bool(re.fullmatch(DISPLAY_NAME_PATTERN, value)) == accepts(checked_display_name)


@pytest.mark.parametrize("url", ["/api/v1/audit-logs", "/api/v1/users", "/api/v1/access-requests"])
def test_an_unknown_query_parameter_is_refused_not_ignored(users, url) -> None:
    message = refused(client_for("root").get(url, {"actor": "alice"}), "actor")
    assert "'actor' is not a query parameter of this list: use " in message
