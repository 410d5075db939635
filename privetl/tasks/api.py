"""REST door of the ETL Task Manager (``/api/v1/tasks``), mirroring the gRPC contract.

Each view: parse (its own input serializer) → the actor → one service or selector → its own
output serializer. ``GET /api/v1/tasks/{id}/module`` answers the released task's compiled
data module document itself, byte for byte the text its SHA-256 (the ``ETag``) hashes, so
``curl ... > module.json && privetl run module.json`` works; the connections a run needs
are in the ``Privetl-Connections`` header. Errors are rendered by
``privetl.platform.rest.exception_handler``.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privetl.common.errors import InvalidArgument
from privetl.common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from privetl.platform.rest import ErrorSerializer, actor_from
from privetl.tasks import selectors, services
from privetl.tasks.models import TaskState

TAG = "ETL Task Manager"
STATES = list(TaskState.values)
ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="INVALID_ARGUMENT: the bad value in `field`."
    ),
    401: OpenApiResponse(ErrorSerializer, description="UNAUTHENTICATED: no or a bad token."),
    403: OpenApiResponse(
        ErrorSerializer,
        description="PERMISSION_DENIED: EDIT_TASK, or a grant on the destination or a connection, is missing.",
    ),
    404: OpenApiResponse(
        ErrorSerializer, description="NOT_FOUND: no such task, script or connection."
    ),
    409: OpenApiResponse(
        ErrorSerializer,
        description="ALREADY_EXISTS (a taken id) or FAILED_PRECONDITION (a released task; Release's problems).",
    ),
}
TASK_ID = OpenApiParameter("task_id", str, OpenApiParameter.PATH, description="The task's id.")


class TaskOut(serializers.Serializer):
    """A task with its script lists and state."""

    id = serializers.CharField(help_text="The task's id.")
    name = serializers.CharField(help_text="Display name.")
    description = serializers.CharField(allow_blank=True, help_text="What the task is for.")
    ext_datamodule_id = serializers.CharField(help_text="The destination module (a connection).")
    seed = serializers.IntegerField(help_text="Seed of the seeded anonymization operations.")
    state = serializers.ChoiceField(
        choices=STATES, help_text="DRAFT until released; then the state of the latest run."
    )
    extraction_script_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Extractors."
    )
    field_rule_script_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Field rules."
    )
    anonymization_script_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Anonymization rules."
    )
    transformation_script_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Transformers, in execution order."
    )
    uploading_script_id = serializers.CharField(
        allow_blank=True, help_text="The uploader; empty when unset."
    )
    created_by = serializers.CharField(help_text="Who created it.")
    created_at = serializers.DateTimeField(help_text="When it was created.")
    updated_at = serializers.DateTimeField(help_text="When it last changed.")
    released_at = serializers.DateTimeField(allow_null=True, help_text="When it was released.")
    module_sha256 = serializers.CharField(
        allow_blank=True,
        help_text="SHA-256 of the compiled document of a released task; empty for a draft.",
    )
    current_run_id = serializers.CharField(
        allow_blank=True,
        help_text="The latest run (GET /api/v1/runs/{id}); empty before the first.",
    )
    last_error = serializers.CharField(
        allow_blank=True, help_text="Why the latest run failed; empty otherwise."
    )


def task_data(view: selectors.TaskView) -> dict[str, Any]:
    """The output dict of one task."""
    return dict(vars(view))


class TaskCreateIn(serializers.Serializer):
    """CreateTask's body."""

    id = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="Your id (generated when empty)."
    )
    name = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="Display name, 1..200 characters."
    )
    description = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="What it is for."
    )
    ext_datamodule_id = serializers.CharField(
        help_text="The destination module (a connection with a contract)."
    )
    seed = serializers.IntegerField(
        required=False, default=0, help_text="Seed of the seeded operations."
    )


class TaskListOut(serializers.Serializer):
    """One page of ListTasks."""

    tasks = TaskOut(many=True, help_text="Tasks, newest first.")
    next_page_token = serializers.CharField(
        allow_blank=True, help_text="Pass as page_token for the next page; empty on the last page."
    )


class ScriptIdsIn(serializers.Serializer):
    """The new list of one kind of script (replaces the current one)."""

    script_ids = serializers.ListField(
        child=serializers.CharField(), allow_empty=True, help_text="Script ids, in order."
    )


class ScriptIdIn(serializers.Serializer):
    """The task's uploader (empty to unset it)."""

    script_id = serializers.CharField(allow_blank=True, help_text="The uploader script's id.")


