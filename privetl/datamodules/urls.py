"""REST routes of the ExtDatamodule Manager, included by the platform under ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from privetl.datamodules import api

urlpatterns = [
    path("connections", api.ConnectionsView.as_view(), name="connections"),
    path(
        "connections/<str:connection_id>",
        api.ConnectionDetailView.as_view(),
        name="connection-detail",
    ),
    path(
        "connections/<str:connection_id>/test",
        api.ConnectionTestView.as_view(),
        name="connection-test",
    ),
]
