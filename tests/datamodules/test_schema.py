"""The OpenAPI document of the ExtDatamodule Manager: every method, parameter and field is
described, every error code is documented, the list documents its paging."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from privetl.common.paging import MAX_PAGE_SIZE

OPERATIONS = {
    "connections_create",
    "connections_list",
    "connections_get",
    "connections_update",
    "connections_test",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        op["operationId"]: op
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/connections")
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


def test_every_method_is_described_with_every_error(schema: dict[str, Any]) -> None:
    ops = _operations(schema)
    assert set(ops) == OPERATIONS
    for name, op in ops.items():
        assert op.get("summary") and op.get("description"), name
        for parameter in op.get("parameters", []):
            assert parameter.get("description"), (name, parameter["name"])
        assert {"400", "401", "403", "404", "409"} <= set(op["responses"]), name


def test_every_field_has_help_text_and_no_output_has_the_secret(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name in (
        "ConnectionOut",
        "ConnectionListOut",
        "ConnectionCreatedOut",
        "ConnectionTestOut",
        "ConnectionCreateInRequest",
        "PatchedConnectionUpdateInRequest",
        "ConnectionTestInRequest",
    ):
        properties = components[name]["properties"]
        assert all(prop.get("description") for prop in properties.values()), name
        if name.endswith("Out"):
            assert "connection_string" not in properties, name


def test_the_list_documents_its_paging_and_maximum(schema: dict[str, Any]) -> None:
    op = _operations(schema)["connections_list"]
    parameters = {p["name"]: p for p in op["parameters"]}
    assert {"page_size", "page_token", "type"} <= set(parameters)
    assert str(MAX_PAGE_SIZE) in parameters["page_size"]["description"]
    assert str(MAX_PAGE_SIZE) in op["description"]
