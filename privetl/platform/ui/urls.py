"""URLs of the platform's UI door, mounted under ``/ui/``."""

from __future__ import annotations

from django.urls import path

from privetl.platform.ui import views

urlpatterns = [
    path("", views.dashboard, name="ui-dashboard"),
    path("login/", views.login, name="ui-login"),
    path("login/sso/<int:provider>/", views.sso_begin, name="ui-sso"),
    path("login/sso/<int:provider>/callback/", views.sso_callback, name="ui-sso-callback"),
    path("logout/", views.logout, name="ui-logout"),
    path("me/logins/", views.login_history, name="ui-login-history"),
    path("impersonate/", views.impersonate_start, name="ui-impersonate"),
    path("impersonate/end/", views.impersonate_end, name="ui-impersonate-end"),
]
