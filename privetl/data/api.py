"""REST door of the Data Manager's outbox (``/api/v1/outbox``), mirroring the gRPC contract.

Each view: parse (strict fields) → the actor → one service or selector → its serializer.
The run history (``/api/v1/runs``) is the runs app's door.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privetl.common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from privetl.data import selectors, services
from privetl.data.models import OutboxState
from privetl.platform import rest_fields
from privetl.platform.rest import ErrorSerializer, actor_from

TAG = "Data Manager"
STATES = list(OutboxState.values)
ENTRY_ID = OpenApiParameter("entry_id", str, OpenApiParameter.PATH, description="The entry's id.")
ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="INVALID_ARGUMENT: the bad value in `field`."
    ),
    401: OpenApiResponse(ErrorSerializer, description="UNAUTHENTICATED: no or a bad token."),
    403: OpenApiResponse(
        ErrorSerializer, description="PERMISSION_DENIED: the role MANAGE_DATA is missing."
    ),
    404: OpenApiResponse(
        ErrorSerializer,
        description="NOT_FOUND: no such entry, or one of a module you may not read.",
    ),
    409: OpenApiResponse(
        ErrorSerializer,
        description="FAILED_PRECONDITION: the entry is not awaiting review, or the changes would break "
        "the privacy targets (the measured k / l / t are in the message).",
    ),
}


class EntryOut(serializers.Serializer):
    """An outbox entry: one verified table of a run, awaiting review and upload."""

    id = serializers.CharField(help_text="The entry's id.")
    task_id = serializers.CharField(help_text="The task whose run made it.")
    run_id = serializers.CharField(help_text="The run that made it.")
    ext_datamodule_id = serializers.CharField(help_text="The destination data module.")
    table = serializers.CharField(help_text="The table.")
    state = serializers.ChoiceField(
        choices=STATES, help_text="AWAITING_REVIEW until uploaded, discarded or expired."
    )
    rows = serializers.IntegerField(help_text="Records.")
    columns = serializers.ListField(
        child=serializers.CharField(), help_text="Column names, in order."
    )
    created_at = serializers.DateTimeField(help_text="When the run verified it.")
    retain_until = serializers.DateTimeField(help_text="Deleted after this unless uploaded.")
    uploaded_at = serializers.DateTimeField(allow_null=True, help_text="When it was uploaded.")
    published_version = serializers.IntegerField(
        allow_null=True, help_text="The version its upload published."
    )
    revision = serializers.IntegerField(help_text="Edits so far (each Modifie a revision).")
    edits = serializers.IntegerField(help_text="Records changed so far.")
    privacy = serializers.DictField(allow_null=True, help_text="Measured privacy (k, l, t, holds).")


def entry_data(view: selectors.OutboxEntryView) -> dict[str, Any]:
    """The output dict of one entry (its file path stays inside)."""
    data = dict(vars(view))
    data.pop("path", None)
    return data


class EntryListOut(serializers.Serializer):
    """One page of GetAll."""

    entries = EntryOut(many=True, help_text="Entries, newest first.")
    next_page_token = serializers.CharField(
        allow_blank=True, help_text="Pass as page_token for the next page; empty on the last page."
    )


class StatisticsOut(serializers.Serializer):
    """Statistics of one column."""

    column = serializers.CharField()
    type = serializers.CharField(help_text="The column's type in the processed data.")
    rows = serializers.IntegerField()
    nulls = serializers.IntegerField()
    distinct = serializers.IntegerField(help_text="Approximate distinct values.")
    min = serializers.CharField(allow_null=True)
    max = serializers.CharField(allow_null=True)


class EntryDetailOut(serializers.Serializer):
    """Get: the entry, a page of its records, its column statistics."""

    entry = EntryOut()
    records = serializers.ListField(
        child=serializers.DictField(), help_text="Typed records (JSON values)."
    )
    statistics = StatisticsOut(many=True)


class EntryListQuery(rest_fields.QuerySerializer):
    """GetAll's filters and paging."""

    task_id = rest_fields.TextField(
        required=False, default="", allow_blank=True, help_text="Only this task's entries."
    )
    states = rest_fields.ChoiceListField(
        STATES, required=False, default=list, allow_empty=True, help_text="Only these states."
    )
    page_size = rest_fields.PageSizeField()
    page_token = rest_fields.TextField(
        required=False,
        default="",
        allow_blank=True,
        help_text="next_page_token of the previous page.",
    )


