"""URLs of the ExtDatamodule Manager's UI door, mounted under ``/ui/connections/``."""

from __future__ import annotations

from django.urls import path

from privetl.datamodules.ui import views

urlpatterns = [
    path("", views.connection_list, name="ui-connections"),
    path("new/", views.connection_create, name="ui-connection-create"),
    path("<str:connection_id>/", views.connection_detail, name="ui-connection"),
    path("<str:connection_id>/edit/", views.connection_edit, name="ui-connection-edit"),
    path("<str:connection_id>/test/", views.connection_test, name="ui-connection-test"),
    path("<str:connection_id>/request-access/", views.access_request, name="ui-request-access"),
]
