"""REST door of the Script Manager (``/api/v1/scripts``), mirroring the gRPC contract.

Each view: parse (its own input serializer) → the actor → one service or selector → its own
output serializer. A script's body travels as in the contract: one of ``extractor``,
``field_rule``, ``anonymization_rule``, ``transformer``, ``uploader`` with the message's
field names, enum values by name (``"Sql"``, ``"FillEmpty"``, ``"Perturbation"``).
Errors are rendered by ``privetl.platform.rest.exception_handler``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privetl.common.errors import InvalidArgument
from privetl.common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from privetl.platform.rest import ErrorSerializer, actor_from
from privetl.scripts import bodies, selectors, services
from privetl.scripts.models import ScriptKind

TAG = "Script Manager"
KINDS = list(ScriptKind.values)
ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="INVALID_ARGUMENT: the bad value's path in `field`."
    ),
    401: OpenApiResponse(ErrorSerializer, description="UNAUTHENTICATED: no or a bad token."),
    403: OpenApiResponse(
        ErrorSerializer, description="PERMISSION_DENIED: the role EDIT_TASK is needed."
    ),
    404: OpenApiResponse(ErrorSerializer, description="NOT_FOUND: no such script or connection."),
    409: OpenApiResponse(
        ErrorSerializer,
        description="ALREADY_EXISTS (a taken id) or FAILED_PRECONDITION (a released script).",
    ),
}
SCRIPT_ID = OpenApiParameter(
    "script_id", str, OpenApiParameter.PATH, description="The script's id."
)


# --- bodies, as the contract's messages -----------------------------------------------


class FieldSerializer(serializers.Serializer):
    """A column a script applies to (the contract's ``Field``)."""

    ext_datamodule_id = serializers.CharField(
        help_text="The connection (module) whose column it is."
    )
    # The contract's names; DRF's metaclass moves declared fields off the class, so they do
    # not shadow Field.field_name / Serializer.fields at run time (only the stubs object).
    field_name = serializers.CharField(  # type: ignore[assignment]
        help_text='"<table>/<column>": the Croissant field @id.'
    )


class ExtractorSerializer(serializers.Serializer):
    """One collection-protocol entry (``ExtractorScript``)."""

    table = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="The table the records belong to."
    )
    kind = serializers.ChoiceField(
        choices=list(bodies.EXTRACTOR_KINDS),
        required=False,
        default="File",
        help_text="How the records are read.",
    )
    config_json = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text='The entry\'s `source` object as JSON (e.g. {"kind": "file", "path": "a.csv", "format": "csv"}), '
        "optionally with `mapping`.",
    )
    priority = serializers.IntegerField(
        required=False, default=0, help_text="Primary-key conflicts: the higher wins."
    )
    connection_id = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="Connection supplying location and credentials.",
    )


class FieldRuleSerializer(serializers.Serializer):
    """Empty values and ranges of the named columns (``FieldRule``)."""

    default_value = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="FillEmpty's value."
    )
    min_value = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="Smallest allowed value."
    )
    max_value = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="Largest allowed value."
    )
    field_type = serializers.ChoiceField(
        choices=list(bodies.FIELD_TYPES),
        required=False,
        default="Integer",
        help_text="The columns' type.",
    )
    type = serializers.ChoiceField(
        choices=list(bodies.FIELD_RULE_TYPES),
        required=False,
        default="FillEmpty",
        help_text="What the rule does.",
    )


class AnonymizationRuleSerializer(serializers.Serializer):
    """An anonymization operation, an anatomization or a privacy target (``AnonymizationRule``)."""

    type = serializers.ChoiceField(
        choices=list(bodies.ANONYMIZATION_OPS),
        required=False,
        default="Generalization",
        help_text="The operation.",
    )
    parameters_json = serializers.CharField(
        required=False,
        default="{}",
        allow_blank=True,
        help_text="The operation's parameters as JSON (privetl:anonymize without op; k, l, t, sensitive, "
        "max_suppression for a privacy target; sensitive, l for an anatomization).",
    )


class TransformerSerializer(serializers.Serializer):
    """One SQL transformation (``TransformationScript``)."""

    transformation_script = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text="One SQL SELECT over the staged tables.",
    )
    type = serializers.ChoiceField(
        choices=list(bodies.TRANSFORMATION_TYPES),
        required=False,
        default="Merge",
        help_text="Merge or Update.",
    )
    target_table = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="The table the result creates or replaces.",
    )


