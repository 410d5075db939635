"""Refuse a NUL character in a request's path or query before any view sees it.

Ids travel in paths (``/api/v1/users/<id>``) and filters in query strings; a NUL there
would reach the database, where PostgreSQL refuses it with an error (a 500) and SQLite
stores it. The body's text is checked by the JSON parser (``privetl.platform.parsers``);
this covers the rest of a request, with the API's one error shape.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


def _refusal(field: str) -> JsonResponse:
    return JsonResponse(
        {
            "code": "INVALID_ARGUMENT",
            "message": f"{field} must not contain a NUL character (\\u0000)",
            "field": field,
        },
        status=400,
    )


class NulRefusingMiddleware:
    """Answers 400 INVALID_ARGUMENT to a path or query parameter holding a NUL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            return _refusal("path")
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return _refusal(name.replace("\x00", "\\u0000"))
        return self.get_response(request)
