"""REST door of the run controls: ``POST /api/v1/tasks/{id}/start|pause|resume|stop``.

They mirror the ETL Task Manager's Start, Pause, Resume and Stop (tagged with it in the
OpenAPI document). Each view: parse → the actor → one service → its output serializer.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privetl.platform import rest_fields
from privetl.platform.rest import ErrorSerializer, actor_from
from privetl.runs import selectors, services
from privetl.runs.models import RunState
from privetl.tasks.api import TASK_ID
from privetl.tasks.models import TaskState

TAG = "ETL Task Manager"
HISTORY_TAG = "Data Manager"
RUN_STATES = [s.value for s in RunState]
TASK_STATES = list(TaskState.values)
ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="INVALID_ARGUMENT: the bad value in `field`."
    ),
    401: OpenApiResponse(ErrorSerializer, description="UNAUTHENTICATED: no or a bad token."),
    403: OpenApiResponse(
        ErrorSerializer,
        description="PERMISSION_DENIED: PROCESS_ETL_TASK, READ on a source or WRITE on the destination is missing.",
    ),
    404: OpenApiResponse(ErrorSerializer, description="NOT_FOUND: no such task."),
    409: OpenApiResponse(
        ErrorSerializer,
        description="FAILED_PRECONDITION: the task's state does not allow it (the message says why and what to do).",
    ),
}


class StartOut(serializers.Serializer):
    """What Start queued."""

    result = serializers.BooleanField(help_text="Always true on success.")
    run_id = serializers.CharField(
        help_text="The run queued (or the run whose result is uploaded)."
    )
    state = serializers.ChoiceField(choices=TASK_STATES, help_text="The task's state now.")


class StateOut(serializers.Serializer):
    """The task's state after Pause or Resume."""

    result = serializers.BooleanField(help_text="Always true on success.")
    run_id = serializers.CharField(help_text="The task's current run.")
    state = serializers.ChoiceField(
        choices=TASK_STATES,
        help_text="The task's state now (a pause of a running stage shows RUNNING until the stage ends).",
    )


class StopIn(serializers.Serializer):
    """Stop's options."""

    clear_outbox = rest_fields.BooleanField(
        required=False,
        default=False,
        help_text="Also delete the task's outbox data that was not uploaded.",
    )


class StopOut(serializers.Serializer):
    """What Stop did."""

    result = serializers.BooleanField(help_text="Always true on success.")
    state = serializers.ChoiceField(choices=TASK_STATES, help_text="The task's state now.")
    outbox_entries_cleared = serializers.IntegerField(help_text="Outbox entries deleted.")


def _parse(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data if request.data else {})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class TaskStartView(APIView):
    """POST starts a run (or the upload of a result awaiting it)."""

    @extend_schema(
        tags=[TAG],
        operation_id="Start",
        summary="Start a run of a released task (Start)",
        description="Role PROCESS_ETL_TASK, READ on every source connection, WRITE or OWNER on the "
        "destination. Queues a run executed by a worker stage by stage (extract, clean, transform, "
        "anonymize, verify); its result waits in the outbox. On a task AWAITING_UPLOAD it queues "
        "the upload. 409 while a run is queued, running or paused.",
        parameters=[TASK_ID],
        request=None,
        responses={202: StartOut, **ERRORS},
    )
    def post(self, request: Request, task_id: str) -> Response:
        view = services.run_start(actor=actor_from(request), task_id=task_id)
        return Response(
            StartOut({"result": True, "run_id": view.id, "state": view.task_state}).data, status=202
        )


class TaskPauseView(APIView):
    """POST pauses the task's run after its current stage."""

    @extend_schema(
        tags=[TAG],
        operation_id="Pause",
        summary="Pause a run after its current stage (Pause)",
        description="Role PROCESS_ETL_TASK. A queued run is PAUSED at once; a running one when its "
        "current stage finishes (watch GET /api/v1/runs/{id}); no worker is held while paused.",
        parameters=[TASK_ID],
        request=None,
        responses={200: StateOut, **ERRORS},
    )
    def post(self, request: Request, task_id: str) -> Response:
        view = services.run_pause(actor=actor_from(request), task_id=task_id)
        return Response(
            StateOut({"result": True, "run_id": view.id, "state": view.task_state}).data
        )


class TaskResumeView(APIView):
    """POST resumes a paused run, or uploads a result awaiting upload."""

    @extend_schema(
        tags=[TAG],
        operation_id="Resume",
        summary="Resume a paused run, or upload (Resume)",
        description="Role PROCESS_ETL_TASK. A paused run continues from its last finished stage on "
        "any worker; on a task AWAITING_UPLOAD the reviewed result is uploaded.",
        parameters=[TASK_ID],
        request=None,
        responses={200: StateOut, **ERRORS},
    )
    def post(self, request: Request, task_id: str) -> Response:
        view = services.run_resume(actor=actor_from(request), task_id=task_id)
        return Response(
            StateOut({"result": True, "run_id": view.id, "state": view.task_state}).data
        )