class UploaderSerializer(serializers.Serializer):
    """Where the new version goes (``UploaderScript``)."""

    destination_json = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text='The `destination` as JSON ({"kind": "directory", ...}).',
    )
    rewrite_protocol = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Rewrite the published module's protocol to read the upload.",
    )
    connection_id = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="Connection supplying the location."
    )


BODY_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    ScriptKind.EXTRACTOR: ExtractorSerializer,
    ScriptKind.FIELD_RULE: FieldRuleSerializer,
    ScriptKind.ANONYMIZATION_RULE: AnonymizationRuleSerializer,
    ScriptKind.TRANSFORMER: TransformerSerializer,
    ScriptKind.UPLOADER: UploaderSerializer,
}


class ScriptOut(serializers.Serializer):
    """A script: exactly one of the five bodies is present, the one of its kind."""

    id = serializers.CharField(help_text="The script's id.")
    task_id = serializers.CharField(help_text="The task it belongs to.")
    kind = serializers.ChoiceField(choices=KINDS, help_text="Which body is set; never changes.")
    fields = FieldSerializer(many=True, help_text="The columns it applies to.")  # type: ignore[assignment]
    released = serializers.BooleanField(help_text="Released scripts are immutable.")
    created_by = serializers.CharField(help_text="Who created it.")
    created_at = serializers.DateTimeField(help_text="When it was created.")
    updated_at = serializers.DateTimeField(help_text="When it last changed.")
    released_at = serializers.DateTimeField(allow_null=True, help_text="When it was released.")
    extractor = ExtractorSerializer(required=False, help_text="Set for an extractor.")
    field_rule = FieldRuleSerializer(required=False, help_text="Set for a field rule.")
    anonymization_rule = AnonymizationRuleSerializer(
        required=False, help_text="Set for an anonymization rule."
    )
    transformer = TransformerSerializer(required=False, help_text="Set for a transformer.")
    uploader = UploaderSerializer(required=False, help_text="Set for an uploader.")


def script_data(view: selectors.ScriptView) -> dict[str, Any]:
    """The output dict of one script."""
    data: dict[str, Any] = {
        "id": view.id,
        "task_id": view.task_id,
        "kind": view.kind,
        "fields": [
            {"ext_datamodule_id": f.ext_datamodule_id, "field_name": f.field_name}
            for f in view.fields
        ],
        "released": view.released,
        "created_by": view.created_by,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
        "released_at": view.released_at,
    }
    data[view.kind] = dict(view.body)
    return data


class _BodiesIn(serializers.Serializer):
    """The five optional bodies of a request (one of them is the script's)."""

    extractor = ExtractorSerializer(required=False, help_text="An extractor's body.")
    field_rule = FieldRuleSerializer(required=False, help_text="A field rule's body.")
    anonymization_rule = AnonymizationRuleSerializer(
        required=False, help_text="An anonymization rule's body."
    )
    transformer = TransformerSerializer(required=False, help_text="A transformer's body.")
    uploader = UploaderSerializer(required=False, help_text="An uploader's body.")


def _one_body(data: dict[str, Any], *, required: bool) -> tuple[str | None, dict[str, Any] | None]:
    given = [kind for kind in KINDS if kind in data]
    if len(given) > 1:
        raise InvalidArgument(f"script: send one body, not {', '.join(given)}", field="script")
    if not given:
        if required:
            raise InvalidArgument(
                f"script: send one of {', '.join(KINDS)} (the script's body)", field="script"
            )
        return None, None
    return given[0], dict(data[given[0]])


class ScriptCreateIn(_BodiesIn):
    """CreateScript's body."""

    id = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="Your id for the script (generated when empty).",
    )
    task_id = serializers.CharField(help_text="The task the script belongs to.")
    fields = FieldSerializer(  # type: ignore[assignment]
        many=True, required=False, default=list, help_text="The columns it applies to."
    )


class ScriptUpdateIn(_BodiesIn):
    """UpdateScript's body: a new body of the script's kind and/or field changes."""

    fields_to_add = FieldSerializer(
        many=True, required=False, default=list, help_text="Columns to add."
    )
    fields_to_remove = FieldSerializer(
        many=True, required=False, default=list, help_text="Columns to remove."
    )


