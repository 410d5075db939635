"""E-mail sent by the User Manager, always after the change has committed.

Called from ``transaction.on_commit`` with only an id: each function reads the committed
state afresh, so a mail never describes something that was rolled back. A mail that
cannot be delivered is logged (without addresses' secrets — there are none in a mail) and
does not undo the change: the request is recorded and visible in the API either way.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from privetl.users.models import AccessRequest, Role, User
from privetl.users.selectors import module_owner_ids

logger = logging.getLogger(__name__)


def _send(subject: str, body: str, recipients: list[str]) -> None:
    if not recipients:
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    except Exception:  # a mail outage must not turn a committed change into an error
        logger.exception("could not send %r to %d recipient(s)", subject, len(recipients))


def _describe(request: AccessRequest) -> str:
    lines = [
        f"Request:   {request.id}",
        f"Requester: {request.user.name} ({request.user_id})",
        f"Module:    {request.ext_datamodule_id}",
        f"Access:    {', '.join(request.access_types)}",
    ]
    if request.expires_at:
        lines.append(f"Until:     {request.expires_at:%Y-%m-%d %H:%M} UTC")
    if request.reason:
        lines.append(f"Reason:    {request.reason}")
    return "\n".join(lines)


def request_filed(*, access_request_id: str) -> None:
    """Tell the module's owners (or, while it has none, the admins) that a request awaits them."""
    request = AccessRequest.objects.select_related("user").filter(pk=access_request_id).first()
    if request is None:
        return
    owner_ids = [
        uid for uid in module_owner_ids(request.ext_datamodule_id) if uid != request.user_id
    ]
    if owner_ids:
        deciders = User.objects.filter(pk__in=owner_ids, blocked=False)
        who = "an owner"
    else:
        deciders = User.objects.filter(role_assignments__role=Role.ADMIN, blocked=False).exclude(
            pk=request.user_id
        )
        who = "an administrator (the module has no owner yet)"
    recipients = sorted({u.email for u in deciders if u.email})
    body = (
        f"{request.user.name} asks for access to external data module "
        f"{request.ext_datamodule_id!r}. You receive this as {who}.\n\n"
        f"{_describe(request)}\n\n"
        f"Approve or deny it with ApproveAccessRequest (gRPC) or "
        f"POST /api/v1/access-requests/{request.id}/decision (REST)."
    )
    _send(f"[privetl] Access request for {request.ext_datamodule_id}", body, recipients)


def request_decided(*, access_request_id: str) -> None:
    """Tell the requester how their request was decided."""
    request = AccessRequest.objects.select_related("user").filter(pk=access_request_id).first()
    if request is None or not request.user.email:
        return
    verdict = {"approved": "approved", "denied": "denied"}.get(
        str(request.state), str(request.state)
    )
    body = f"Your access request was {verdict} by {request.decided_by}.\n\n{_describe(request)}\n"
    if request.decision_note:
        body += f"Note:      {request.decision_note}\n"
    _send(
        f"[privetl] Access request {verdict}: {request.ext_datamodule_id}",
        body,
        [request.user.email],
    )
