"""REST door of the ExtDatamodule Manager (``/api/v1/connections...``).

Each view does the four steps of every door: parse (its own input serializer) → authorize
(the actor; the rules live in services/selectors) → call one service or selector →
serialize (its own output serializer). Errors are ``PrivetlError``s rendered by the
platform's exception handler as ``{"code", "message", "field"}``. A connection string is
accepted in bodies and never returned: outputs have only ``connection_string_redacted``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privetl.common.errors import InvalidArgument
from privetl.common.paging import MAX_PAGE_SIZE
from privetl.common.text import ID_PATTERN, ID_RULE
from privetl.datamodules import selectors, services
from privetl.datamodules.models import NAME_MAX_LENGTH, ConnectionType
from privetl.platform import rest_fields
from privetl.platform.rest import ErrorSerializer, actor_from

TAG = "ExtDatamodule Manager"
TYPE_CHOICES = [t.value for t in ConnectionType]
ACCESS_CHOICES = [selectors.ACCESS_NONE, selectors.ACCESS_REQUESTED, selectors.ACCESS_GRANTED]
ERRORS = {status_code: ErrorSerializer for status_code in (400, 401, 403, 404, 409)}
"""Every endpoint may answer these, always as {"code", "message", "field"}."""
CONNECTION_ID = OpenApiParameter(
    "connection_id",
    str,
    OpenApiParameter.PATH,
    pattern=ID_PATTERN.pattern,
    description=f"The connection's id ({ID_RULE}; also the ext_datamodule_id access requests "
    "name).",
    examples=[OpenApiExample("a connection", value="customers")],
)
MAX_TEST_SECONDS = 30
CONNECTION_STRING_HELP = (
    "Write-only, stored encrypted, never returned. SQL: postgresql://user:password@host:5432/db "
    "or sqlite:////absolute/path.db; S3: s3://[ACCESS_KEY:SECRET_KEY@]bucket[/prefix]"
    "[?region=..&endpoint_override=host:port&scheme=http]; API: https://host/base; FILE: an "
    "absolute directory (/data/in or file:///data/in); GRPC: grpc://host:port."
)
CONTRACT_HELP = (
    "The data module's Croissant JSON-LD (docs/data-module.md: tables, typed columns, keys, "
    "conflict strategies, foreign keys), or empty. Checked by the engine's validator; every "
    "problem is reported at once with its JSON path."
)


# --- output shapes --------------------------------------------------------------------


class ConnectionOut(serializers.Serializer):
    """A connection as anyone signed in sees it: never its connection string."""

    id = serializers.CharField(
        help_text="Connection id = the ext_datamodule_id of access requests."
    )
    name = serializers.CharField(help_text="Display name.")
    description = serializers.CharField(allow_blank=True, help_text="What the module holds.")
    type = serializers.ChoiceField(choices=TYPE_CHOICES, help_text="Kind of external system.")
    contract = serializers.CharField(allow_blank=True, help_text=CONTRACT_HELP)
    connection_string_redacted = serializers.CharField(
        help_text="The connection string with credentials, tokens and passwords replaced by ***."
    )
    owner_user_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Users holding a current OWNER grant on it."
    )
    created_by = serializers.CharField(help_text="Who created it.")
    created_at = serializers.DateTimeField(help_text="When it was created.")
    updated_at = serializers.DateTimeField(help_text="When it was last changed.")
    caller_access = serializers.ChoiceField(
        choices=ACCESS_CHOICES,
        help_text="Your access: NONE, REQUESTED (a request waits for an owner) or GRANTED.",
    )
    # Plain strings: a ChoiceField would give the User Manager's READ/WRITE/OWNER choice set
    # a second component name next to its "access_types".
    caller_access_types = serializers.ListField(
        child=serializers.CharField(),
        help_text="The access types you hold now: READ, WRITE, OWNER.",
    )


def _iso(value: dt.datetime) -> str:
    """A timestamp as DRF's DateTimeField writes it (ISO 8601, ``Z`` for UTC)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def connection_data(view: selectors.ConnectionView) -> dict[str, Any]:
    """The output of one connection, already in ``ConnectionOut``'s shape.

    Built as plain JSON values rather than through ``ConnectionOut(...).data``: a page of
    100 connections through DRF's fields took 9 of a request's 14 ms (bench/connections_bench.py).
    ``ConnectionOut`` still describes it in the OpenAPI schema, and the tests check every
    response against that schema.
    """
    return {
        "id": view.id,
        "name": view.name,
        "description": view.description,
        "type": view.type,
        "contract": view.contract,
        "connection_string_redacted": view.connection_string_redacted,
        "owner_user_ids": view.owner_user_ids,
        "created_by": view.created_by,
        "created_at": _iso(view.created_at),
        "updated_at": _iso(view.updated_at),
        "caller_access": view.caller_access,
        "caller_access_types": view.caller_access_types,
    }