class TaskStopView(APIView):
    """POST stops the task's run."""

    @extend_schema(
        tags=[TAG],
        operation_id="Stop",
        summary="Stop a run (Stop)",
        description="Role PROCESS_ETL_TASK. The queued, running, paused or awaiting run is STOPPED at "
        "once; a running stage is interrupted within seconds. `clear_outbox` deletes the task's "
        "outbox data that was not uploaded. The task can be started again.",
        parameters=[TASK_ID],
        request=StopIn,
        responses={200: StopOut, **ERRORS},
    )
    def post(self, request: Request, task_id: str) -> Response:
        data = _parse(StopIn, request)
        stopped = services.run_stop(
            actor=actor_from(request), task_id=task_id, clear_outbox=data["clear_outbox"]
        )
        state = stopped.run.task_state if stopped.run else "STOPPED"
        return Response(
            StopOut(
                {"result": True, "state": state, "outbox_entries_cleared": stopped.entries_cleared}
            ).data
        )


class RunOut(serializers.Serializer):
    """A run: its state, stage, rows, timings and report."""

    id = serializers.CharField(help_text="The run's id.")
    task_id = serializers.CharField(help_text="The task it runs.")
    state = serializers.ChoiceField(choices=RUN_STATES, help_text="The run's state.")
    task_state = serializers.ChoiceField(
        choices=TASK_STATES, help_text="The state it gives its task."
    )
    stage = serializers.CharField(allow_blank=True, help_text="The current (or last) stage.")
    stages_done = serializers.ListField(
        child=serializers.CharField(), help_text="Finished stages, in order."
    )
    timings = serializers.DictField(
        child=serializers.FloatField(), help_text="Seconds per finished stage."
    )
    stage_executions = serializers.DictField(
        child=serializers.IntegerField(), help_text="Executions per stage."
    )
    rows_in = serializers.IntegerField(help_text="Rows extracted.")
    rows_out = serializers.IntegerField(help_text="Rows after the last finished stage.")
    report = serializers.DictField(
        help_text="The engine's report so far (rows per rule, quarantine, privacy, timings)."
    )
    error = serializers.CharField(allow_blank=True, help_text="Why it failed; empty otherwise.")
    upload = serializers.BooleanField(help_text="The queued or running work is the upload.")
    pause_requested = serializers.BooleanField(
        help_text="A pause waits for the current stage to finish."
    )
    started_by = serializers.CharField(help_text="Who started it.")
    queued_at = serializers.DateTimeField(help_text="When it was queued.")
    started_at = serializers.DateTimeField(
        allow_null=True, help_text="When a worker first took it."
    )
    ended_at = serializers.DateTimeField(allow_null=True, help_text="When it ended.")
    attempts = serializers.IntegerField(help_text="Workers that took it.")
    published_version = serializers.IntegerField(
        allow_null=True, help_text="The version its upload published."
    )


def run_data(view: selectors.RunView) -> dict[str, Any]:
    """The output dict of one run."""
    data = dict(vars(view))
    data["report"] = selectors.report_of(view)
    data.pop("report_json")
    return data


class RunListOut(serializers.Serializer):
    """One page of ListRuns."""

    runs = RunOut(many=True, help_text="Runs, newest first.")
    next_page_token = serializers.CharField(
        allow_blank=True, help_text="Pass as page_token for the next page; empty on the last page."
    )


class RunListQuery(rest_fields.QuerySerializer):
    """ListRuns' filter and paging."""

    task_id = rest_fields.TextField(
        required=False, default="", allow_blank=True, help_text="Only this task's runs."
    )
    page_size = rest_fields.PageSizeField()
    page_token = rest_fields.TextField(
        required=False,
        default="",
        allow_blank=True,
        help_text="next_page_token of the previous page.",
    )


class RunsView(APIView):
    """GET lists runs."""

    @extend_schema(
        tags=[HISTORY_TAG],
        operation_id="ListRuns",
        summary="List runs (ListRuns)",
        description="PROCESS_ETL_TASK, MANAGE_DATA or ADMIN. Newest first.",
        parameters=[RunListQuery],
        responses={200: RunListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        serializer = RunListQuery(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        query = serializer.validated_data
        page = selectors.run_list_for_actor(
            actor=actor_from(request),
            task_id=query["task_id"],
            page_size=query["page_size"],
            page_token=query["page_token"],
        )
        return Response(
            RunListOut(
                {"runs": [run_data(v) for v in page.items], "next_page_token": page.next_page_token}
            ).data
        )


class RunDetailView(APIView):
    """GET one run."""

    @extend_schema(
        tags=[HISTORY_TAG],
        operation_id="GetRun",
        summary="Get a run with its report (GetRun)",
        description="PROCESS_ETL_TASK, MANAGE_DATA or ADMIN. Live while it runs: stage, rows, timings.",
        parameters=[
            OpenApiParameter("run_id", str, OpenApiParameter.PATH, description="The run's id.")
        ],
        responses={200: RunOut, **ERRORS},
    )
    def get(self, request: Request, run_id: str) -> Response:
        view = selectors.run_get_for_actor(actor=actor_from(request), run_id=run_id)
        return Response(RunOut(run_data(view)).data)
