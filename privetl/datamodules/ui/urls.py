"""URLs of the ExtDatamodule Manager's UI door, mounted under ``/ui/connections/``."""

from __future__ import annotations

from django.urls import path

from privetl.datamodules.ui import views

urlpatterns = [
    path("", views.connection_list, name="ui-connections"),
    path("<str:connection_id>/request-access/", views.access_request, name="ui-request-access"),
]
