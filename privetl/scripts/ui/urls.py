"""URLs of the Scripts pages, mounted under ``/ui/scripts/``."""

from __future__ import annotations

from django.urls import path

from privetl.scripts.ui import views

urlpatterns = [
    path("", views.index, name="ui-scripts"),
    path("new/<str:kind>/", views.script_create, name="ui-script-create"),
    path("<str:script_id>/", views.script_detail, name="ui-script-detail"),
    path("<str:script_id>/release/", views.script_release, name="ui-script-release"),
]
