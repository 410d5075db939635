"""E-mail sent by the ExtDatamodule Manager, always after the change has committed.

Called from ``transaction.on_commit`` with ids only: each function reads the committed state
afresh. A mail names the connection, who acted and which fields changed — never a value of
the connection string, not even its redacted form (a mail leaves the platform).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from privetl.datamodules.models import Connection
from privetl.users.models import User
from privetl.users.selectors import module_owner_ids

logger = logging.getLogger(__name__)


def _send(subject: str, body: str, recipients: list[str]) -> None:
    if not recipients:
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    except Exception:  # a mail outage must not turn a committed change into an error
        logger.exception("could not send %r to %d recipient(s)", subject, len(recipients))


def _owners_other_than(connection_id: str, user_id: str) -> list[str]:
    others = [uid for uid in module_owner_ids(connection_id) if uid != user_id]
    return sorted({u.email for u in User.objects.filter(pk__in=others, blocked=False) if u.email})


def connection_created(*, connection_id: str, by: str) -> None:
    """Tell the owners named at creation (other than the creator) that they own the connection."""
    connection = Connection.objects.filter(pk=connection_id).only("id", "name", "type").first()
    if connection is None:
        return
    body = (
        f"{by} created the {connection.type} connection {connection.name!r} "
        f"({connection.id}) and named you one of its owners.\n\n"
        "As an owner you decide who may use it: access requests for it come to you "
        "(ListPendingAccessRequests, POST /api/v1/access-requests/{id}/decision), and you "
        f"may change it (UpdateConnection, PATCH /api/v1/connections/{connection.id})."
    )
    _send(
        f"[privetl] You own connection {connection.id}",
        body,
        _owners_other_than(connection_id, by),
    )


def connection_updated(*, connection_id: str, by: str, changed: tuple[str, ...]) -> None:
    """Tell the connection's other owners which fields ``by`` changed (names, never values)."""
    connection = Connection.objects.filter(pk=connection_id).only("id", "name").first()
    if connection is None:
        return
    body = (
        f"{by} changed connection {connection.name!r} ({connection.id}): "
        f"{', '.join(changed)}.\n\n"
        f"Read it with GetConnection or GET /api/v1/connections/{connection.id}. "
        "If you did not expect this change, check the audit log "
        f"(target connection/{connection.id})."
    )
    _send(
        f"[privetl] Connection {connection.id} changed",
        body,
        _owners_other_than(connection_id, by),
    )
