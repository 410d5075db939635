"""Django app of the ExtDatamodule Manager service."""

from __future__ import annotations

from django.apps import AppConfig


class DatamodulesConfig(AppConfig):
    """Connections to external data modules: their contracts and encrypted connection strings."""

    name = "privetl.datamodules"
    label = "datamodules"
    verbose_name = "ExtDatamodule Manager"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Tell the User Manager which ids are modules, so AddAccess refuses the others."""
        from privetl.datamodules.selectors import module_catalog_answer
        from privetl.users.selectors import module_catalog_register

        module_catalog_register(module_catalog_answer)
