"""Django app of the User Manager service."""

from __future__ import annotations

from django.apps import AppConfig


class UsersConfig(AppConfig):
    """Users, their roles, access requests to external data modules, and login history."""

    name = "privetl.users"
    label = "users"
    verbose_name = "User Manager"
    default_auto_field = "django.db.models.BigAutoField"
