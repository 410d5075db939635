"""``privetl rotate-connection-key``: re-encrypt every connection string under the first key.

Rotating a key: put a new Fernet key first in ``PRIVETL_CONNECTION_KEYS`` (keep the old
ones after it), run this, then drop the old keys. All or none: when one stored string
cannot be decrypted with the keys given, nothing changes and the command exits 1 naming
the connection. Audited (as the platform, with the count only). Prints the count.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from privetl.common.context import SYSTEM
from privetl.common.errors import PrivetlError
from privetl.datamodules.services import connection_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every connection string with the first key of PRIVETL_CONNECTION_KEYS "
        "(put the new key first, run this, then drop the old key)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = connection_keys_rotate(actor=SYSTEM)
        except (PrivetlError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"re-encrypted {count} connection string(s) with the first key")