class ConnectionListOut(serializers.Serializer):
    """One page of GetAllConnection."""

    connections = ConnectionOut(many=True, help_text="One page of connections, ordered by id.")
    next_page_token = serializers.CharField(
        allow_blank=True,
        help_text="Pass as `page_token` for the next page; empty only on the last page.",
    )


class ConnectionCreatedOut(serializers.Serializer):
    """CreateConnection's answer."""

    connection_id = serializers.CharField(
        help_text="The id: the one you chose, or a generated one."
    )
    owner_user_ids = serializers.ListField(
        child=serializers.CharField(), help_text="The owners made: you and the listed owners."
    )


class ConnectionTestOut(serializers.Serializer):
    """TestConnection's answer."""

    connection_id = serializers.CharField(help_text="The connection tested.")
    ok = serializers.BooleanField(help_text="True when the connection opened and answered.")
    message = serializers.CharField(
        help_text="What happened, or the error; never the connection string or a credential."
    )
    duration_ms = serializers.IntegerField(help_text="How long the attempt took.")
    tested_at = serializers.DateTimeField(help_text="When it was tested.")


# --- inputs ---------------------------------------------------------------------------
#
# Strict fields (privetl.platform.rest_fields): a value is taken as sent or refused naming it,
# in the service's name for it (``connection.name``, as the gRPC request's), so both doors
# say the same thing whichever layer answers first; each states its rule in the schema.


class IdListField(serializers.ListField):
    """A JSON array of ids (``ID_RULE``), refused as a whole when it is not an array."""

    def __init__(self, *, error_name: str, **kwargs: Any) -> None:
        self.error_name = error_name
        super().__init__(child=rest_fields.IdField(error_name=error_name), **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list):
            raise InvalidArgument(
                f"{self.error_name} must be an array, not {rest_fields.json_kind(data)}",
                field=self.error_name,
            )
        return list(super().to_internal_value(data))


class TypeField(rest_fields.TextField):
    """A connection's type, exactly as spelled (``services.validate_type``).

    Stated as a ``pattern`` rather than an ``enum``: an enum would put the choice set of
    ``ConnectionOut.type`` into three components, which drf-spectacular can then only name
    by a hash.
    """

    schema_pattern = "^(" + "|".join(TYPE_CHOICES) + ")$"

    def checked(self, value: str) -> str:
        return services.validate_type(value, field=self.name)


UPDATE_PATHS = [*services.UPDATABLE, *(f"connection.{path}" for path in services.UPDATABLE)]


class UpdateMaskField(rest_fields.ChoiceListField):
    """``update_mask``: the updatable paths (bare or ``connection.``-prefixed); any other path
    is refused with the service's reason (a read-only one says why it is read-only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            UPDATE_PATHS, error_name="update_mask", allow_empty=True, required=False, **kwargs
        )

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, list):
            for item in data:
                if isinstance(item, str) and item not in self.allowed:
                    services.update_paths([item], {})  # raises, in the service's words
        return super().to_internal_value(data)


@extend_schema_field(
    {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": MAX_TEST_SECONDS}
)
class TimeoutField(serializers.Field):
    """``timeout_seconds``: a JSON number (not a string, not a boolean), more than 0 and at
    most 30."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise InvalidArgument(
                f"timeout_seconds must be a number, not {rest_fields.json_kind(data)}",
                field="timeout_seconds",
            )
        if not 0 < data <= MAX_TEST_SECONDS:
            raise InvalidArgument(
                f"timeout_seconds must be more than 0 and at most {MAX_TEST_SECONDS}",
                field="timeout_seconds",
            )
        return float(data)

    def to_representation(self, value: float) -> float:
        return value


