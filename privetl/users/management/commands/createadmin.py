"""``privetl createadmin ID NAME``: bootstrap an administrator (audited as the system).

The first admin cannot be made through the API (only admins create users), so this
command is the way in. Run again, it is safe: an existing user keeps their name and
gains ADMIN if they lacked it, and the output says which happened.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from privetl.common.errors import PrivetlError
from privetl.users.services import user_bootstrap_admin


class Command(BaseCommand):
    help = "Create a user with the ADMIN role, or grant ADMIN to an existing user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", help="User id (1..64 of A-Z a-z 0-9 . _ : @ -).")
        parser.add_argument("name", help="Display name (used only when the user is created).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, created, granted = user_bootstrap_admin(id=options["id"], name=options["name"])
        except PrivetlError as exc:
            raise CommandError(exc.message) from exc
        if created:
            self.stdout.write(f"created admin {user.id!r} ({user.name})")
        elif granted:
            self.stdout.write(f"user {user.id!r} already existed: granted ADMIN")
        else:
            self.stdout.write(f"user {user.id!r} is already an admin: nothing changed")
