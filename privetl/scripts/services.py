"""The only writers of the Script Manager.

Every function here is keyword-only, typed, one ``@transaction.atomic`` unit: it validates
the body with the engine's own rules (``bodies``) → checks the caller's role → locks the
script → changes it → writes the audit record (``service="scripts"``, before/after) in the
same transaction. A released script is immutable, and a script's kind never changes.

Rules on columns are checked against the contract of the module their fields name (the
ExtDatamodule Manager's ``connection_contract``); an extractor or uploader that names a
connection is checked to fit its type. The editor's grants on those connections are the
task manager's to check (on every update of a task and again at Release), because a
script is only used through a task.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from privetl.audit.services import audit_record
from privetl.common.context import Actor
from privetl.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from privetl.common.redaction import redact_text
from privetl.common.text import nul_path
from privetl.datamodules.selectors import connection_contract, connection_get_for_actor
from privetl.scripts import bodies
from privetl.scripts.models import ID_MAX_LENGTH, Script, ScriptKind
from privetl.scripts.selectors import FieldRef, ScriptView, require_editor, script_view
from privetl.scripts.task_directory import task_exists

SERVICE = "scripts"
ID_PATTERN = re.compile(rf"[A-Za-z0-9._:@-]{{1,{ID_MAX_LENGTH}}}")
ID_RULE = f"1 to {ID_MAX_LENGTH} characters of A-Z a-z 0-9 . _ : @ -"
MAX_FIELDS = 500
MAX_BODY_TEXT = 100_000
EXTRACTOR_CONNECTIONS = {"File": ("FILE", "S3"), "Sql": ("SQL",), "Http": ("API",), "Executable": ()}
"""Which connection type each extractor kind reads through."""
RULE_KINDS = (ScriptKind.FIELD_RULE, ScriptKind.ANONYMIZATION_RULE)


# --- validation (raise InvalidArgument naming the field; nothing has changed yet) -----


def validate_id(value: str, *, field: str) -> str:
    """Ids are short, printable and URL-safe, because they travel in paths and logs."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{field} is required ({ID_RULE})", field=field)
    if not ID_PATTERN.fullmatch(value):
        raise InvalidArgument(f"{field} must be {ID_RULE}", field=field)
    return value


def validate_kind(value: str) -> str:
    """One of the five kinds of the contract's ``Script.script``."""
    if value not in ScriptKind.values:
        raise InvalidArgument(
            f"script: set one of {', '.join(ScriptKind.values)} (the script's body)", field="script"
        )
    return value


def validate_fields(
    values: Iterable[Mapping[str, Any]], *, field: str = "fields"
) -> list[FieldRef]:
    """Fields as ``{"ext_datamodule_id", "field_name": "<table>/<column>"}``, de-duplicated in order."""
    result: list[FieldRef] = []
    for n, value in enumerate(values):
        where = f"{field}[{n}]"
        module = str(value.get("ext_datamodule_id") or "")
        validate_id(module, field=f"{where}.ext_datamodule_id")
        name = str(value.get("field_name") or "")
        bodies.parse_field_name(name, field=f"{where}.field_name")
        ref = FieldRef(ext_datamodule_id=module, field_name=name)
        if ref not in result:
            result.append(ref)
    if len(result) > MAX_FIELDS:
        raise InvalidArgument(f"{field}: at most {MAX_FIELDS} fields", field=field)
    return result


def _validated_body(
    *, actor: Actor, kind: str, body: Mapping[str, Any], fields: list[FieldRef]
) -> dict[str, Any]:
    """The body checked on its own, then against its connection and its columns' contracts."""
    where = nul_path(dict(body), path=kind)
    if where is not None:
        raise InvalidArgument(f"{where} must not contain a NUL character", field=where)
    for key, value in body.items():
        if isinstance(value, str) and len(value) > MAX_BODY_TEXT:
            raise InvalidArgument(
                f"{kind}.{key} is too long: at most {MAX_BODY_TEXT} characters",
                field=f"{kind}.{key}",
            )
    cleaned = bodies.clean_body(kind, body)
    connection_id = str(cleaned.get("connection_id") or "")
    if connection_id:
        _check_connection(actor=actor, kind=kind, body=cleaned, connection_id=connection_id)
    if kind in RULE_KINDS:
        _check_rule(kind=kind, body=cleaned, fields=fields)
    return cleaned


