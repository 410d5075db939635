"""REST door of the Audit Logger (``/api/v1/audit-logs``), mirroring ListAuditLogs / GetAuditLog.

Each view: parse (its own query serializer) → the actor → one selector → its own output
serializer. Errors are rendered by ``privetl.platform.rest.exception_handler``.
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privetl.audit import selectors
from privetl.audit.models import AuditLog, Outcome
from privetl.common.paging import MAX_PAGE_SIZE
from privetl.platform import rest_fields
from privetl.platform.rest import ErrorSerializer, actor_from

TAG = "Audit Logger"


class AuditLogOutSerializer(serializers.Serializer):
    """One audit record as the API returns it."""

    id = serializers.CharField(help_text="The record's id (a UUID string).")
    sequence = serializers.IntegerField(help_text="Position in the hash chain, from 1.")
    occurred_at = serializers.DateTimeField(help_text="When it happened (UTC).")
    actor_user_id = serializers.CharField(
        help_text="Who acted (empty for an unauthenticated attempt)."
    )
    impersonator_user_id = serializers.CharField(
        help_text="The admin who acted as actor_user_id, or empty."
    )
    service = serializers.CharField(help_text="The service: users, audit, tasks, ...")
    action = serializers.CharField(help_text="What was done, e.g. user.create or GET UsersView.")
    target_type = serializers.CharField(help_text="Kind of thing acted on, e.g. user.")
    target_id = serializers.CharField(help_text="Id of the thing acted on.")
    outcome = serializers.ChoiceField(
        choices=Outcome.values, help_text="success, denied (refused) or failed."
    )
    address = serializers.CharField(help_text="The caller's network address.")
    request_id = serializers.CharField(help_text="The request id (X-Request-ID / x-request-id).")
    before = serializers.JSONField(
        allow_null=True, help_text="State before the change (secrets shown as ***)."
    )
    after = serializers.JSONField(
        allow_null=True, help_text="State after the change (secrets shown as ***)."
    )
    detail = serializers.CharField(help_text="A note, e.g. why an attempt was denied.")
    prev_hash = serializers.CharField(help_text="SHA-256 of the previous record of the chain.")
    hash = serializers.CharField(help_text="SHA-256 of this record's fields and prev_hash.")


class AuditLogPageSerializer(serializers.Serializer):
    """A page of records, newest first."""

    audit_logs = AuditLogOutSerializer(many=True)
    next_page_token = serializers.CharField(
        help_text="Pass as page_token for the next page; empty on the last page."
    )


def _filter(max_length: int, help_text: str) -> rest_fields.TextField:
    return rest_fields.TextField(
        required=False, default="", allow_blank=True, max_length=max_length, help_text=help_text
    )


class AuditLogQuerySerializer(rest_fields.QuerySerializer):
    """The filters and paging of GET /api/v1/audit-logs (its query parameters in the schema).

    All filters are exact matches; empty or omitted means "any".
    """

    actor_user_id = _filter(selectors.FILTER_MAX_LENGTH, "Only records of this actor.")
    action = _filter(128, "Only this action, e.g. user.create.")
    service = _filter(64, "Only this service, e.g. users.")
    target_type = _filter(64, "Only targets of this kind, e.g. user.")
    target_id = _filter(selectors.FILTER_MAX_LENGTH, "Only this target id.")
    since = rest_fields.AwareDateTimeField(
        required=False,
        default=None,
        help_text="Only records at or after this time (ISO 8601 with a time zone, e.g. "
        f"{rest_fields.DATETIME_EXAMPLE}); not after `until`.",
    )
    until = rest_fields.AwareDateTimeField(
        required=False,
        default=None,
        help_text="Only records before this time (ISO 8601 with a time zone).",
    )
    page_size = rest_fields.PageSizeField(
        help_text=f"Records per page, 1..{MAX_PAGE_SIZE}; omitted or 0 means 50."
    )
    page_token = rest_fields.TextField(
        required=False,
        default="",
        allow_blank=True,
        help_text="next_page_token of the previous page; omit for the first page.",
    )


def _json_or_none(text: str) -> Any:
    return json.loads(text) if text else None


def audit_log_out(record: AuditLog) -> dict[str, Any]:
    """The API form of a record (before/after as JSON values, not strings)."""
    return {
        "id": record.id,
        "sequence": record.sequence,
        "occurred_at": record.occurred_at,
        "actor_user_id": record.actor_user_id,
        "impersonator_user_id": record.impersonator_user_id,
        "service": record.service,
        "action": record.action,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "outcome": record.outcome,
        "address": record.address,
        "request_id": record.request_id,
        "before": _json_or_none(record.before_json),
        "after": _json_or_none(record.after_json),
        "detail": record.detail,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="INVALID_ARGUMENT: a bad filter or token."),
    401: OpenApiResponse(ErrorSerializer, description="UNAUTHENTICATED: no or a bad token."),
    403: OpenApiResponse(ErrorSerializer, description="PERMISSION_DENIED."),
}


class AuditLogsView(APIView):
    """ListAuditLogs over REST."""

    @extend_schema(
        operation_id="ListAuditLogs",
        tags=[TAG],
        summary="List audit records, newest first",
        description=(
            "Admins see every record; anyone else sees the records where they acted or "
            "impersonated. All filters are exact matches and combine with AND."
        ),
        parameters=[AuditLogQuerySerializer],
        responses={200: AuditLogPageSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = AuditLogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        page = selectors.audit_log_list(
            actor=actor_from(request),
            filters=selectors.AuditLogFilters(
                actor_user_id=data["actor_user_id"],
                action=data["action"],
                service=data["service"],
                target_type=data["target_type"],
                target_id=data["target_id"],
                since=data["since"],
                until=data["until"],
            ),
            page_size=data["page_size"],
            page_token=data["page_token"],
        )
        body = AuditLogPageSerializer(
            {
                "audit_logs": [audit_log_out(r) for r in page.items],
                "next_page_token": page.next_page_token,
            }
        )
        return Response(body.data)


class AuditLogDetailView(APIView):
    """GetAuditLog over REST."""

    @extend_schema(
        operation_id="GetAuditLog",
        tags=[TAG],
        summary="Get one audit record",
        description="NOT_FOUND when the record does not exist or is not the caller's to see.",
        parameters=[
            OpenApiParameter(
                "audit_log_id",
                OpenApiTypes.UUID,
                OpenApiParameter.PATH,
                description="The record's id (a UUID).",
            )
        ],
        responses={
            200: AuditLogOutSerializer,
            404: OpenApiResponse(ErrorSerializer, description="NOT_FOUND."),
            **ERRORS,
        },
    )
    def get(self, request: Request, audit_log_id: str) -> Response:
        record = selectors.audit_log_get(actor=actor_from(request), id=audit_log_id)
        return Response(AuditLogOutSerializer(audit_log_out(record)).data)
