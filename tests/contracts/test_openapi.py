"""The suite-wide check of REST responses against docs/openapi.yaml (``tests/openapi.py``)
catches what the schema does not describe: a wrong body, an undocumented status code, an
undocumented field or path — and lets a documented response through."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.test import RequestFactory
from django.urls import resolve
from rest_framework.test import APIClient

from tests import openapi

USER = "/api/v1/users/alice"
NOT_FOUND = {"code": "NOT_FOUND", "message": "No user 'alice'.", "field": None}


def get(path: str) -> HttpRequest:
    """A GET as the URL resolver has seen it (the check reads the route it matched)."""
    request = RequestFactory().get(path)
    request.resolver_match = resolve(path)
    return request


def test_a_documented_response_passes() -> None:
    assert openapi.check(get(USER), JsonResponse(NOT_FOUND, status=404)) is None


def test_a_body_that_breaks_the_schema_is_caught() -> None:
    mismatch = openapi.check(get(USER), JsonResponse({"id": 7, "secret": "leaked"}))

    assert mismatch is not None
    assert mismatch.key == ("GET", "/api/v1/users/{user_id}", 200)
    problems = "\n".join(mismatch.problems)
    assert "InvalidData" in problems
    assert "at body/id: 7 is not of type 'string'" in problems
    assert "'name' is a required property" in problems
    assert "'secret' was unexpected" in problems


def test_an_undocumented_status_code_is_caught() -> None:
    mismatch = openapi.check(get(USER), JsonResponse(NOT_FOUND, status=418))

    assert mismatch is not None and mismatch.status == 418
    assert "ResponseNotFound" in mismatch.problems[0]


def test_an_undocumented_path_is_caught() -> None:
    request = RequestFactory().get("/api/v1/nowhere")
    mismatch = openapi.check(request, JsonResponse(NOT_FOUND, status=404))

    assert mismatch is not None and mismatch.path == "/api/v1/nowhere"
    assert "PathNotFound" in mismatch.problems[0]


def test_the_check_is_installed_outermost_for_the_documented_prefix() -> None:
    assert openapi.documented_prefix() == "/api/v1/"
    assert settings.MIDDLEWARE[0] == openapi.MIDDLEWARE


@pytest.mark.urls("tests.contracts.wrong_urls")
def test_every_response_of_the_tests_is_checked_through_the_real_stack() -> None:
    """What a test receives through the test client is recorded as a mismatch (the test
    takes it, so this deliberate one does not fail it at teardown)."""
    response = APIClient().get(USER)

    assert response.status_code == 200
    [mismatch] = openapi.RECORDER.take_new()
    assert mismatch.key == ("GET", "/api/v1/users/{user_id}", 200)
    assert mismatch.test.endswith(
        "::test_every_response_of_the_tests_is_checked_through_the_real_stack"
    )
    assert "'secret' was unexpected" in "\n".join(mismatch.problems)
