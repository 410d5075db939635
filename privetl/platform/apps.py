"""Django app of the platform layer: identity, the shared door machinery, the servers."""

from __future__ import annotations

from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """Holds no models; registered so its management commands (serve, web, grpc) exist."""

    name = "privetl.platform"
    label = "platform"
    verbose_name = "privetl platform"
