"""``privetl token USER_ID [--as OTHER_ID] [--ttl SECONDS]``: print a bearer token.

Like a CLI login: the token is the last word of the output, so scripts can take it with
``awk '{print $NF}'``. ``--as`` issues an impersonation token — USER_ID (an admin) acting
as OTHER_ID; permission checks then use OTHER_ID and audit records name both. Whoever can
run this command can read the signing key anyway (it is on the same machine), so it adds
no power; it only saves a login round-trip.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from privetl.common.context import Actor
from privetl.common.errors import PrivetlError
from privetl.platform.auth import token_issue
from privetl.users.services import token_issue_record

CLI = Actor(user_id="system", roles=frozenset({"ADMIN"}), door="cli")
"""Whoever runs the command on the platform's machine (it can read the signing key)."""


class Command(BaseCommand):
    help = "Print a bearer token for a user (the last word of the output)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "user_id", help="Who the token is for (with --as: the admin impersonating)."
        )
        parser.add_argument(
            "--as",
            dest="as_user",
            default=None,
            help="Impersonate this user (USER_ID must be ADMIN).",
        )
        parser.add_argument(
            "--ttl",
            type=int,
            default=None,
            help="Lifetime in seconds (default: the configured TTL).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_id: str = options["user_id"]
        as_user: str | None = options["as_user"]
        ttl: int | None = options["ttl"]
        if ttl is not None and ttl <= 0:
            raise CommandError("--ttl must be a positive number of seconds")
        try:
            grant = token_issue_record(
                actor=CLI,
                user_id=as_user or user_id,
                impersonator_id=user_id if as_user else None,
                ttl_seconds=ttl,
            )
        except PrivetlError as exc:
            raise CommandError(exc.message) from exc
        token = token_issue(
            user_id=grant.user_id,
            impersonator_id=grant.impersonator_id,
            ttl_seconds=grant.ttl_seconds,
            jti=grant.jti,
        )
        who = f"{user_id} acting as {as_user}" if as_user else user_id
        self.stdout.write(f"token for {who}: {token}")
