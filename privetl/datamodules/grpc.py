"""gRPC door of the ExtDatamodule Manager (``etl.datamodule.manager.V1.ExtDatamoduleManager``).

Each method does the four steps of every door: parse the request message → (``grpc_door``
has authenticated the caller into ``actor`` and maps ``PrivetlError`` to a status code) →
call one service or selector → build the response. What to show (the redacted string, the
caller's access) is decided by the selectors, the same for this door and the REST one; the
write-only ``connection_string`` field is always left empty in responses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from privetl._gen.etl.datamodule.manager.V1 import datamodule_manager_pb2 as pb
from privetl._gen.etl.datamodule.manager.V1 import datamodule_manager_pb2_grpc as pb_grpc
from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument
from privetl.datamodules import selectors, services
from privetl.platform.grpc_door import grpc_door

SERVICE = "datamodules"


def _timestamp(value: dt.datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def type_name(
    value: int, *, field: str = "connection.type", allow_unspecified: bool = False
) -> str:
    """Contract ``ConnectionType`` number → type name ("" for UNSPECIFIED where allowed)."""
    if value == pb.CONNECTION_TYPE_UNSPECIFIED:
        if allow_unspecified:
            return ""
        raise InvalidArgument(f"{field} is required: one of SQL, GRPC, API, S3, FILE", field=field)
    try:
        return str(pb.ConnectionType.Name(value))
    except ValueError:
        raise InvalidArgument(f"{field}: {value} is not a known value", field=field) from None


def connection_message(view: selectors.ConnectionView) -> pb.Connection:
    """A connection as the contract's ``Connection``; ``connection_string`` stays empty."""
    message = pb.Connection(
        id=view.id,
        name=view.name,
        description=view.description,
        type=view.type,
        contract=view.contract,
        connection_string_redacted=view.connection_string_redacted,
        owner_user_ids=view.owner_user_ids,
        created_by=view.created_by,
        caller_access=view.caller_access,
        caller_access_types=view.caller_access_types,
    )
    message.created_at.CopyFrom(_timestamp(view.created_at))
    message.updated_at.CopyFrom(_timestamp(view.updated_at))
    return message


def _update_fields(connection: Any) -> dict[str, str]:
    return {
        "name": connection.name,
        "description": connection.description,
        "type": type_name(connection.type, allow_unspecified=True),
        "contract": connection.contract,
        "connection_string": connection.connection_string,
    }


class ExtDatamoduleManagerServicer(pb_grpc.ExtDatamoduleManagerServicer):
    """The ExtDatamodule Manager over gRPC; every method is parse → one service/selector → respond."""

    @grpc_door(service=SERVICE, action="CreateConnection")
    def CreateConnection(  # noqa: N802
        self, request: pb.CreateConnectionRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.CreateConnectionResponse:
        given = request.connection
        created = services.connection_create(
            actor=actor,
            id=given.id,
            name=given.name,
            description=given.description,
            type=type_name(given.type),
            contract=given.contract,
            connection_string=given.connection_string,
            owner_user_ids=list(given.owner_user_ids),
        )
        return pb.CreateConnectionResponse(
            result=True,
            connection_id=created.connection_id,
            owner_user_ids=created.owner_user_ids,
        )

    @grpc_door(service=SERVICE, action="UpdateConnection")
    def UpdateConnection(  # noqa: N802
        self, request: pb.UpdateConnectionRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.UpdateConnectionResponse:
        view = services.connection_update(
            actor=actor,
            connection_id=request.connection.id,
            update_mask=list(request.update_mask.paths),
            **_update_fields(request.connection),
        )
        return pb.UpdateConnectionResponse(result=True, connection=connection_message(view))

    @grpc_door(service=SERVICE, action="GetConnection")
    def GetConnection(  # noqa: N802
        self, request: pb.GetConnectionRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetConnectionResponse:
        view = selectors.connection_get_for_actor(actor=actor, connection_id=request.connection_id)
        return pb.GetConnectionResponse(connection=connection_message(view))

    @grpc_door(service=SERVICE, action="GetAllConnection")
    def GetAllConnection(  # noqa: N802
        self, request: pb.GetAllConnectionRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetAllConnectionResponse:
        page = selectors.connection_list_for_actor(
            actor=actor,
            type=type_name(request.type, field="type", allow_unspecified=True),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.GetAllConnectionResponse(
            connections=[connection_message(v) for v in page.items],
            next_page_token=page.next_page_token,
        )

    @grpc_door(service=SERVICE, action="TestConnection")
    def TestConnection(  # noqa: N802
        self, request: pb.TestConnectionRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.TestConnectionResponse:
        tested = services.connection_test(
            actor=actor,
            connection_id=request.connection_id,
            timeout_seconds=request.timeout_seconds or services.TEST_TIMEOUT_SECONDS,
        )
        response = pb.TestConnectionResponse(
            ok=tested.ok, message=tested.message, duration_ms=tested.duration_ms
        )
        response.tested_at.CopyFrom(_timestamp(tested.tested_at))
        return response


def register(server: grpc.Server) -> None:
    """Add the ExtDatamodule Manager to a gRPC server (listed in ``settings.GRPC_SERVICERS``)."""
    pb_grpc.add_ExtDatamoduleManagerServicer_to_server(ExtDatamoduleManagerServicer(), server)
