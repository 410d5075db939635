"""A tiny servicer behind the real gRPC door, for testing the door without any contract.

Request and response are ``google.protobuf.StringValue``: the request names what to do
("whoami", "deny", "missing", "boom"); the answer describes the actor.
"""

from __future__ import annotations

import json

import grpc
from google.protobuf.wrappers_pb2 import StringValue

from privetl.common.context import Actor
from privetl.common.errors import NotFound, PermissionDenied
from privetl.platform.grpc_door import grpc_door

SERVICE_NAME = "privetl.test.Probe"
METHOD = f"/{SERVICE_NAME}/Call"


class ProbeServicer:
    """Does what the request says, through the door."""

    @grpc_door(service="probe", action="Call")
    def Call(
        self, request: StringValue, context: grpc.ServicerContext, *, actor: Actor
    ) -> StringValue:  # noqa: N802
        if request.value == "deny":
            raise PermissionDenied("only an ADMIN may probe")
        if request.value == "missing":
            raise NotFound("probe 'x' does not exist", field="id")
        if request.value == "boom":
            raise RuntimeError("password=hunter2 leaked into an exception")
        return StringValue(
            value=json.dumps(
                {
                    "user_id": actor.user_id,
                    "impersonator_id": actor.impersonator_id,
                    "roles": sorted(actor.roles),
                    "door": actor.door,
                    "request_id": actor.request_id,
                    "address": actor.address,
                }
            )
        )


def register(server: grpc.Server) -> None:
    """Add the probe the way generated ``add_*_to_server`` functions do."""
    handler = grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {
            "Call": grpc.unary_unary_rpc_method_handler(
                ProbeServicer().Call,
                request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
