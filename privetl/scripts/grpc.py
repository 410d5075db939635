"""gRPC door of the Script Manager (``etl.script.manager.V1.ScriptManager``).

Each method: parse the request message (the ``script`` oneof into a kind and a body with
the contract's field names, enum values by name) → (``grpc_door`` authenticated the
caller) → one service or selector → the response. The REST door calls the same functions
with the same bodies, so both answer alike.
"""

from __future__ import annotations

from typing import Any

import grpc

from privetl._gen.etl.script.manager.V1 import script_manager_pb2 as pb
from privetl._gen.etl.script.manager.V1 import script_manager_pb2_grpc as pb_grpc
from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument
from privetl.platform.grpc_door import grpc_door
from privetl.scripts import selectors, services
from privetl.scripts.models import ScriptKind

SERVICE = "scripts"
ENUMS: dict[str, dict[str, Any]] = {
    ScriptKind.EXTRACTOR: {"kind": pb.ExtractorKind},
    ScriptKind.FIELD_RULE: {"field_type": pb.FieldType, "type": pb.FieldRuleType},
    ScriptKind.ANONYMIZATION_RULE: {"type": pb.AnonymizationRuleType},
    ScriptKind.TRANSFORMER: {"type": pb.TransformationType},
    ScriptKind.UPLOADER: {},
}
"""Per kind, the body fields that are enums (sent by number, kept by name)."""


def _enum_name(enum: Any, value: int, *, field: str) -> str:
    try:
        return str(enum.Name(value))
    except ValueError:
        raise InvalidArgument(f"{field}: {value} is not a known value", field=field) from None


def body_of(message: Any) -> tuple[str | None, dict[str, Any]]:
    """The ``script`` oneof of a message as (kind, body); (None, {}) when it is not set."""
    kind = message.WhichOneof("script")
    if kind is None:
        return None, {}
    part = getattr(message, kind)
    body: dict[str, Any] = {}
    for descriptor in part.DESCRIPTOR.fields:
        name = descriptor.name
        value = getattr(part, name)
        if name in ENUMS[kind]:
            body[name] = _enum_name(ENUMS[kind][name], value, field=f"{kind}.{name}")
        elif kind == ScriptKind.TRANSFORMER and name == "transformation_script":
            body[name] = value.value if part.HasField(name) else None
        else:
            body[name] = value
    return kind, body


def _fields_in(values: Any) -> list[dict[str, str]]:
    return [{"ext_datamodule_id": f.ext_datamodule_id, "field_name": f.field_name} for f in values]


def script_message(view: selectors.ScriptView) -> pb.Script:
    """A script as the contract's ``Script``."""
    message = pb.Script(
        id=view.id,
        task_id=view.task_id,
        released=view.released,
        fields=[
            pb.Field(ext_datamodule_id=f.ext_datamodule_id, field_name=f.field_name)
            for f in view.fields
        ],
    )
    part = getattr(message, view.kind)
    part.SetInParent()
    for name, value in view.body.items():
        if name in ENUMS[view.kind]:
            setattr(part, name, ENUMS[view.kind][name].Value(value))
        elif view.kind == ScriptKind.TRANSFORMER and name == "transformation_script":
            if value is not None:
                part.transformation_script.value = value
        else:
            setattr(part, name, value)
    return message


class ScriptManagerServicer(pb_grpc.ScriptManagerServicer):
    """The Script Manager over gRPC; every method is parse → one service/selector → respond."""

    @grpc_door(service=SERVICE, action="CreateScript")
    def CreateScript(  # noqa: N802 - the contract's name
        self, request: pb.CreateScriptRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.CreateScriptResponse:
        kind, body = body_of(request.script)
        view = services.script_create(
            actor=actor,
            id=request.script.id or None,
            task_id=request.script.task_id,
            kind=kind or "",
            body=body,
            fields=_fields_in(request.script.fields),
        )
        return pb.CreateScriptResponse(result=True, script_id=view.id)

    @grpc_door(service=SERVICE, action="UpdateScript")
    def UpdateScript(  # noqa: N802 - the contract's name
        self, request: pb.UpdateScriptRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.UpdateScriptResponse:
        kind, body = body_of(request)
        services.script_update(
            actor=actor,
            script_id=request.script_id,
            kind=kind,
            body=body if kind else None,
            fields_to_add=_fields_in(request.fields_to_add),
            fields_to_remove=_fields_in(request.fields_to_remove),
        )
        return pb.UpdateScriptResponse(result=True)

    @grpc_door(service=SERVICE, action="ReleaseScript")
    def ReleaseScript(  # noqa: N802 - the contract's name
        self, request: pb.ReleaseScriptRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.ReleaseScriptResponse:
        services.script_release(actor=actor, script_id=request.script_id)
        return pb.ReleaseScriptResponse(result=True)

    @grpc_door(service=SERVICE, action="GetScript")
    def GetScript(  # noqa: N802 - the contract's name
        self, request: pb.GetScriptRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetScriptResponse:
        view = selectors.script_get_for_actor(actor=actor, script_id=request.script_id)
        return pb.GetScriptResponse(script=script_message(view))

    @grpc_door(service=SERVICE, action="GetAllScript")
    def GetAllScript(  # noqa: N802 - the contract's name
        self, request: pb.GetAllScriptRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetAllScriptResponse:
        page = selectors.script_list_for_actor(
            actor=actor,
            task_id=request.etl_task_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.GetAllScriptResponse(
            scripts=[script_message(v) for v in page.items], next_page_token=page.next_page_token
        )


def register(server: grpc.Server) -> None:
    """Add the Script Manager to a gRPC server (listed in ``settings.GRPC_SERVICERS``)."""
    pb_grpc.add_ScriptManagerServicer_to_server(ScriptManagerServicer(), server)