class ConnectionCreateIn(serializers.Serializer):
    """CreateConnection's body."""

    id = rest_fields.IdField(
        error_name="connection.id",
        required=False,
        allow_blank=True,
        help_text=f"Optional id of your choice ({ID_RULE}); generated when empty.",
    )
    name = rest_fields.NameField(
        max_length=NAME_MAX_LENGTH,
        error_name="connection.name",
        help_text=f"Display name, 1..{NAME_MAX_LENGTH} characters.",
    )
    description = rest_fields.FreeTextField(
        max_length=services.DESCRIPTION_MAX_LENGTH,
        error_name="connection.description",
        required=False,
        help_text=f"What the module holds, up to {services.DESCRIPTION_MAX_LENGTH} characters.",
    )
    type = TypeField(error_name="connection.type", help_text="SQL, GRPC, API, S3 or FILE.")
    contract = rest_fields.TextField(
        max_length=services.CONTRACT_MAX_LENGTH,
        error_name="connection.contract",
        required=False,
        allow_blank=True,
        help_text=CONTRACT_HELP,
    )
    connection_string = rest_fields.TextField(
        max_length=services.CONNECTION_STRING_MAX_LENGTH,
        error_name="connection.connection_string",
        help_text=CONNECTION_STRING_HELP,
    )
    owner_user_ids = IdListField(
        error_name="connection.owner_user_ids",
        required=False,
        max_length=services.MAX_OWNERS,
        help_text=f"Further owners (you always become one), each an existing user; at most "
        f"{services.MAX_OWNERS}.",
    )


class ConnectionUpdateIn(serializers.Serializer):
    """UpdateConnection's body: the fields to change, named by `update_mask`."""

    update_mask = UpdateMaskField(
        help_text="Fields to change: name, description, type, contract, connection_string. "
        "Empty: every field sent with a value (so it never clears one: name it here to clear "
        "it). Any other path is 400.",
    )
    name = rest_fields.NameField(
        max_length=NAME_MAX_LENGTH,
        error_name="connection.name",
        required=False,
        allow_blank=True,
        help_text=f"New display name, 1..{NAME_MAX_LENGTH} characters (empty: unchanged, unless "
        "the mask names it).",
    )
    description = rest_fields.FreeTextField(
        max_length=services.DESCRIPTION_MAX_LENGTH,
        error_name="connection.description",
        required=False,
        help_text="New description.",
    )
    type = TypeField(
        error_name="connection.type",
        required=False,
        allow_blank=True,
        help_text="New type: SQL, GRPC, API, S3 or FILE (needs a new connection_string in the "
        "same update).",
    )
    contract = rest_fields.TextField(
        max_length=services.CONTRACT_MAX_LENGTH,
        error_name="connection.contract",
        required=False,
        allow_blank=True,
        help_text=CONTRACT_HELP,
    )
    connection_string = rest_fields.TextField(
        max_length=services.CONNECTION_STRING_MAX_LENGTH,
        error_name="connection.connection_string",
        required=False,
        allow_blank=True,
        help_text=CONNECTION_STRING_HELP,
    )


class ConnectionTestIn(serializers.Serializer):
    """TestConnection's body."""

    timeout_seconds = TimeoutField(
        required=False,
        help_text=f"Give up after this many seconds, more than 0 and at most {MAX_TEST_SECONDS} "
        f"(default {services.TEST_TIMEOUT_SECONDS:g}).",
    )


class PagingQuery(rest_fields.QuerySerializer):
    """``page_size`` and ``page_token``: the same two inputs as every gRPC list."""

    page_size = rest_fields.PageSizeField()
    page_token = rest_fields.TextField(
        required=False,
        default="",
        allow_blank=True,
        help_text="`next_page_token` of the previous page of this same list and filters; omit "
        "for the first page. A token of another list or other filters is 400 INVALID_ARGUMENT.",
    )


class ConnectionsQuery(PagingQuery):
    """GetAllConnection's query."""

    type = rest_fields.ChoiceField(
        TYPE_CHOICES, required=False, help_text="Only connections of this type."
    )


# --- views ----------------------------------------------------------------------------


