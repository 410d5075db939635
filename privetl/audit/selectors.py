"""Readers of the audit log, permission-scoped: the only way doors reach ``AuditLog``.

Admins see every record. Anyone else sees the records where they are the actor or the
impersonator, and nothing else: a record outside the caller's scope is NOT_FOUND, so
its existence is not revealed. Lists are newest first, paged by the platform's one scheme
(``privetl.common.paging``: a signed keyset cursor on ``sequence``, stable while new records
keep arriving).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from privetl.audit.models import AuditLog
from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument, NotFound
from privetl.common.paging import Page, keyset_page, scope_of

FILTER_MAX_LENGTH = 255


@dataclass(frozen=True)
class AuditLogFilters:
    """What ListAuditLogs narrows by; empty strings and None mean "any"."""

    actor_user_id: str = ""
    action: str = ""
    service: str = ""
    target_type: str = ""
    target_id: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def scope(self) -> str:
        """Ties a page token to the filters it was made for."""
        return scope_of(
            "audit_logs",
            self.actor_user_id,
            self.action,
            self.service,
            self.target_type,
            self.target_id,
            self.since,
            self.until,
        )


AuditLogPage = Page[AuditLog]
"""One page of records and the token of the next one ("" on the last page)."""


def _visible_to(actor: Actor) -> QuerySet[AuditLog]:
    """The records ``actor`` may read (the single permission rule of this service)."""
    records = AuditLog.objects.all()
    if actor.is_admin:
        return records
    return records.filter(Q(actor_user_id=actor.user_id) | Q(impersonator_user_id=actor.user_id))


def _check_filters(filters: AuditLogFilters) -> None:
    for name in ("actor_user_id", "action", "service", "target_type", "target_id"):
        if len(getattr(filters, name)) > FILTER_MAX_LENGTH:
            raise InvalidArgument(
                f"{name} is longer than {FILTER_MAX_LENGTH} characters", field=name
            )
    for name in ("since", "until"):
        value = getattr(filters, name)
        if value is not None and value.tzinfo is None:
            raise InvalidArgument(f"{name} must carry a time zone (e.g. ...Z)", field=name)
    if filters.since and filters.until and filters.since > filters.until:
        raise InvalidArgument("since is after until: nothing could match", field="since")


def audit_log_list(
    *,
    actor: Actor,
    filters: AuditLogFilters | None = None,
    page_size: int | None = None,
    page_token: str = "",
) -> AuditLogPage:
    """ListAuditLogs: the caller's visible records matching ``filters``, newest first."""
    filters = filters or AuditLogFilters()
    _check_filters(filters)
    records = _visible_to(actor)
    exact = {
        "actor_user_id": filters.actor_user_id,
        "action": filters.action,
        "service": filters.service,
        "target_type": filters.target_type,
        "target_id": filters.target_id,
    }
    records = records.filter(**{k: v for k, v in exact.items() if v})
    if filters.since is not None:
        records = records.filter(occurred_at__gte=filters.since)
    if filters.until is not None:
        records = records.filter(occurred_at__lt=filters.until)
    return keyset_page(
        records,
        order=("-sequence",),
        scope=filters.scope(),
        page_size=page_size,
        page_token=page_token,
    )


def audit_log_get(*, actor: Actor, id: str) -> AuditLog:
    """GetAuditLog: one record, if the caller may see it (otherwise NOT_FOUND)."""
    if not id:
        raise InvalidArgument("id is required", field="id")
    record = _visible_to(actor).filter(pk=id[:64]).first()
    if record is None:
        raise NotFound(f"audit record {id!r} does not exist or is not yours to see", field="id")
    return record
