"""gRPC door of the runs: Start, Pause, Resume, Stop (``EtlTaskManager``) and the run
history, ListRuns and GetRun (``DataManager``).

The contract puts them on the ETL Task Manager; they are the runs app's, so this servicer
extends the Task Manager's (``privetl.tasks.grpc``) with them and is the one registered.
Each method: parse → (``grpc_door`` authenticated the caller) → one service → respond.
"""

from __future__ import annotations

import grpc

from privetl._gen.etl.data.manager.V1 import data_manager_pb2 as data_pb
from privetl._gen.etl.data.manager.V1 import data_manager_pb2_grpc as data_pb_grpc
from privetl._gen.etl.task.manager.V1 import task_manager_pb2 as pb
from privetl._gen.etl.task.manager.V1 import task_manager_pb2_grpc as pb_grpc
from privetl.common.context import Actor
from privetl.data.grpc import DataManagerServicer, set_time
from privetl.platform.grpc_door import grpc_door
from privetl.runs import selectors, services
from privetl.runs.selectors import RunView
from privetl.tasks.grpc import EtlTaskManagerServicer

SERVICE = "tasks"


class EtlTaskManagerWithRunsServicer(EtlTaskManagerServicer):
    """The whole ETL Task Manager: configuration (inherited) and run control."""

    @grpc_door(service=SERVICE, action="Start")
    def Start(  # noqa: N802 - the contract's name
        self, request: pb.StartRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.StartResponse:
        view = services.run_start(actor=actor, task_id=request.task_id)
        return pb.StartResponse(result=True, run_id=view.id, state=view.task_state)

    @grpc_door(service=SERVICE, action="Pause")
    def Pause(  # noqa: N802 - the contract's name
        self, request: pb.PauseRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.PauseResponse:
        view = services.run_pause(actor=actor, task_id=request.task_id)
        return pb.PauseResponse(result=True, state=view.task_state)

    @grpc_door(service=SERVICE, action="Resume")
    def Resume(  # noqa: N802 - the contract's name
        self, request: pb.ResumeRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.ResumeResponse:
        view = services.run_resume(actor=actor, task_id=request.task_id)
        return pb.ResumeResponse(result=True, state=view.task_state)

    @grpc_door(service=SERVICE, action="Stop")
    def Stop(  # noqa: N802 - the contract's name
        self, request: pb.StopRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> pb.StopResponse:
        stopped = services.run_stop(
            actor=actor, task_id=request.task_id, clear_outbox=request.clear_outbox
        )
        return pb.StopResponse(
            result=True,
            state=stopped.run.task_state if stopped.run else "STOPPED",
            outbox_entries_cleared=stopped.entries_cleared,
        )


def register(server: grpc.Server) -> None:
    """Add the ETL Task Manager with its run controls (listed in ``settings.GRPC_SERVICERS``)."""
    pb_grpc.add_EtlTaskManagerServicer_to_server(EtlTaskManagerWithRunsServicer(), server)


def run_message(view: RunView) -> data_pb.Run:
    """A run as the contract's ``Run``."""
    message = data_pb.Run(
        id=view.id,
        task_id=view.task_id,
        state=view.state,
        started_by=view.started_by,
        stage=view.stage,
        rows_in=view.rows_in,
        rows_out=view.rows_out,
        report_json=view.report_json,
        error=view.error,
        stages_done=view.stages_done,
        stage_seconds=view.timings,
        stage_executions=view.stage_executions,
        attempts=view.attempts,
        published_version=view.published_version or 0,
        pause_requested=view.pause_requested,
        upload=view.upload,
    )
    set_time(message, "started_at", view.started_at or view.queued_at)
    set_time(message, "ended_at", view.ended_at)
    return message


class DataManagerWithRunsServicer(DataManagerServicer):
    """The whole Data Manager: the outbox (inherited) and the run history."""

    @grpc_door(service="data", action="ListRuns")
    def ListRuns(  # noqa: N802 - the contract's name
        self, request: data_pb.ListRunsRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> data_pb.ListRunsResponse:
        page = selectors.run_list_for_actor(
            actor=actor,
            task_id=request.task_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return data_pb.ListRunsResponse(
            runs=[run_message(v) for v in page.items], next_page_token=page.next_page_token
        )

    @grpc_door(service="data", action="GetRun")
    def GetRun(  # noqa: N802 - the contract's name
        self, request: data_pb.GetRunRequest, context: grpc.ServicerContext, *, actor: Actor
    ) -> data_pb.GetRunResponse:
        return data_pb.GetRunResponse(
            run=run_message(selectors.run_get_for_actor(actor=actor, run_id=request.run_id))
        )


def register_data_manager(server: grpc.Server) -> None:
    """Add the Data Manager with its run history (listed in ``settings.GRPC_SERVICERS``)."""
    data_pb_grpc.add_DataManagerServicer_to_server(DataManagerWithRunsServicer(), server)
