"""Every REST response the tests receive, checked against the committed ``docs/openapi.yaml``.

Zulip's habit: the API's description is only worth something if what the API really answers
matches it. ``tests/conftest.py`` puts :class:`ResponseCheckMiddleware` outermost in
``settings.MIDDLEWARE`` for the whole session, so every request a test makes — through
Django's test ``Client``, DRF's ``APIClient`` or real HTTP to ``live_server`` — has its
response validated by openapi-core: the path and method must be documented, the status code
documented for that operation, and the body valid for its response schema, with no field the
schema does not name. A 405 to a method a documented path does not offer, and OPTIONS, are no
operation and pass (a fuzzer, ``tests/contracts/test_fuzz_rest.py``, tries them everywhere). New endpoints
under the documented prefix (``/api/v1/``) are covered with no extra step.

A response that does not match fails the test that received it (at teardown, naming the
operation and what is wrong), unless its operation and status are in
:data:`KNOWN_MISMATCHES`: the mismatches found when this check was introduced, each with what
must change in the API's schema annotations. They are reported at the end of the run; remove
an entry once it is fixed (``make gen`` then regenerates the schema).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from openapi_core import Config, OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"

KNOWN_MISMATCHES: dict[tuple[str, str, int], str] = {}
"""(METHOD, path template, status) → what must change for the response to match the schema."""


@dataclass(frozen=True)
class Mismatch:
    """One response that the schema does not describe."""

    method: str
    path: str
    """The documented path template when the path is documented, else the request's path."""
    status: int
    problems: tuple[str, ...]
    test: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.method, self.path, self.status)

    def __str__(self) -> str:
        lines = [f"{self.method} {self.path} → {self.status} (in {self.test or 'no test'}):"]
        lines += [f"    {problem}" for problem in self.problems]
        return "\n".join(lines)


@cache
def spec() -> OpenAPI:
    """The committed schema, loaded (and itself validated) once per session.

    A body field the schema does not name is a mismatch too (as in Zulip): an undocumented
    field is a field clients come to rely on without a contract.
    """
    return OpenAPI.from_file_path(
        str(SCHEMA), config=Config(additional_properties_default_policy="forbid")
    )


@cache
def documented_prefix() -> str:
    """The common prefix of the documented paths: requests outside it are not checked."""
    prefix = os.path.commonprefix([str(path) for path in (spec().spec / "paths").keys()])
    return prefix[: prefix.rfind("/") + 1]


def _describe(error: BaseException) -> Iterator[str]:
    """openapi-core's error, with the individual schema errors under it (JSON path: message)."""
    schema_errors = list(getattr(error.__cause__, "schema_errors", ()))
    name = type(error).__name__
    if schema_errors:
        yield f"{name}: the body is not valid for the response schema"
    else:
        yield f"{name}: {str(error).removeprefix(f'{name}: ')}".splitlines()[0]
    for schema_error in schema_errors:
        where = "/".join(str(part) for part in getattr(schema_error, "absolute_path", ()))
        message = getattr(schema_error, "message", str(schema_error))
        yield f"  at body/{where}: {message}" if where else f"  {message}"


OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class _ResponseCheckRequest(DjangoOpenAPIRequest):
    """The request as a response check needs it: its operation, not its body.

    A body Django refused to read (over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, answered 413)
    reads as empty instead of raising again after the view has answered.
    """

    @property
    def body(self) -> bytes:
        try:
            return super().body
        except RequestDataTooBig:
            return b""


def _not_an_operation(
    errors: list[Exception], request: HttpRequest, response: HttpResponse
) -> bool:
    """A documented path's answer to a method it does not offer: 405 (what the schema implies
    by not listing the method), or OPTIONS, DRF's description of the view, which OpenAPI does
    not list as an operation either. A fuzzer tries both on every path."""
    return all(isinstance(error, OperationNotFound) for error in errors) and (
        response.status_code == 405 or (request.method or "").upper() == "OPTIONS"
    )


def check(request: HttpRequest, response: HttpResponse, *, test: str = "") -> Mismatch | None:
    """The response's mismatch with the schema, or None when the schema describes it."""
    openapi_request = _ResponseCheckRequest(request)
    errors = list(spec().iter_response_errors(openapi_request, DjangoOpenAPIResponse(response)))
    if not errors or _not_an_operation(errors, request, response):
        return None
    documented = not any(isinstance(error, PathNotFound) for error in errors)
    template = openapi_request.path_pattern if documented else None
    return Mismatch(
        method=(request.method or "").upper(),
        path=template or request.path,
        status=response.status_code,
        problems=tuple(line for error in errors for line in _describe(error)),
        test=RECORDER.current_test,
    )


class Recorder:
    """The mismatches seen so far; shared with the live server's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current_test = ""
        self.new: list[Mismatch] = []
        self.known: list[Mismatch] = []
        self.checked = 0

    def record(self, mismatch: Mismatch | None) -> None:
        with self._lock:
            self.checked += 1
            if mismatch is None:
                return
            (self.known if mismatch.key in KNOWN_MISMATCHES else self.new).append(mismatch)

    def take_new(self) -> list[Mismatch]:
        """The mismatches not in KNOWN_MISMATCHES recorded since the last call."""
        with self._lock:
            taken, self.new = self.new, []
            return taken


RECORDER = Recorder()


class ResponseCheckMiddleware:
    """Outermost middleware of the test session: checks each response under the documented
    prefix against the schema and records what does not match (the response is unchanged)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A method OpenAPI cannot describe (a client's invented "FOOBAR") has no operation to
        # check against; the platform's answer to it is tested on its own.
        if (request.method or "").lower() not in OPENAPI_METHODS:
            return response
        if request.path.startswith(documented_prefix()):
            RECORDER.record(check(request, response))
        return response


MIDDLEWARE = f"{__name__}.{ResponseCheckMiddleware.__name__}"


def summary() -> list[str]:
    """The end-of-run report: how many responses were checked, and the known mismatches still
    seen, one entry per operation and status."""
    lines = [f"{RECORDER.checked} REST response(s) checked against {SCHEMA.name}"]
    if not RECORDER.known:
        return lines if RECORDER.checked else []
    lines += [
        f"{len(RECORDER.known)} REST response(s) of the tests do not match {SCHEMA.name} "
        f"(known, tolerated until fixed; tests/openapi.py KNOWN_MISMATCHES):"
    ]
    seen: set[tuple[str, str, int]] = set()
    for mismatch in RECORDER.known:
        if mismatch.key in seen:
            continue
        seen.add(mismatch.key)
        count = sum(1 for m in RECORDER.known if m.key == mismatch.key)
        lines.append(f"  {KNOWN_MISMATCHES[mismatch.key]} ({count}×)")
        lines.append("  " + str(mismatch).replace("\n", "\n  "))
    return lines
