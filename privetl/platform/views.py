"""Operational endpoints without authentication: health and Prometheus metrics.

They reveal nothing about users or data: ``/healthz`` says whether the database answers,
``/metrics`` exposes request counters and latencies per service, method and code.
"""

from __future__ import annotations

import logging
import os

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers a trivial query, 503 otherwise (probes restart us)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        logger.warning("healthz: database check failed: %s", type(exc).__name__)
        return JsonResponse({"status": "unhealthy", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics in the text exposition format.

    Under gunicorn (``PROMETHEUS_MULTIPROC_DIR`` set by ``privetl web``/``serve``) the sum
    over all worker processes; otherwise this process's own.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
