"""gRPC door of the Audit Logger (``etl.audit.logger.V1.AuditLogger``).

Each method: parse the request → (``grpc_door`` authenticated the caller) → one selector
→ build the response. The same selectors serve the REST door, so both doors show the
same records to the same caller.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc

from privetl._gen.etl.audit.logger.V1 import audit_logger_pb2 as pb
from privetl._gen.etl.audit.logger.V1 import audit_logger_pb2_grpc as pb_grpc
from privetl.audit import selectors
from privetl.audit.models import AuditLog
from privetl.common.context import Actor
from privetl.platform.grpc_door import grpc_door

SERVICE = "audit"


def _time_in(request: Any, name: str) -> dt.datetime | None:
    """A time filter: the Timestamp when the caller set it, else None (no bound)."""
    if not request.HasField(name):
        return None
    return getattr(request, name).ToDatetime(tzinfo=dt.UTC)


def _outcome_name(outcome: str) -> str:
    """Outcome ("denied") → its ``AuditOutcome`` value name, whatever the enum's prefix."""
    wanted = outcome.upper()
    for name in pb.AuditOutcome.keys():
        if name == wanted or name.endswith("_" + wanted):
            return name
    return pb.AuditOutcome.Name(0)


def audit_log_message(record: AuditLog) -> Any:
    """The contract's ``AuditLog`` message for a record."""
    message = pb.AuditLog(
        id=record.id,
        sequence=record.sequence,
        actor_user_id=record.actor_user_id,
        impersonator_user_id=record.impersonator_user_id,
        service=record.service,
        action=record.action,
        target_type=record.target_type,
        target_id=record.target_id,
        outcome=_outcome_name(record.outcome),
        address=record.address,
        request_id=record.request_id,
        before_json=record.before_json,
        after_json=record.after_json,
        detail=record.detail,
        prev_hash=record.prev_hash,
        hash=record.hash,
    )
    message.occurred_at.FromDatetime(record.occurred_at)
    return message


class AuditLoggerServicer(pb_grpc.AuditLoggerServicer):
    """The Audit Logger over gRPC: read-only, permission-scoped by the selectors."""

    @grpc_door(service=SERVICE, action="ListAuditLogs")
    def ListAuditLogs(  # noqa: N802 - the contract's name
        self, request: Any, context: grpc.ServicerContext, *, actor: Actor
    ) -> Any:
        page = selectors.audit_log_list(
            actor=actor,
            filters=selectors.AuditLogFilters(
                actor_user_id=request.actor_user_id,
                action=request.action,
                service=request.service,
                target_type=request.target_type,
                target_id=request.target_id,
                since=_time_in(request, "since"),
                until=_time_in(request, "until"),
            ),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListAuditLogsResponse(
            logs=[audit_log_message(r) for r in page.items],
            next_page_token=page.next_page_token,
        )

    @grpc_door(service=SERVICE, action="GetAuditLog")
    def GetAuditLog(  # noqa: N802 - the contract's name
        self, request: Any, context: grpc.ServicerContext, *, actor: Actor
    ) -> Any:
        record = selectors.audit_log_get(actor=actor, id=request.id)
        return pb.GetAuditLogResponse(log=audit_log_message(record))


def register(server: grpc.Server) -> None:
    """Add the Audit Logger to a gRPC server (listed in ``settings.GRPC_SERVICERS``)."""
    pb_grpc.add_AuditLoggerServicer_to_server(AuditLoggerServicer(), server)
