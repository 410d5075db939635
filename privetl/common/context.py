"""Who is acting, on whose behalf, from where: passed explicitly into every service function.

Every door (REST view, gRPC servicer, CLI command, background task) builds one ``Actor``
after authenticating the caller and hands it to exactly one service or selector. The
audit writer copies it into the record, so "who (and who impersonated), from where,
with which request id" is never reconstructed after the fact.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


def new_request_id() -> str:
    """A fresh request id for calls that did not bring one (``x-request-id``)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of one request.

    ``user_id`` is the user the call acts as. When an admin impersonates someone,
    ``user_id`` is the impersonated user and ``impersonator_id`` the admin: permission
    checks use ``user_id``; the audit log names both.
    """

    user_id: str
    roles: frozenset[str] = frozenset()
    impersonator_id: str | None = None
    address: str | None = None
    request_id: str = field(default_factory=new_request_id)
    door: str = "system"

    @property
    def is_admin(self) -> bool:
        """Admins manage users and may decide requests on modules that have no owner yet."""
        return "ADMIN" in self.roles


SYSTEM = Actor(user_id="system", roles=frozenset({"ADMIN"}), door="system")
"""The platform itself (migrations, scheduled expiry, bootstrap commands)."""