def _check_connection(
    *, actor: Actor, kind: str, body: Mapping[str, Any], connection_id: str
) -> None:
    field = f"{kind}.connection_id"
    try:
        connection = connection_get_for_actor(actor=actor, connection_id=connection_id)
    except NotFound:
        raise NotFound(
            f"{field}: connection {connection_id!r} does not exist; GetAllConnection lists them",
            field=field,
        ) from None
    if connection.type == "GRPC":
        raise FailedPrecondition(
            f"{field}: connection {connection_id!r} is of type GRPC, which no extractor or "
            "uploader reads or writes yet; use a SQL, API, FILE or S3 connection",
            field=field,
        )
    if kind == ScriptKind.EXTRACTOR:
        allowed = EXTRACTOR_CONNECTIONS[str(body["kind"])]
        if connection.type not in allowed:
            raise InvalidArgument(
                f"{field}: a {body['kind']} extractor reads through "
                f"{' or '.join(allowed) or 'no'} connection, and {connection_id!r} is {connection.type}",
                field=field,
            )
        bodies.source_entry(body, entry_id="check", connection_type=connection.type, validate=True)
    else:
        if connection.type not in ("FILE", "S3", "SQL"):
            raise InvalidArgument(
                f"{field}: an uploader writes into a FILE directory, an S3 prefix or a SQL (PostgreSQL) "
                f"database, and {connection_id!r} is {connection.type}",
                field=field,
            )
        bodies.upload_entry(body, connection_type=connection.type)


def _check_rule(*, kind: str, body: Mapping[str, Any], fields: list[FieldRef]) -> None:
    if not fields:
        raise InvalidArgument(
            f"fields: a {kind.replace('_', ' ')} applies to columns; name at least one",
            field="fields",
        )
    problems = []
    by_module: dict[str, list[tuple[int, FieldRef]]] = {}
    for n, ref in enumerate(fields):
        by_module.setdefault(ref.ext_datamodule_id, []).append((n, ref))
    for module, refs in by_module.items():
        try:
            document = connection_contract(connection_id=module)
        except NotFound:
            raise NotFound(
                f"fields[{refs[0][0]}].ext_datamodule_id: {module!r} is no connection; "
                "GetAllConnection lists them",
                field=f"fields[{refs[0][0]}].ext_datamodule_id",
            ) from None
        if document is None:
            raise FailedPrecondition(
                f"fields[{refs[0][0]}].ext_datamodule_id: connection {module!r} has no contract, "
                "so its columns are unknown; its owner sets the contract with UpdateConnection",
                field=f"fields[{refs[0][0]}].ext_datamodule_id",
            )
        contract = bodies.contract_of(document)
        for problem in bodies.rule_problems(kind, body, [r.field_name for _, r in refs], contract):
            path = problem.path
            match = re.match(r"^fields\[(\d+)\]", path)
            if match:
                path = f"fields[{refs[int(match.group(1))][0]}]" + path[match.end() :]
            problems.append((path, problem.message))
    if problems:
        raise InvalidArgument(
            "; ".join(f"{path}: {message}" for path, message in problems), field=problems[0][0]
        )


# --- audit snapshots (the *_json texts redacted of credentials) ------------------------


def _snapshot(script: Script) -> dict[str, Any]:
    return {
        "id": script.id,
        "task_id": script.task_id,
        "kind": script.kind,
        "body": {
            key: redact_text(value) if isinstance(value, str) else value
            for key, value in script.body.items()
        },
        "fields": list(script.fields),
        "released": script.released,
    }


def _fields_json(fields: Iterable[FieldRef]) -> list[dict[str, str]]:
    return [{"ext_datamodule_id": f.ext_datamodule_id, "field_name": f.field_name} for f in fields]


def _locked(script_id: str) -> Script:
    try:
        return Script.objects.select_for_update().get(pk=script_id)
    except Script.DoesNotExist:
        raise NotFound(f"script {script_id!r} does not exist", field="script_id") from None


# --- scripts ---------------------------------------------------------------------------


