"""The platform's URL map: the REST API of every service, its docs, admin, health, metrics.

``/healthz`` and ``/metrics`` need no token: load balancers, Kubernetes probes and
Prometheus call them. Everything under ``/api/v1/`` authenticates with a bearer token.
The Swagger UI and ReDoc are served from ``drf_spectacular_sidecar`` (no CDN) through
``/static/`` (Django's finder-based static view: a handful of small files).
"""

from __future__ import annotations

from csp.decorators import csp_exempt
from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from privetl.platform import views

PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}
"""The API description is public: it documents the contract, not anybody's data."""

urlpatterns = [
    path("api/v1/", include("privetl.users.urls")),
    path("api/v1/", include("privetl.datamodules.urls")),
    path("api/v1/", include("privetl.audit.urls")),
    path("api/v1/", include("privetl.scripts.urls")),
    path("api/v1/", include("privetl.tasks.urls")),
    path("api/v1/", include("privetl.runs.urls")),
    path("api/v1/", include("privetl.data.urls")),
    path("api/schema/", SpectacularAPIView.as_view(**PUBLIC), name="schema"),
    # Swagger UI and ReDoc start from an inline script: exempt from the UI's CSP.
    path(
        "api/docs/",
        csp_exempt()(SpectacularSwaggerView.as_view(url_name="schema", **PUBLIC)),
        name="swagger-ui",
    ),
    path(
        "api/redoc/",
        csp_exempt()(SpectacularRedocView.as_view(url_name="schema", **PUBLIC)),
        name="redoc",
    ),
    path("ui/runs/", include("privetl.runs.ui.urls")),
    path("ui/outbox/", include("privetl.data.ui.urls")),
    path("ui/connections/", include("privetl.datamodules.ui.urls")),
    path("ui/access-requests/", include("privetl.datamodules.ui.access_urls")),
    path("ui/run-controls/", include("privetl.runs.ui.control_urls")),
    path("ui/scripts/", include("privetl.scripts.ui.urls")),
    path("ui/tasks/", include("privetl.tasks.ui.urls")),
    path("ui/audit/", include("privetl.audit.ui.urls")),
    path("ui/users/", include("privetl.users.ui.urls")),
    path("ui/", include("privetl.platform.ui.urls")),
    path("", RedirectView.as_view(url="/ui/", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    # The few static assets (Swagger UI, ReDoc, admin CSS) come straight from the installed
    # packages, so the docs work with no CDN, no collectstatic and no extra web server.
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
]
