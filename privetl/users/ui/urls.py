"""URLs of the Users pages, mounted under ``/ui/users/``."""

from __future__ import annotations

from django.urls import path

from privetl.users.ui import views

urlpatterns = [
    path("", views.index, name="ui-users"),
]