@transaction.atomic
def script_create(
    *,
    actor: Actor,
    task_id: str,
    kind: str,
    body: Mapping[str, Any],
    fields: Iterable[Mapping[str, Any]] = (),
    id: str | None = None,
) -> ScriptView:
    """CreateScript (EDIT_TASK): a draft script of ``kind`` for the task ``task_id``.

    ``id`` is the caller's (generated when empty; a taken one is ALREADY_EXISTS). Extractor
    and transformer ids become the document's script and transformation names, so a
    generated id is a SQL identifier too. A task that does not exist is NOT_FOUND (asked of
    the ETL Task Manager through ``task_directory``), and nothing is created.
    """
    script_id = id or f"script_{uuid.uuid4().hex[:16]}"
    validate_id(script_id, field="script.id")
    validate_id(task_id, field="script.task_id")
    kind = validate_kind(kind)
    refs = validate_fields(fields, field="script.fields")
    require_editor(actor)
    if not task_exists(task_id):
        raise NotFound(
            f"script.task_id: task {task_id!r} does not exist; create it with CreateTask "
            "(ListTasks lists them)",
            field="script.task_id",
        )
    cleaned = _validated_body(actor=actor, kind=kind, body=body, fields=refs)
    if Script.objects.filter(pk=script_id).exists():
        raise AlreadyExists(f"script {script_id!r} already exists", field="script.id")
    now = timezone.now()
    try:
        with transaction.atomic():
            script = Script.objects.create(
                id=script_id,
                task_id=task_id,
                kind=kind,
                body=cleaned,
                fields=_fields_json(refs),
                created_by=actor.user_id,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # a concurrent create won the race
        raise AlreadyExists(f"script {script_id!r} already exists", field="script.id") from None
    audit_record(
        actor=actor,
        service=SERVICE,
        action="script.create",
        target_type="script",
        target_id=script.id,
        after=_snapshot(script),
    )
    return script_view(script)


@transaction.atomic
def script_update(
    *,
    actor: Actor,
    script_id: str,
    kind: str | None = None,
    body: Mapping[str, Any] | None = None,
    fields_to_add: Iterable[Mapping[str, Any]] = (),
    fields_to_remove: Iterable[Mapping[str, Any]] = (),
) -> ScriptView:
    """UpdateScript (EDIT_TASK): a new body of the same kind and/or a changed field list.

    The whole new state is checked as on create. A released script is FAILED_PRECONDITION;
    a body of another kind is INVALID_ARGUMENT (the kind never changes: create a new script).
    """
    validate_id(script_id, field="script_id")
    adding = validate_fields(fields_to_add, field="fields_to_add")
    removing = validate_fields(fields_to_remove, field="fields_to_remove")
    require_editor(actor)
    script = _locked(script_id)
    if script.released:
        raise FailedPrecondition(
            f"script {script_id!r} is released and cannot change; create a new script instead",
            field="script_id",
        )
    if kind is not None and kind != script.kind:
        raise InvalidArgument(
            f"script {script_id!r} is a {script.kind} and its kind never changes; send a "
            f"{script.kind} body (or create a new {kind} script)",
            field="script",
        )
    before = _snapshot(script)
    current = [FieldRef(**f) for f in script.fields]
    refs = [f for f in current if f not in removing] + [
        f for f in adding if f not in current and f not in removing
    ]
    cleaned = _validated_body(
        actor=actor, kind=script.kind, body=script.body if body is None else body, fields=refs
    )
    script.body = cleaned
    script.fields = _fields_json(refs)
    script.updated_at = timezone.now()
    script.save(update_fields=["body", "fields", "updated_at"])
    audit_record(
        actor=actor,
        service=SERVICE,
        action="script.update",
        target_type="script",
        target_id=script.id,
        before=before,
        after=_snapshot(script),
    )
    return script_view(script)


@transaction.atomic
def script_release(*, actor: Actor, script_id: str) -> ScriptView:
    """ReleaseScript (EDIT_TASK): the script becomes immutable and usable by a released task.

    Releasing a released script changes nothing and says so (FAILED_PRECONDITION), so a
    caller never believes it released a body it did not.
    """
    validate_id(script_id, field="script_id")
    require_editor(actor)
    script = _locked(script_id)
    if script.released:
        raise FailedPrecondition(f"script {script_id!r} is already released", field="script_id")
    before = _snapshot(script)
    script.released = True
    script.released_at = timezone.now()
    script.save(update_fields=["released", "released_at"])
    audit_record(
        actor=actor,
        service=SERVICE,
        action="script.release",
        target_type="script",
        target_id=script.id,
        before=before,
        after=_snapshot(script),
    )
    return script_view(script)
