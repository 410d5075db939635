"""The OpenAPI document of the User Manager: every method and field is described."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from privetl.common.paging import MAX_PAGE_SIZE

USER_MANAGER_PATHS = ("/api/v1/users", "/api/v1/access-requests")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        if path.startswith(USER_MANAGER_PATHS)
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    ]


def test_every_method_is_there_and_described(schema: dict[str, Any]) -> None:
    ops = _operations(schema)
    named = {op["operationId"] for _, _, op in ops}
    assert named >= {
        "users_create",
        "users_list",
        "users_get",
        "users_roles_add",
        "users_roles_remove",
        "users_block",
        "users_unblock",
        "users_logins",
        "access_requests_file",
        "access_requests_of_user",
        "access_requests_list",
        "access_requests_get",
        "access_requests_remove",
        "access_requests_decide",
    }
    for path, method, op in ops:
        assert op.get("summary") and op.get("description"), (path, method)
        for parameter in op.get("parameters", []):
            assert parameter.get("description"), (path, method, parameter["name"])


def test_every_field_has_help_text(schema: dict[str, Any]) -> None:
    refs: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].rsplit("/", 1)[-1])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for _, _, op in _operations(schema):
        collect(op)
    components = schema["components"]["schemas"]
    pending = list(refs)
    while pending:  # follow nested components too
        name = pending.pop()
        before = set(refs)
        collect(components[name])
        pending.extend(refs - before)
    assert {"UserOut", "AccessRequestOut", "UserCreateInRequest", "DecisionInRequest"} <= refs
    missing = [
        f"{name}.{field}"
        for name in sorted(refs)
        for field, prop in components[name].get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []


LIST_OPERATIONS = (
    "users_list",
    "users_logins",
    "access_requests_of_user",
    "access_requests_list",
)


def test_every_list_documents_its_paging_and_maximum(schema: dict[str, Any]) -> None:
    ops = {op["operationId"]: op for _, _, op in _operations(schema)}
    for operation_id in LIST_OPERATIONS:
        op = ops[operation_id]
        parameters = {p["name"]: p for p in op["parameters"]}
        assert {"page_size", "page_token"} <= set(parameters), operation_id
        assert str(MAX_PAGE_SIZE) in parameters["page_size"]["description"], operation_id
        assert str(MAX_PAGE_SIZE) in op["description"], operation_id
        body = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        component = schema["components"]["schemas"][body.rsplit("/", 1)[-1]]
        assert "next_page_token" in component["properties"], operation_id