class ScriptListOut(serializers.Serializer):
    """One page of GetAllScript."""

    scripts = ScriptOut(many=True, help_text="The task's scripts, oldest first.")
    next_page_token = serializers.CharField(
        allow_blank=True, help_text="Pass as page_token for the next page; empty on the last page."
    )


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


class ScriptsView(APIView):
    """POST creates a script; GET lists a task's scripts."""

    @extend_schema(
        tags=[TAG],
        operation_id="CreateScript",
        summary="Create a script (CreateScript)",
        description="Role EDIT_TASK. Send one body; it is checked with the engine's rules (JSON, source "
        "kinds, the columns of the contract, the SQL sandbox), a problem naming its path in `field`.",
        request=ScriptCreateIn,
        responses={201: ScriptOut, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = _parse(ScriptCreateIn, request.data)
        kind, body = _one_body(data, required=True)
        view = services.script_create(
            actor=actor_from(request),
            id=data["id"] or None,
            task_id=data["task_id"],
            kind=kind or "",
            body=body or {},
            fields=data["fields"],
        )
        return Response(ScriptOut(script_data(view)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=[TAG],
        operation_id="GetAllScript",
        summary="List a task's scripts (GetAllScript)",
        description=f"EDIT_TASK or PROCESS_ETL_TASK. Oldest first, at most {MAX_PAGE_SIZE} a page "
        f"(default {DEFAULT_PAGE_SIZE}), `next_page_token` until the last page.",
        parameters=[
            OpenApiParameter("task_id", str, required=True, description="The task."),
            OpenApiParameter(
                "page_size",
                int,
                description=f"1..{MAX_PAGE_SIZE}; 0 or omitted: {DEFAULT_PAGE_SIZE}.",
            ),
            OpenApiParameter(
                "page_token", str, description="next_page_token of the previous page."
            ),
        ],
        responses={200: ScriptListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        page = selectors.script_list_for_actor(
            actor=actor_from(request),
            task_id=request.query_params.get("task_id", ""),
            page_size=_int_param(request, "page_size"),
            page_token=request.query_params.get("page_token", ""),
        )
        return Response(
            ScriptListOut(
                {
                    "scripts": [script_data(v) for v in page.items],
                    "next_page_token": page.next_page_token,
                }
            ).data
        )


class ScriptDetailView(APIView):
    """GET one script; PUT updates it."""

    @extend_schema(
        tags=[TAG],
        operation_id="GetScript",
        summary="Get a script (GetScript)",
        description="EDIT_TASK or PROCESS_ETL_TASK.",
        parameters=[SCRIPT_ID],
        responses={200: ScriptOut, **ERRORS},
    )
    def get(self, request: Request, script_id: str) -> Response:
        view = selectors.script_get_for_actor(actor=actor_from(request), script_id=script_id)
        return Response(ScriptOut(script_data(view)).data)

    @extend_schema(
        tags=[TAG],
        operation_id="UpdateScript",
        summary="Update a draft script (UpdateScript)",
        description="Role EDIT_TASK. A body of the script's own kind (the kind never changes) and/or "
        "fields to add and remove; the new state is checked as on create. A released script is 409.",
        parameters=[SCRIPT_ID],
        request=ScriptUpdateIn,
        responses={200: ScriptOut, **ERRORS},
    )
    def put(self, request: Request, script_id: str) -> Response:
        data = _parse(ScriptUpdateIn, request.data)
        kind, body = _one_body(data, required=False)
        view = services.script_update(
            actor=actor_from(request),
            script_id=script_id,
            kind=kind,
            body=body,
            fields_to_add=data["fields_to_add"],
            fields_to_remove=data["fields_to_remove"],
        )
        return Response(ScriptOut(script_data(view)).data)


class ScriptReleaseView(APIView):
    """POST releases a script."""

    @extend_schema(
        tags=[TAG],
        operation_id="ReleaseScript",
        summary="Release a script (ReleaseScript)",
        description="Role EDIT_TASK. The script becomes immutable; releasing it again is 409.",
        parameters=[SCRIPT_ID],
        request=None,
        responses={200: ScriptOut, **ERRORS},
    )
    def post(self, request: Request, script_id: str) -> Response:
        view = services.script_release(actor=actor_from(request), script_id=script_id)
        return Response(ScriptOut(script_data(view)).data)
