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
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privetl.common.errors import InvalidArgument
from privetl.common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from privetl.common.text import ID_PATTERN, ID_RULE
from privetl.platform import rest_fields
from privetl.platform.rest import ErrorSerializer, actor_from
from privetl.tasks import selectors, services
from privetl.tasks.models import NAME_MAX_LENGTH, TaskState

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
TASK_ID = OpenApiParameter(
    "task_id",
    str,
    OpenApiParameter.PATH,
    pattern=ID_PATTERN.pattern,
    description=f"The task's id ({ID_RULE}).",
    examples=[OpenApiExample("a task", value="t1")],
)


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
    """CreateTask's body (strict fields, refused under the service's names: ``task.name``)."""

    id = rest_fields.IdField(
        error_name="task.id",
        required=False,
        allow_blank=True,
        help_text=f"Your id ({ID_RULE}; generated when empty).",
    )
    name = rest_fields.NameField(
        max_length=NAME_MAX_LENGTH,
        error_name="task.name",
        help_text=f"Display name, 1..{NAME_MAX_LENGTH} characters.",
    )
    description = rest_fields.FreeTextField(
        max_length=services.DESCRIPTION_MAX_LENGTH,
        error_name="task.description",
        required=False,
        default="",
        help_text=f"What it is for, up to {services.DESCRIPTION_MAX_LENGTH} characters.",
    )
    ext_datamodule_id = rest_fields.IdField(
        error_name="task.ext_datamodule_id",
        help_text=f"The destination module (a connection with a contract; {ID_RULE}).",
    )
    seed = rest_fields.IntegerField(
        error_name="task.seed",
        required=False,
        default=0,
        min_value=services.SEED_RANGE[0],
        max_value=services.SEED_RANGE[1],
        help_text="Seed of the seeded operations (64 bits).",
    )


class TaskListOut(serializers.Serializer):
    """One page of ListTasks."""

    tasks = TaskOut(many=True, help_text="Tasks, newest first.")
    next_page_token = serializers.CharField(
        allow_blank=True, help_text="Pass as page_token for the next page; empty on the last page."
    )


class ScriptIdListField(serializers.ListField):
    """A JSON array of distinct script ids (``ID_RULE``); ``uniqueItems`` in the schema."""

    def __init__(self, *, error_name: str, **kwargs: Any) -> None:
        self.error_name = error_name
        super().__init__(child=rest_fields.IdField(error_name=error_name), **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list):
            raise InvalidArgument(
                f"{self.error_name} must be an array, not {rest_fields.json_kind(data)}",
                field=self.error_name,
            )
        ids = list(super().to_internal_value(data))
        for n, script_id in enumerate(ids):
            if script_id in ids[:n]:
                raise InvalidArgument(
                    f"{self.error_name}: script {script_id!r} is listed twice",
                    field=self.error_name,
                )
        return ids


class ScriptIdListSchema(OpenApiSerializerFieldExtension):
    """The schema of a script id list: DRF's array plus ``uniqueItems``."""

    target_class = ScriptIdListField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        schema["uniqueItems"] = True
        return schema


class ScriptIdsIn(serializers.Serializer):
    """The new list of one kind of script (replaces the current one)."""

    script_ids = ScriptIdListField(
        error_name="script_ids",
        allow_empty=True,
        max_length=services.MAX_SCRIPTS,
        help_text=f"Script ids, in order, at most {services.MAX_SCRIPTS}.",
    )


class ScriptIdIn(serializers.Serializer):
    """The task's uploader (empty to unset it)."""

    script_id = rest_fields.IdField(
        error_name="script_id",
        allow_blank=True,
        help_text=f"The uploader script's id ({ID_RULE}); empty to unset it.",
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


class TasksQuery(PagingQuery):
    """ListTasks' query."""

    states = rest_fields.ChoiceListField(
        STATES,
        error_name="states",
        required=False,
        allow_empty=True,
        default=list,
        help_text="Only tasks in these states (repeat for several).",
    )


def _parse(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


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
            id=data.get("id") or None,
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
        parameters=[TasksQuery],
        responses={200: TaskListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _parse(TasksQuery, request.query_params)
        page = selectors.task_list_for_actor(
            actor=actor_from(request),
            states=query["states"],
            page_size=query["page_size"],
            page_token=query["page_token"],
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
