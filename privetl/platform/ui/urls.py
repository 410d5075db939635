"""URLs of the platform's UI door, mounted under ``/ui/``."""

from __future__ import annotations

from django.urls import path

from privetl.platform.ui import views

urlpatterns = [
    path("", views.dashboard, name="ui-dashboard"),
    path("login/", views.login, name="ui-login"),
    path("logout/", views.logout, name="ui-logout"),
    path("impersonate/", views.impersonate_start, name="ui-impersonate"),
    path("impersonate/end/", views.impersonate_end, name="ui-impersonate-end"),
]