class ConnectionsView(APIView):
    """POST creates a connection; GET lists them all with your access to each."""

    @extend_schema(
        tags=[TAG],
        operation_id="connections_create",
        summary="Create a connection (CreateConnection)",
        description="Role CREATE_EXT_DATAMODULE. You and the listed owners become its OWNERs "
        "(OWNER grants of the User Manager, audited as granted by the creation); the other "
        "owners are told by e-mail. A taken id is 409; a bad type, connection string or "
        "contract is 400 naming the field (every contract problem with its JSON path); an "
        "unknown owner is 404.",
        request=ConnectionCreateIn,
        responses={201: ConnectionCreatedOut, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _parse(ConnectionCreateIn, request)
        created = services.connection_create(
            actor=actor_from(request),
            id=data.get("id", ""),
            name=data["name"],
            description=data.get("description", ""),
            type=data["type"],
            contract=data.get("contract", ""),
            connection_string=data["connection_string"],
            owner_user_ids=data.get("owner_user_ids", []),
        )
        return Response(
            ConnectionCreatedOut(
                {"connection_id": created.connection_id, "owner_user_ids": created.owner_user_ids}
            ).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        tags=[TAG],
        operation_id="connections_list",
        summary="List connections (GetAllConnection)",
        description="Every connection (only one `type` when given), ordered by id, with your "
        "access to each (NONE, REQUESTED or GRANTED and the types held), one page at a time "
        "(`contract` is left empty in the list: GetConnection gives it): "
        f"at most {MAX_PAGE_SIZE} per page (`page_size`), `next_page_token` until the last page.",
        parameters=[ConnectionsQuery],
        responses={200: ConnectionListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _query(ConnectionsQuery, request)
        page = selectors.connection_list_for_actor(
            actor=actor_from(request),
            type=query.get("type", ""),
            page_size=query["page_size"],
            page_token=query["page_token"],
        )
        return Response(
            {
                "connections": [connection_data(v) for v in page.items],
                "next_page_token": page.next_page_token,
            }
        )


class ConnectionDetailView(APIView):
    """GET reads a connection; PATCH changes it."""

    @extend_schema(
        tags=[TAG],
        operation_id="connections_get",
        parameters=[CONNECTION_ID],
        summary="Get a connection (GetConnection)",
        description="Anyone signed in may read a connection: its redacted connection string, "
        "owners, contract and your access to it. 404 when it does not exist.",
        responses={200: ConnectionOut, **ERRORS},
    )
    def get(self, request: Request, connection_id: str) -> Response:
        view = selectors.connection_get_for_actor(
            actor=actor_from(request), connection_id=connection_id
        )
        return Response(connection_data(view))

    @extend_schema(
        tags=[TAG],
        operation_id="connections_update",
        parameters=[CONNECTION_ID],
        summary="Update a connection (UpdateConnection)",
        description="Its OWNERs only. Changes the fields `update_mask` names (an unknown or "
        "read-only path is 400); the other owners are told by e-mail which fields changed.",
        request=ConnectionUpdateIn,
        responses={200: ConnectionOut, **ERRORS},
    )
    def patch(self, request: Request, connection_id: str) -> Response:
        data = _parse(ConnectionUpdateIn, request)
        view = services.connection_update(
            actor=actor_from(request),
            connection_id=connection_id,
            update_mask=data.get("update_mask", []),
            name=data.get("name", ""),
            description=data.get("description", ""),
            type=data.get("type", ""),
            contract=data.get("contract", ""),
            connection_string=data.get("connection_string", ""),
        )
        return Response(connection_data(view))


class ConnectionTestView(APIView):
    """POST tests a connection."""

    @extend_schema(
        tags=[TAG],
        operation_id="connections_test",
        parameters=[CONNECTION_ID],
        summary="Test a connection (TestConnection)",
        description="Its OWNERs and READ holders. Opens the connection once with a timeout "
        "(SQL SELECT 1, S3 listing, HTTP HEAD, FILE directory exists) and answers 200 with "
        "`ok` and what happened — a failure too, its error without the secret. Audited. "
        "A GRPC connection is 409 FAILED_PRECONDITION (no gRPC extractor yet).",
        request=ConnectionTestIn,
        responses={200: ConnectionTestOut, **ERRORS},
    )
    def post(self, request: Request, connection_id: str) -> Response:
        data = _parse(ConnectionTestIn, request)
        tested = services.connection_test(
            actor=actor_from(request),
            connection_id=connection_id,
            timeout_seconds=data.get("timeout_seconds", services.TEST_TIMEOUT_SECONDS),
        )
        return Response(
            ConnectionTestOut(
                {
                    "connection_id": tested.connection_id,
                    "ok": tested.ok,
                    "message": tested.message,
                    "duration_ms": tested.duration_ms,
                    "tested_at": tested.tested_at,
                }
            ).data
        )


# --- parsing helpers (errors through the one vocabulary) -------------------------------


def _parse(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validate the body; DRF's ValidationError is rendered by the platform handler as 400."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validate the query string with the view's query serializer (strict fields; an unknown
    parameter is refused)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
