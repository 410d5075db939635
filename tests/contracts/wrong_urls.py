"""A URL map for ``test_openapi``: the documented user route, answered by a view that breaks
the schema, so the suite-wide response check can be seen catching it through the real stack."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path


def wrong_user(request: HttpRequest, user_id: str) -> JsonResponse:
    """A "user" with the id as a number, no name, an undocumented field, and no other field."""
    return JsonResponse({"id": 7, "secret": "leaked"})


urlpatterns = [path("api/v1/users/<str:user_id>", wrong_user)]
