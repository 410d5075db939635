"""REST routes of the User Manager, included by the platform under ``/api/v1/``."""

from __future__ import annotations

from django.urls import path

from privetl.users import api

urlpatterns = [
    path("users", api.UsersView.as_view(), name="users"),
    path("users/<str:user_id>", api.UserDetailView.as_view(), name="user-detail"),
    path("users/<str:user_id>/roles", api.UserRolesView.as_view(), name="user-roles"),
    path(
        "users/<str:user_id>/roles/<str:role>",
        api.UserRoleDetailView.as_view(),
        name="user-role-detail",
    ),
    path("users/<str:user_id>/block", api.UserBlockView.as_view(), name="user-block"),
    path("users/<str:user_id>/unblock", api.UserUnblockView.as_view(), name="user-unblock"),
    path("users/<str:user_id>/logins", api.UserLoginsView.as_view(), name="user-logins"),
    path(
        "users/<str:user_id>/access-requests",
        api.UserAccessRequestsView.as_view(),
        name="user-access-requests",
    ),
    path("access-requests", api.AccessRequestsView.as_view(), name="access-requests"),
    path(
        "access-requests/<str:access_request_id>",
        api.AccessRequestDetailView.as_view(),
        name="access-request-detail",
    ),
    path(
        "access-requests/<str:access_request_id>/decision",
        api.AccessRequestDecisionView.as_view(),
        name="access-request-decision",
    ),
]
