"""gRPC door of the ETL Task Manager (``etl.task.manager.V1.EtlTaskManager``).

Each method: parse the request → (``grpc_door`` authenticated the caller) → one service
or selector → the response. The REST door calls the same functions. The run controls (Start, Pause,
Resume, Stop) are the runs app's: ``privetl.runs.grpc`` extends this servicer with them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc

from privetl._gen.etl.task.manager.V1 import task_manager_pb2 as pb
from privetl._gen.etl.task.manager.V1 import task_manager_pb2_grpc as pb_grpc
from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument
from privetl.platform.grpc_door import grpc_door
from privetl.tasks import selectors, services

SERVICE = "tasks"


def _set_time(message: Any, name: str, value: dt.datetime | None) -> None:
    if value is not None:
        getattr(message, name).FromDatetime(value)


def task_message(view: selectors.TaskView) -> pb.Task:
    """A task as the contract's ``Task``."""
    message = pb.Task(
        id=view.id,
        name=view.name,
        description=view.description,
        ext_datamodule_id=view.ext_datamodule_id,
        extraction_script_ids=view.extraction_script_ids,
        field_rule_script_ids=view.field_rule_script_ids,
        anonymization_script_ids=view.anonymization_script_ids,
        transformation_script_ids=view.transformation_script_ids,
        uploading_script_id=view.uploading_script_id,
        state=view.state,
        seed=view.seed,
        created_by=view.created_by,
        module_sha256=view.module_sha256,
        current_run_id=view.current_run_id,
        last_error=view.last_error,
    )
    _set_time(message, "created_at", view.created_at)
    _set_time(message, "updated_at", view.updated_at)
    _set_time(message, "released_at", view.released_at)
    return message


def _states(values: Any) -> list[str]:
    names = []
    for value in values:
        try:
            name = pb.TaskState.Name(value)
        except ValueError:
            raise InvalidArgument(f"states: {value} is not a known value", field="states") from None
        names.append(name)
    return names


class EtlTaskManagerServicer(pb_grpc.EtlTaskManagerServicer):
    """The ETL Task Manager over gRPC; every method is parse → one service/selector → respond."""

    @grpc_door(service=SERVICE, action="CreateTask")
    def CreateTask(  # noqa: N802 - the contract's name
        self, request: pb.CreateTaskRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.CreateTaskResponse:
        task = request.task
        view = services.task_create(
            actor=actor,
            id=task.id or None,
            name=task.name,
            description=task.description,
            ext_datamodule_id=task.ext_datamodule_id,
            seed=task.seed,
        )
        return pb.CreateTaskResponse(result=True, task_id=view.id)

    @grpc_door(service=SERVICE, action="GetTask")
    def GetTask(  # noqa: N802 - the contract's name
        self, request: pb.GetTaskRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetTaskResponse:
        view = selectors.task_get_for_actor(actor=actor, task_id=request.task_id)
        return pb.GetTaskResponse(task=task_message(view))

    @grpc_door(service=SERVICE, action="ListTasks")
    def ListTasks(  # noqa: N802 - the contract's name
        self, request: pb.ListTasksRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.ListTasksResponse:
        page = selectors.task_list_for_actor(
            actor=actor,
            states=_states(request.states),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListTasksResponse(
            tasks=[task_message(v) for v in page.items], next_page_token=page.next_page_token
        )

    def _set(self, actor: Actor, task_id: str, slot: str, ids: list[str]) -> None:
        services.task_scripts_set(actor=actor, task_id=task_id, slot=slot, script_ids=ids)

    @grpc_door(service=SERVICE, action="UpdateExtractionScript")
    def UpdateExtractionScript(  # noqa: N802 - the contract's name
        self, request: Any, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.UpdateExtractionScriptResponse:
        self._set(actor, request.task_id, "extraction_script_ids", list(request.script_ids))
        return pb.UpdateExtractionScriptResponse(result=True)

    @grpc_door(service=SERVICE, action="UpdateFieldRules")
    def UpdateFieldRules(  # noqa: N802 - the contract's name
        self, request: Any, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.UpdateFieldRulesResponse:
        self._set(actor, request.task_id, "field_rule_script_ids", list(request.script_ids))
        return pb.UpdateFieldRulesResponse(result=True)

    @grpc_door(service=SERVICE, action="UpdateAnonymizationRules")
    def UpdateAnonymizationRules(  # noqa: N802 - the contract's name
        self, request: Any, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.UpdateAnonymizationRulesResponse:
        self._set(actor, request.task_id, "anonymization_script_ids", list(request.script_ids))
        return pb.UpdateAnonymizationRulesResponse(result=True)

    @grpc_door(service=SERVICE, action="UpdateTransformationScripts")
    def UpdateTransformationScripts(  # noqa: N802 - the contract's name
        self, request: Any, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.UpdateTransformationScriptsResponse:
        self._set(actor, request.task_id, "transformation_script_ids", list(request.script_ids))
        return pb.UpdateTransformationScriptsResponse(result=True)

    @grpc_door(service=SERVICE, action="UpdateUploadingScript")
    def UpdateUploadingScript(  # noqa: N802 - the contract's name
        self, request: Any, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.UpdateUploadingScriptResponse:
        ids = [request.script_id] if request.script_id else []
        self._set(actor, request.task_id, "uploading_script_id", ids)
        return pb.UpdateUploadingScriptResponse(result=True)

    @grpc_door(service=SERVICE, action="Release")
    def Release(  # noqa: N802 - the contract's name
        self, request: pb.ReleaseRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.ReleaseResponse:
        services.task_release(actor=actor, task_id=request.task_id)
        return pb.ReleaseResponse(result=True)

    @grpc_door(service=SERVICE, action="GetTaskModule")
    def GetTaskModule(  # noqa: N802 - the contract's name
        self, request: pb.GetTaskModuleRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.GetTaskModuleResponse:
        module = selectors.task_module_for_actor(actor=actor, task_id=request.task_id)
        return pb.GetTaskModuleResponse(
            document_json=module.document,
            module_sha256=module.sha256,
            connections=[pb.ConnectionVariable(**c) for c in module.connections],
        )


def register(server: grpc.Server) -> None:
    """Add the ETL Task Manager to a gRPC server (listed in ``settings.GRPC_SERVICERS``)."""
    pb_grpc.add_EtlTaskManagerServicer_to_server(EtlTaskManagerServicer(), server)
