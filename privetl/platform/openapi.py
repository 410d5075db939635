"""What the OpenAPI schema says of every operation, decided once for the whole API.

A view documents its own answers; answers the platform gives before any view runs are
added here, so no view can forget them: every operation that takes a body may answer 413
when the body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, and 415 when it is not JSON
(``privetl.platform.rest``; both found by the fuzz test, ``tests/contracts/test_fuzz_rest.py``).

A second hook states "this rule, or empty" as ``anyOf``: drf-spectacular writes an optional
field with a rule (``pattern``, ``format``) as ``oneOf: [rule, {maxLength: 0}]``, which
forbids the empty string whenever the rule accepts it too (free text may be empty).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

_BODY_METHODS = ("post", "put", "patch")


def document_platform_answers(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the 413 and 415 of every operation with a body."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    answers = {
        "413": f"The body is larger than the limit of {limit} bytes.",
        "415": "The body is not JSON (send `Content-Type: application/json`).",
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method in _BODY_METHODS:
            operation = operations.get(method)
            if operation is None or "requestBody" not in operation:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in answers.items():
                responses.setdefault(status, {"description": description, "content": error})
    return result


_BLANK = {"type": "string", "maxLength": 0}


def blank_as_any_of(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: ``oneOf: [rule, blank]`` → ``anyOf`` (iterative)."""
    stack: list[Any] = [result]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            options = item.get("oneOf")
            if isinstance(options, list) and _BLANK in options:
                item["anyOf"] = item.pop("oneOf")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return result