class EntryQuery(rest_fields.QuerySerializer):
    """Get's preview window."""

    preview_rows = rest_fields.IntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=selectors.MAX_PREVIEW_ROWS,
        help_text="Records to include (0..1000).",
    )
    preview_offset = rest_fields.IntegerField(
        required=False, default=0, min_value=0, help_text="Offset of the preview."
    )


class EditIn(serializers.Serializer):
    """New values of some columns of the record with this key."""

    key = rest_fields.TextField(help_text="The record's primary key (as text).")
    values = serializers.DictField(help_text="Column → new value.")


class ChangeIn(serializers.Serializer):
    """Exactly one of add, edit, delete_key."""

    add = serializers.DictField(required=False, help_text="A record to add (every column).")
    edit = EditIn(required=False)
    delete_key = rest_fields.TextField(
        required=False, help_text="The primary key of a record to delete."
    )


class ModifieIn(serializers.Serializer):
    """Modifie's changes."""

    changes = ChangeIn(many=True, help_text="Applied in order, all or none.")
    reason = rest_fields.FreeTextField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        help_text="Why (in the audit log).",
    )


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class OutboxView(APIView):
    """GET lists outbox entries."""

    @extend_schema(
        tags=[TAG],
        operation_id="GetAll",
        summary="List outbox entries (GetAll)",
        description=f"MANAGE_DATA; only entries of modules you may read. Newest first, at most "
        f"{MAX_PAGE_SIZE} a page (default {DEFAULT_PAGE_SIZE}).",
        parameters=[EntryListQuery],
        responses={200: EntryListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _query(EntryListQuery, request)
        page = selectors.entry_list_for_actor(
            actor=actor_from(request),
            task_id=query["task_id"],
            states=query["states"],
            page_size=query["page_size"],
            page_token=query["page_token"],
        )
        return Response(
            EntryListOut(
                {
                    "entries": [entry_data(v) for v in page.items],
                    "next_page_token": page.next_page_token,
                }
            ).data
        )


class OutboxEntryView(APIView):
    """GET one entry with a preview of its records."""

    @extend_schema(
        tags=[TAG],
        operation_id="Get",
        summary="Get an outbox entry with a preview (Get)",
        description="MANAGE_DATA. The entry, `preview_rows` typed records from `preview_offset`, and "
        "nulls, distinct values, min and max of every column.",
        parameters=[ENTRY_ID, EntryQuery],
        responses={200: EntryDetailOut, **ERRORS},
    )
    def get(self, request: Request, entry_id: str) -> Response:
        query = _query(EntryQuery, request)
        found = selectors.entry_preview_for_actor(
            actor=actor_from(request),
            entry_id=entry_id,
            preview_rows=query["preview_rows"],
            preview_offset=query["preview_offset"],
        )
        return Response(
            EntryDetailOut(
                {
                    "entry": entry_data(found.entry),
                    "records": found.records,
                    "statistics": found.statistics,
                }
            ).data
        )


class OutboxChangesView(APIView):
    """POST adds, edits and deletes records of an entry."""

    @extend_schema(
        tags=[TAG],
        operation_id="Modifie",
        summary="Change records of an outbox entry (Modifie)",
        description="MANAGE_DATA. Records addressed by primary key; values checked against the column "
        "types and the task's field rules; the privacy targets are measured again on the edited "
        "data and a change that breaks them is 409 with the measured k / l / t. All or nothing; "
        "every change audited with the record before and after.",
        parameters=[ENTRY_ID],
        request=ModifieIn,
        responses={200: EntryOut, **ERRORS},
    )
    def post(self, request: Request, entry_id: str) -> Response:
        serializer = ModifieIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        view = services.outbox_modify(
            actor=actor_from(request),
            entry_id=entry_id,
            changes=[dict(c) for c in data["changes"]],
            reason=data["reason"],
        )
        return Response(EntryOut(entry_data(view)).data)
