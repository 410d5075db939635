"""REST routes of the Data Manager's outbox, included by the platform under ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from privetl.data import api

urlpatterns = [
    path("outbox", api.OutboxView.as_view(), name="outbox"),
    path("outbox/<str:entry_id>", api.OutboxEntryView.as_view(), name="outbox-entry"),
    path("outbox/<str:entry_id>/changes", api.OutboxChangesView.as_view(), name="outbox-changes"),
]
