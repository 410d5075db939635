"""The ``privetl`` console script.

``privetl run`` and ``privetl validate`` drive the framework-free engine directly (no
database needed). Every other word is a Django management command, so ``privetl migrate``,
``privetl serve``, ``privetl createadmin`` and ``privetl audit verify`` all work.
"""

from __future__ import annotations

import os
import sys

ENGINE_COMMANDS = {"run", "validate"}


def main(argv: list[str] | None = None) -> None:
    """Dispatch to the engine CLI or to Django's management commands."""
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] in ENGINE_COMMANDS:
        from privetl.engine.cli import main as engine_main

        sys.exit(engine_main(argv[1:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "privetl.config.settings")
    from django.core.management import execute_from_command_line

    argv[0] = "privetl"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
