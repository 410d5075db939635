"""gRPC door of the Data Manager's outbox: GetAll, Get, Modifie (``etl.data.manager.V1``).

ListRuns and GetRun read the runs app, which sits above this one: ``privetl.runs.grpc``
extends this servicer with them and is the one registered. Each method: parse → (``grpc_door``
authenticated the caller) → one service or selector → respond.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2

from privetl._gen.etl.data.manager.V1 import data_manager_pb2 as pb
from privetl._gen.etl.data.manager.V1 import data_manager_pb2_grpc as pb_grpc
from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument
from privetl.data import selectors, services
from privetl.platform.grpc_door import grpc_door

SERVICE = "data"


def set_time(message: Any, name: str, value: dt.datetime | None) -> None:
    """Set a Timestamp field when the value exists."""
    if value is not None:
        getattr(message, name).FromDatetime(value)


def struct_of(values: dict[str, Any] | None) -> struct_pb2.Struct:
    """A JSON object as a protobuf Struct (numbers become doubles, as Struct has it)."""
    message = struct_pb2.Struct()
    if values:
        message.update(values)
    return message


def entry_message(view: selectors.OutboxEntryView) -> pb.OutboxEntry:
    """An outbox entry as the contract's ``OutboxEntry``."""
    message = pb.OutboxEntry(
        id=view.id,
        task_id=view.task_id,
        run_id=view.run_id,
        table=view.table,
        state=view.state,
        rows=view.rows,
        published_version=view.published_version or 0,
        columns=view.columns,
        ext_datamodule_id=view.ext_datamodule_id,
        revision=view.revision,
        edits=view.edits,
        privacy=struct_of(view.privacy),
    )
    set_time(message, "created_at", view.created_at)
    set_time(message, "retain_until", view.retain_until)
    set_time(message, "uploaded_at", view.uploaded_at)
    return message


def _states(values: Any) -> list[str]:
    names = []
    for value in values:
        try:
            names.append(pb.OutboxEntryState.Name(value))
        except ValueError:
            raise InvalidArgument(f"states: {value} is not a known value", field="states") from None
    return names


def _change(change: pb.RecordChange) -> dict[str, Any]:
    kind = change.WhichOneof("change")
    if kind == "add":
        return {"add": json_format.MessageToDict(change.add)}
    if kind == "edit":
        return {
            "edit": {
                "key": change.edit.key,
                "values": json_format.MessageToDict(change.edit.values),
            }
        }
    if kind == "delete_key":
        return {"delete_key": change.delete_key}
    return {}


class DataManagerServicer(pb_grpc.DataManagerServicer):
    """The outbox over gRPC; every method is parse → one service/selector → respond."""

    @grpc_door(service=SERVICE, action="GetAll")
    def GetAll(  # noqa: N802 - the contract's name
        self, request: pb.GetAllRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetAllResponse:
        page = selectors.entry_list_for_actor(
            actor=actor,
            task_id=request.task_id,
            states=_states(request.states),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.GetAllResponse(
            entries=[entry_message(v) for v in page.items], next_page_token=page.next_page_token
        )

    @grpc_door(service=SERVICE, action="Get")
    def Get(  # noqa: N802 - the contract's name
        self, request: pb.GetRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetResponse:
        found = selectors.entry_preview_for_actor(
            actor=actor,
            entry_id=request.entry_id,
            preview_rows=request.preview_rows,
            preview_offset=request.preview_offset,
        )
        return pb.GetResponse(
            entry=entry_message(found.entry),
            records=[struct_of(r) for r in found.records],
            statistics=[
                pb.ColumnStatistics(
                    column=s["column"],
                    type=s["type"],
                    nulls=s["nulls"],
                    distinct=s["distinct"],
                    min=s["min"] or "",
                    max=s["max"] or "",
                )
                for s in found.statistics
            ],
        )

    @grpc_door(service=SERVICE, action="Modifie")
    def Modifie(  # noqa: N802 - the contract's name
        self, request: pb.ModifieRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.ModifieResponse:
        view = services.outbox_modify(
            actor=actor,
            entry_id=request.entry_id,
            changes=[_change(c) for c in request.changes],
            reason=request.reason,
        )
        return pb.ModifieResponse(result=True, entry=entry_message(view))
