"""Django app of the platform core (auth, doors, audit writer, server commands)."""

from __future__ import annotations

from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Holds no models; registered so its management commands (serve, web, grpc) exist."""

    name = "privetl.common"
    label = "common"
    verbose_name = "privetl platform core"
