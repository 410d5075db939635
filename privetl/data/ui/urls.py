"""URLs of the Data Manager's UI door, mounted under ``/ui/outbox/``."""

from __future__ import annotations

from django.urls import path

from privetl.data.ui import views

urlpatterns = [path("", views.entry_list, name="ui-outbox")]
