"""URLs of the Users pages, mounted under ``/ui/users/``."""

from __future__ import annotations

from django.urls import path

from privetl.users.ui import views

urlpatterns = [
    path("", views.user_list, name="ui-users"),
    path("create/", views.user_create, name="ui-user-create"),
    path("<str:user_id>/", views.user_detail, name="ui-user"),
    path("<str:user_id>/roles/add/", views.role_add, name="ui-user-role-add"),
    path("<str:user_id>/roles/remove/", views.role_remove, name="ui-user-role-remove"),
    path("<str:user_id>/block/", views.user_block, name="ui-user-block"),
    path("<str:user_id>/unblock/", views.user_unblock, name="ui-user-unblock"),
]