def _parse(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _int_param(request: Request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return 0
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be an integer", field=name) from None


class TasksView(APIView):
    """POST creates a task; GET lists tasks."""

    @extend_schema(
        tags=[TAG],
        operation_id="CreateTask",
        summary="Create a draft task (CreateTask)",
        description="Role EDIT_TASK and WRITE or OWNER on the destination module.",
        request=TaskCreateIn,
        responses={201: TaskOut, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _parse(TaskCreateIn, request.data)
        view = services.task_create(
            actor=actor_from(request),
            id=data["id"] or None,
            name=data["name"],
            description=data["description"],
            ext_datamodule_id=data["ext_datamodule_id"],
            seed=data["seed"],
        )
        return Response(TaskOut(task_data(view)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=[TAG],
        operation_id="ListTasks",
        summary="List tasks (ListTasks)",
        description=f"EDIT_TASK or PROCESS_ETL_TASK. Newest first, at most {MAX_PAGE_SIZE} a page "
        f"(default {DEFAULT_PAGE_SIZE}), `next_page_token` until the last page.",
        parameters=[
            OpenApiParameter(
                "states", str, many=True, enum=STATES, description="Only tasks in these states."
            ),
            OpenApiParameter(
                "page_size",
                int,
                description=f"1..{MAX_PAGE_SIZE}; 0 or omitted: {DEFAULT_PAGE_SIZE}.",
            ),
            OpenApiParameter(
                "page_token", str, description="next_page_token of the previous page."
            ),
        ],
        responses={200: TaskListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        page = selectors.task_list_for_actor(
            actor=actor_from(request),
            states=request.query_params.getlist("states"),
            page_size=_int_param(request, "page_size"),
            page_token=request.query_params.get("page_token", ""),
        )
        return Response(
            TaskListOut(
                {
                    "tasks": [task_data(v) for v in page.items],
                    "next_page_token": page.next_page_token,
                }
            ).data
        )


class TaskDetailView(APIView):
    """GET one task."""

    @extend_schema(
        tags=[TAG],
        operation_id="GetTask",
        summary="Get a task (GetTask)",
        description="EDIT_TASK or PROCESS_ETL_TASK.",
        parameters=[TASK_ID],
        responses={200: TaskOut, **ERRORS},
    )
    def get(self, request: Request, task_id: str) -> Response:
        view = selectors.task_get_for_actor(actor=actor_from(request), task_id=task_id)
        return Response(TaskOut(task_data(view)).data)


def _slot_view(slot: str, rpc: str, what: str) -> type[APIView]:
    """The PUT view of one script list (the five Update… rpcs differ only in their list)."""
    single = slot == "uploading_script_id"

    class SlotView(APIView):
        @extend_schema(
            tags=[TAG],
            operation_id=rpc,
            summary=f"Set the task's {what} ({rpc})",
            description="Role EDIT_TASK, a draft task, and the editor's grants (WRITE or OWNER on the "
            "destination, READ on every connection an extractor reads). Each script must exist, belong "
            "to the task and be of this list's kind.",
            parameters=[TASK_ID],
            request=ScriptIdIn if single else ScriptIdsIn,
            responses={200: TaskOut, **ERRORS},
        )
        def put(self, request: Request, task_id: str) -> Response:
            if single:
                given = _parse(ScriptIdIn, request.data)["script_id"]
                ids = [given] if given else []
            else:
                ids = list(_parse(ScriptIdsIn, request.data)["script_ids"])
            view = services.task_scripts_set(
                actor=actor_from(request), task_id=task_id, slot=slot, script_ids=ids
            )
            return Response(TaskOut(task_data(view)).data)

    SlotView.__name__ = SlotView.__qualname__ = f"{rpc}View"
    SlotView.__doc__ = f"PUT sets the task's {what}."
    return SlotView


ExtractionScriptsView = _slot_view(
    "extraction_script_ids", "UpdateExtractionScript", "extraction scripts"
)
FieldRulesView = _slot_view("field_rule_script_ids", "UpdateFieldRules", "field rules")
AnonymizationRulesView = _slot_view(
    "anonymization_script_ids", "UpdateAnonymizationRules", "anonymization rules"
)
TransformationScriptsView = _slot_view(
    "transformation_script_ids", "UpdateTransformationScripts", "transformation scripts"
)
UploadingScriptView = _slot_view("uploading_script_id", "UpdateUploadingScript", "uploading script")


class TaskReleaseView(APIView):
    """POST releases a task."""

    @extend_schema(
        tags=[TAG],
        operation_id="Release",
        summary="Release a task (Release)",
        description="Compiles the destination's contract and the task's released scripts into one data "
        "module document and validates it with the engine. 409 FAILED_PRECONDITION lists every problem, "
        "each with what to fix; afterwards the task is immutable and its document exported.",
        parameters=[TASK_ID],
        request=None,
        responses={200: TaskOut, **ERRORS},
    )
    def post(self, request: Request, task_id: str) -> Response:
        view = services.task_release(actor=actor_from(request), task_id=task_id)
        return Response(TaskOut(task_data(view)).data)


class TaskModuleView(APIView):
    """GET the released task's data module document."""

    @extend_schema(
        tags=[TAG],
        operation_id="GetTaskModule",
        summary="Export a released task's data module document (GetTaskModule)",
        description="The compiled Croissant JSON-LD document, byte for byte (ETag: its SHA-256). The "
        "`Privetl-Connections` header lists the connections a run needs as JSON: each connection's "
        "string goes into the environment variable named `variable` (`folder` is always empty), "
        "which the document names as `${variable}` (docs/tasks.md). A draft is 409.",
        parameters=[TASK_ID],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The data module document (docs/data-module.md)."
            ),
            **ERRORS,
        },
    )
    def get(self, request: Request, task_id: str) -> HttpResponse:
        module = selectors.task_module_for_actor(actor=actor_from(request), task_id=task_id)
        response = HttpResponse(module.document.encode(), content_type="application/json")
        response["ETag"] = f'"{module.sha256}"'
        response["Privetl-Connections"] = json.dumps(module.connections)
        response["Content-Disposition"] = f'attachment; filename="{module.task_id}.module.json"'
        return response
