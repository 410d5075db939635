"""REST door of the Script Manager (``/api/v1/scripts``), mirroring the gRPC contract.

Each view: parse (its own input serializer) → the actor → one service or selector → its own
output serializer. A script's body travels as in the contract: one of ``extractor``,
``field_rule``, ``anonymization_rule``, ``transformer``, ``uploader`` with the message's
field names, enum values by name (``"Sql"``, ``"FillEmpty"``, ``"Perturbation"``).
Errors are rendered by ``privetl.platform.rest.exception_handler``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from privetl.common.errors import InvalidArgument
from privetl.common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from privetl.common.text import ID_MAX_LENGTH, ID_PATTERN, ID_RULE
from privetl.platform import rest_fields
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
    "script_id",
    str,
    OpenApiParameter.PATH,
    pattern=ID_PATTERN.pattern,
    description=f"The script's id ({ID_RULE}).",
    examples=[OpenApiExample("a script", value="crm")],
)
FIELD_NAME_MAX_LENGTH = 2 * ID_MAX_LENGTH + 1
"""At most a table's and a column's name (each a SQL name of a contract) and the slash."""


class FieldNameField(rest_fields.TextField):
    """``"<table>/<column>"`` (``privetl.scripts.bodies.parse_field_name``)."""

    schema_pattern = bodies.FIELD_NAME.pattern

    def checked(self, value: str) -> str:
        bodies.parse_field_name(value, field=self.name)
        return value


class FieldListField(serializers.ListField):
    """A JSON array of ``Field`` objects (at most ``MAX_FIELDS``), refused as a whole when it
    is not an array."""

    def __init__(self, *, error_name: str, **kwargs: Any) -> None:
        self.error_name = error_name
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", list)
        child = FieldSerializer()
        for name, field in child.fields.items():  # refused under the request's path
            if isinstance(field, rest_fields.TextField):
                field.error_name = f"{error_name}.{name}"
        super().__init__(child=child, max_length=services.MAX_FIELDS, **kwargs)

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            raise InvalidArgument(
                f"{self.error_name} must be an array, not {rest_fields.json_kind(data)}",
                field=self.error_name,
            )
        if len(data) > services.MAX_FIELDS:
            raise InvalidArgument(
                f"{self.error_name}: at most {services.MAX_FIELDS} fields", field=self.error_name
            )
        for n, item in enumerate(data):
            if not isinstance(item, dict):
                raise InvalidArgument(
                    f"{self.error_name}[{n}] must be an object, not {rest_fields.json_kind(item)}",
                    field=f"{self.error_name}[{n}]",
                )
        return [dict(item) for item in super().to_internal_value(data)]


# --- bodies, as the contract's messages -----------------------------------------------
#
# The same serializers read a request's bodies (strict fields: a value is taken as sent or
# refused naming it, under the service's path for it, e.g. ``extractor.priority``) and
# describe a script's bodies in answers. What a body's texts mean (the JSON of config_json,
# the SQL of transformation_script, the columns of the contract) the service checks with the
# engine's rules, each problem naming its path.

INT32 = (-(2**31), 2**31 - 1)
"""The range of the contract's ``int32`` (``ExtractorScript.priority``)."""


def _body_text(kind: str, name: str, help_text: str, **kwargs: Any) -> rest_fields.TextField:
    """A text of a body, as sent, at most ``MAX_BODY_TEXT`` characters."""
    kwargs.setdefault("required", False)
    kwargs.setdefault("default", "")
    kwargs.setdefault("allow_blank", True)
    return rest_fields.TextField(
        max_length=services.MAX_BODY_TEXT,
        error_name=f"{kind}.{name}",
        help_text=help_text,
        **kwargs,
    )


class FieldSerializer(serializers.Serializer):
    """A column a script applies to (the contract's ``Field``)."""

    ext_datamodule_id = rest_fields.IdField(
        error_name="field.ext_datamodule_id",
        help_text=f"The connection (module) whose column it is ({ID_RULE}).",
    )
    # The contract's names; DRF's metaclass moves declared fields off the class, so they do
    # not shadow Field.field_name / Serializer.fields at run time (only the stubs object).
    field_name = FieldNameField(  # type: ignore[assignment]
        error_name="field.field_name",
        max_length=FIELD_NAME_MAX_LENGTH,
        help_text='"<table>/<column>": the Croissant field @id.',
    )


