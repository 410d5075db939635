"""Prometheus metrics of the REST door (the gRPC door counts its own in ``grpc_door``).

Labelled by the URL *route* (``api/v1/users/<str:user_id>``), never the concrete path,
so ids do not explode the number of series and never reach the metrics; and by the
method only when it is a standard one: any other word a client sends is counted as
``OTHER``, so a client inventing methods cannot create series either.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "privetl_http_requests_total",
    "HTTP requests handled, by method, route and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "privetl_http_request_seconds",
    "HTTP request latency in seconds, by method and route.",
    ["method", "route"],
)


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


def method_label(method: str | None) -> str:
    """The method as a label value: a standard method as is, anything else ``OTHER``."""
    return method if method in KNOWN_METHODS else "OTHER"


class PrometheusMiddleware:
    """Counts and times every request (listed first in ``MIDDLEWARE``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = str(match.route) if match is not None and match.route else "<unmatched>"
        method = method_label(request.method)
        HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
        return response
