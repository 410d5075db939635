"""URLs of the Data Manager's UI door, mounted under ``/ui/outbox/``. A record is named by
its primary key in the query string or the form (``key``), since a key may hold any
character."""

from __future__ import annotations

from django.urls import path

from privetl.data.ui import views

urlpatterns = [
    path("", views.entry_list, name="ui-outbox"),
    path("<str:entry_id>/", views.entry_detail, name="ui-outbox-entry"),
    path("<str:entry_id>/record/", views.record_edit, name="ui-outbox-record"),
    path("<str:entry_id>/record/delete/", views.record_delete, name="ui-outbox-record-delete"),
    path("<str:entry_id>/add/", views.record_add, name="ui-outbox-record-add"),
    path("<str:entry_id>/discard/", views.entry_discard, name="ui-outbox-discard"),
]