class ExtractorSerializer(serializers.Serializer):
    """One collection-protocol entry (``ExtractorScript``)."""

    table = _body_text("extractor", "table", "The table the records belong to (required).")
    kind = rest_fields.ChoiceField(
        list(bodies.EXTRACTOR_KINDS),
        error_name="extractor.kind",
        required=False,
        default="File",
        help_text="How the records are read.",
    )
    config_json = _body_text(
        "extractor",
        "config_json",
        'The entry\'s `source` object as JSON (e.g. {"kind": "file", "path": "a.csv", '
        '"format": "csv"}), optionally with `mapping`.',
    )
    priority = rest_fields.IntegerField(
        error_name="extractor.priority",
        required=False,
        default=0,
        min_value=INT32[0],
        max_value=INT32[1],
        help_text="Primary-key conflicts: the higher wins.",
    )
    connection_id = rest_fields.IdField(
        error_name="extractor.connection_id",
        required=False,
        allow_blank=True,
        help_text=f"Connection supplying location and credentials ({ID_RULE}); empty for none.",
    )


class FieldRuleSerializer(serializers.Serializer):
    """Empty values and ranges of the named columns (``FieldRule``)."""

    default_value = _body_text("field_rule", "default_value", "FillEmpty's value.")
    min_value = _body_text("field_rule", "min_value", "Smallest allowed value.")
    max_value = _body_text("field_rule", "max_value", "Largest allowed value.")
    field_type = rest_fields.ChoiceField(
        list(bodies.FIELD_TYPES),
        error_name="field_rule.field_type",
        required=False,
        default="Integer",
        help_text="The columns' type.",
    )
    type = rest_fields.ChoiceField(
        list(bodies.FIELD_RULE_TYPES),
        error_name="field_rule.type",
        required=False,
        default="FillEmpty",
        help_text="What the rule does.",
    )


class AnonymizationRuleSerializer(serializers.Serializer):
    """An anonymization operation, an anatomization or a privacy target (``AnonymizationRule``)."""

    type = rest_fields.ChoiceField(
        list(bodies.ANONYMIZATION_OPS),
        error_name="anonymization_rule.type",
        required=False,
        default="Generalization",
        help_text="The operation.",
    )
    parameters_json = _body_text(
        "anonymization_rule",
        "parameters_json",
        "The operation's parameters as JSON (privetl:anonymize without op; k, l, t, sensitive, "
        "max_suppression for a privacy target; sensitive, l for an anatomization).",
        default="{}",
    )


class TransformerSerializer(serializers.Serializer):
    """One SQL transformation (``TransformationScript``)."""

    transformation_script = _body_text(
        "transformer",
        "transformation_script",
        "One SQL SELECT over the staged tables (required).",
        allow_null=True,
        default=None,
    )
    type = rest_fields.ChoiceField(
        list(bodies.TRANSFORMATION_TYPES),
        error_name="transformer.type",
        required=False,
        default="Merge",
        help_text="Merge or Update.",
    )
    target_table = _body_text(
        "transformer", "target_table", "The table the result creates or replaces (required)."
    )


class UploaderSerializer(serializers.Serializer):
    """Where the new version goes (``UploaderScript``)."""

    destination_json = _body_text(
        "uploader", "destination_json", 'The `destination` as JSON ({"kind": "directory", ...}).'
    )
    rewrite_protocol = rest_fields.BooleanField(
        error_name="uploader.rewrite_protocol",
        required=False,
        default=False,
        help_text="Rewrite the published module's protocol to read the upload.",
    )
    connection_id = rest_fields.IdField(
        error_name="uploader.connection_id",
        required=False,
        allow_blank=True,
        help_text=f"Connection supplying the location ({ID_RULE}); empty for none.",
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

    id = rest_fields.IdField(
        error_name="script.id",
        required=False,
        allow_blank=True,
        help_text=f"Your id for the script ({ID_RULE}; generated when empty).",
    )
    task_id = rest_fields.IdField(
        error_name="script.task_id",
        help_text=f"The task the script belongs to ({ID_RULE}); it must exist (else 404).",
    )
    fields = FieldListField(  # type: ignore[assignment]
        error_name="script.fields", help_text="The columns it applies to."
    )


class ScriptUpdateIn(_BodiesIn):
    """UpdateScript's body: a new body of the script's kind and/or field changes."""

    fields_to_add = FieldListField(error_name="fields_to_add", help_text="Columns to add.")
    fields_to_remove = FieldListField(error_name="fields_to_remove", help_text="Columns to remove.")


class ScriptsQuery(rest_fields.QuerySerializer):
    """GetAllScript's query."""

    task_id = rest_fields.IdField(
        error_name="etl_task_id", help_text=f"The task whose scripts to list ({ID_RULE})."
    )
    page_size = rest_fields.PageSizeField()
    page_token = rest_fields.TextField(
        required=False,
        default="",
        allow_blank=True,
        help_text="`next_page_token` of the previous page of this same list; omit for the first "
        "page. A token of another list is 400 INVALID_ARGUMENT.",
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
            id=data.get("id") or None,
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
        parameters=[ScriptsQuery],
        responses={200: ScriptListOut, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _parse(ScriptsQuery, request.query_params)
        page = selectors.script_list_for_actor(
            actor=actor_from(request),
            task_id=query["task_id"],
            page_size=query["page_size"],
            page_token=query["page_token"],
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
