"""What the OpenAPI schema says of every operation, decided once for the whole API.

A view documents its own answers; answers the platform gives before any view runs are
added here, so no view can forget them: every operation that takes a body may answer 413
when the body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``privetl.platform.rest``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

_BODY_METHODS = ("post", "put", "patch")


def document_platform_answers(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: the 413 of every operation with a body."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    for operations in result.get("paths", {}).values():
        for method in _BODY_METHODS:
            operation = operations.get(method)
            if operation is None or "requestBody" not in operation:
                continue
            operation.setdefault("responses", {}).setdefault(
                "413",
                {
                    "description": f"The body is larger than the limit of {limit} bytes.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            )
    return result
