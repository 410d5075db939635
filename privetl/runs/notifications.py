"""E-mail about runs, always after the change has committed.

Called from ``transaction.on_commit`` with ids only: each function reads the committed state
afresh. The Task-Manager (who started the run) hears when it fails, awaits upload or is
uploaded; the destination module's owners hear when processed data of their module waits
in the outbox. A mail names the task, the run and the state — never data.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from privetl.runs.models import Run
from privetl.users.models import User
from privetl.users.selectors import module_owner_ids

logger = logging.getLogger(__name__)


def _emails(user_ids: list[str]) -> list[str]:
    return sorted({u.email for u in User.objects.filter(pk__in=user_ids, blocked=False) if u.email})


def _send(subject: str, body: str, recipients: list[str]) -> None:
    if not recipients:
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    except Exception:  # a mail outage must not turn a committed change into an error
        logger.exception("could not send %r to %d recipient(s)", subject, len(recipients))


def run_awaiting_upload(*, run_id: str) -> None:
    """Tell the Task-Manager and the module's owners that a result waits for review."""
    run = Run.objects.select_related("task").filter(pk=run_id).first()
    if run is None:
        return
    task = run.task
    body = (
        f"Run {run.id} of task {task.name!r} ({task.id}) finished verifying; its result waits "
        f"in the outbox for review before it is uploaded as the next version of "
        f"{task.ext_datamodule_id}.\n\nReview it (DataManager GetAll, GET /api/v1/outbox?task_id="
        f"{task.id}), then Start or Resume the task to upload it. Unless uploaded it is deleted "
        f"after {settings.OUTBOX_RETENTION_DAYS:g} days."
    )
    recipients = _emails([run.started_by, *module_owner_ids(task.ext_datamodule_id)])
    _send(f"[privetl] Run {run.id} awaits review", body, recipients)


def run_ended(*, run_id: str) -> None:
    """Tell the Task-Manager that the run failed, or was uploaded."""
    run = Run.objects.select_related("task").filter(pk=run_id).first()
    if run is None:
        return
    task = run.task
    if run.state == "FAILED":
        subject = f"[privetl] Run {run.id} of task {task.id} failed"
        body = f"Run {run.id} of task {task.name!r} failed during {run.stage or 'start'}:\n\n{run.error}\n"
    else:
        subject = (
            f"[privetl] Run {run.id} of task {task.id} uploaded version {run.published_version}"
        )
        body = (
            f"Run {run.id} of task {task.name!r} was uploaded as version {run.published_version} "
            f"of {task.ext_datamodule_id}."
        )
    _send(subject, body, _emails([run.started_by]))
