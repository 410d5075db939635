"""Release's compile step: a task's contract and scripts → one data module document.

The destination connection's contract gives the tables, typed columns, keys, conflict
strategies and foreign keys; each released script adds its part (``privetl.scripts.bodies``
says which): rules onto their columns and tables, extractors into the collection protocol,
transformers into ``privetl:transformations`` in the task's order, the uploader into
``privetl:upload``; the task's seed is ``privetl:seed``. The engine then validates the whole
document (``privetl.engine.validate.check_document``, whose checks include the SQL sandbox
of the transformations). Every problem is collected, each saying what to fix and, when a script caused it,
which script — Release refuses with all of them at once.

Pure: the caller reads the scripts, the contract and the connections' types and passes
them in, so the step is tested without a database.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from privetl.common.errors import InvalidArgument
from privetl.engine.metadata import NAME_PATTERN
from privetl.engine.validate import check_document
from privetl.scripts import bodies
from privetl.scripts.models import ScriptKind
from privetl.scripts.selectors import ScriptView
from privetl.tasks.selectors import TaskView

SLOTS: dict[str, tuple[str, str]] = {
    "extraction_script_ids": (ScriptKind.EXTRACTOR, "UpdateExtractionScript"),
    "field_rule_script_ids": (ScriptKind.FIELD_RULE, "UpdateFieldRules"),
    "anonymization_script_ids": (ScriptKind.ANONYMIZATION_RULE, "UpdateAnonymizationRules"),
    "transformation_script_ids": (ScriptKind.TRANSFORMER, "UpdateTransformationScripts"),
    "uploading_script_id": (ScriptKind.UPLOADER, "UpdateUploadingScript"),
}
"""Each script list of a task: the kind it holds and the rpc that sets it."""
_NAME = re.compile(NAME_PATTERN)
TRANSFORMATIONS_PATH = "$.privetl:transformations"


@dataclass(frozen=True)
class Compiled:
    """The compiled document (None when there are problems), its exact text and hash."""

    problems: list[str]
    document: dict[str, Any] | None = None
    text: str = ""
    sha256: str = ""
    connections: list[dict[str, Any]] = field(default_factory=list)


def script_ids_of(task: TaskView) -> list[str]:
    """Every script id the task lists, in slot order."""
    ids = [
        *task.extraction_script_ids,
        *task.field_rule_script_ids,
        *task.anonymization_script_ids,
        *task.transformation_script_ids,
    ]
    if task.uploading_script_id:
        ids.append(task.uploading_script_id)
    return ids


def document_name(script_id: str) -> str:
    """A script's name in the document (script ids and transformation names are SQL names)."""
    if _NAME.match(script_id):
        return script_id
    name = re.sub(r"[^A-Za-z0-9_]", "_", script_id)
    if not re.match(r"[A-Za-z_]", name):
        name = "s_" + name
    return name[:63]


def document_text(document: Mapping[str, Any]) -> str:
    """The exported text of a document: what the stored SHA-256 hashes, byte for byte."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _connection_entry(connection_id: str, connection_type: str) -> dict[str, Any]:
    return {
        "connection_id": connection_id,
        "type": connection_type,
        "variable": bodies.connection_variable(connection_id),
        "folder": "",  # FILE connections were once linked folders; every connection is a variable now
    }


def compile_task(
    *,
    task: TaskView,
    contract: Mapping[str, Any] | None,
    scripts: Mapping[str, ScriptView],
    connection_types: Mapping[str, str],
) -> Compiled:
    """Compile ``task`` (see the module docstring); ``connection_types`` maps every existing
    connection the scripts name to its type (a missing id is a problem)."""
    problems: list[str] = []
    if contract is None:
        return Compiled(
            problems=[
                f"the destination module {task.ext_datamodule_id!r} has no contract (its tables and "
                "columns); its owner sets one with UpdateConnection"
            ]
        )
    parsed = bodies.contract_of(contract)
    document = bodies.bare_contract(contract)
    document["privetl:seed"] = task.seed
    connections: dict[str, dict[str, Any]] = {}

    def script(script_id: str, slot: str) -> ScriptView | None:
        kind, rpc = SLOTS[slot]
        found = scripts.get(script_id)
        if found is None:
            problems.append(f"script {script_id!r} does not exist; remove it with {rpc}")
            return None
        if found.kind != kind or found.task_id != task.id:
            problems.append(
                f"script {script_id!r} is not a {kind} of this task; remove it with {rpc}"
            )
            return None
        if not found.released:
            problems.append(f"script {script_id!r} is not released; release it with ReleaseScript")
            return None
        return found

    def connection(view: ScriptView, what: str, allowed: tuple[str, ...]) -> bool:
        connection_id = str(view.body.get("connection_id") or "")
        if not connection_id:
            return True
        connection_type = connection_types.get(connection_id)
        if connection_type is None:
            problems.append(
                f"script {view.id!r}: connection {connection_id!r} does not exist; name another"
            )
            return False
        if connection_type not in allowed:
            hint = (
                "no extractor or uploader reads GRPC connections yet"
                if connection_type == "GRPC"
                else f"use a {' or '.join(allowed)} connection"
            )
            problems.append(
                f"script {view.id!r}: {what} cannot use {connection_type} connection {connection_id!r}: {hint}"
            )
            return False
        connections.setdefault(connection_id, _connection_entry(connection_id, connection_type))
        return True

    # Who set which document path, so the engine's problems name the script to fix.
    owners: list[tuple[str, str]] = []
    set_by: dict[tuple[str, str], str] = {}

    for slot in ("field_rule_script_ids", "anonymization_script_ids"):
        for script_id in getattr(task, slot):
            view = script(script_id, slot)
            if view is None:
                continue
            fields = [
                f.field_name for f in view.fields if f.ext_datamodule_id == task.ext_datamodule_id
            ]
            others = [
                f.field_name for f in view.fields if f.ext_datamodule_id != task.ext_datamodule_id
            ]
            if others:
                problems.append(
                    f"script {view.id!r} names fields of another module ({', '.join(others)}); a task's "
                    f"rules apply to its destination {task.ext_datamodule_id!r}"
                )
            try:
                targets, found = bodies.rule_targets(view.kind, view.body, fields, parsed)
            except InvalidArgument as exc:
                problems.append(f"script {view.id!r}: {exc.message}")
                continue
            problems.extend(f"script {view.id!r}: {p.message}" for p in found)
            for path, term, value, _ in targets:
                earlier = set_by.get((path, term))
                if earlier is not None:
                    problems.append(
                        f"scripts {earlier!r} and {view.id!r} both set {term} at {path}; keep one of them"
                    )
                    continue
                set_by[(path, term)] = view.id
                bodies.apply_target(document, path, term, value)
                owners.append((path, view.id))

    protocol: list[dict[str, Any]] = []
    for script_id in task.extraction_script_ids:
        view = script(script_id, "extraction_script_ids")
        if view is None:
            continue
        allowed = {"File": ("FILE", "S3"), "Sql": ("SQL",), "Http": ("API",)}.get(
            str(view.body.get("kind")), ()
        )
        if not connection(view, "an extractor", allowed):
            continue
        connection_id = str(view.body.get("connection_id") or "")
        try:
            entry = bodies.source_entry(
                view.body,
                entry_id=document_name(view.id),
                connection_type=connection_types.get(connection_id),
            )
        except InvalidArgument as exc:
            problems.append(f"script {view.id!r}: {exc.message}")
            continue
        owners.append((f"$.privetl:collectionProtocol[{len(protocol)}]", view.id))
        protocol.append(entry)
    document["privetl:collectionProtocol"] = protocol

    transformations: list[dict[str, Any]] = []
    for script_id in task.transformation_script_ids:
        view = script(script_id, "transformation_script_ids")
        if view is None:
            continue
        entry = bodies.transformation_entry(view.body, name=document_name(view.id))
        owners.append((f"{TRANSFORMATIONS_PATH}[{len(transformations)}]", view.id))
        transformations.append(entry)
    if transformations:
        document["privetl:transformations"] = transformations

    if not task.uploading_script_id:
        problems.append(
            "the task has no uploader: create an uploader script, release it and set it with UpdateUploadingScript"
        )
    else:
        view = script(task.uploading_script_id, "uploading_script_id")
        if view is not None and connection(view, "an uploader", ("FILE", "S3", "SQL")):
            connection_id = str(view.body.get("connection_id") or "")
            try:
                document["privetl:upload"] = bodies.upload_entry(
                    view.body, connection_type=connection_types.get(connection_id)
                )
                owners.append(("$.privetl:upload", view.id))
            except InvalidArgument as exc:
                problems.append(f"script {view.id!r}: {exc.message}")

    # A table whose listed extractor is only waiting for its release has one: the
    # unreleased script is already named above.
    listed_tables = {
        str(scripts[i].body.get("table"))
        for i in task.extraction_script_ids
        if i in scripts and scripts[i].kind == ScriptKind.EXTRACTOR
    }
    for problem in check_document(copy.deepcopy(document)).problems:
        explained = _explained(problem.path, problem.message, owners, document)
        if explained.startswith("the task has no extractor") and listed_tables:
            continue
        if any(explained.startswith(f"table {name!r} has no extractor") for name in listed_tables):
            continue
        problems.append(explained)
    if problems:
        return Compiled(problems=list(dict.fromkeys(problems)))
    text = document_text(document)
    return Compiled(
        problems=[],
        document=document,
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        connections=sorted(connections.values(), key=lambda c: c["connection_id"]),
    )


def _explained(
    path: str, message: str, owners: list[tuple[str, str]], document: Mapping[str, Any]
) -> str:
    """An engine problem, naming the script that set the path (or what to add).

    The SQL sandbox's problem (``...transformations[n].sql``) already names the
    transformation, which is its script's id, so it is told without the path.
    """
    for prefix, script_id in sorted(owners, key=lambda o: -len(o[0])):
        if path == f"{prefix}.sql" and prefix.startswith(TRANSFORMATIONS_PATH):
            return f"script {script_id!r}: {message}"
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return f"script {script_id!r}: {message} ({path})"
    match = re.fullmatch(r"\$\.recordSet\[(\d+)\]", path)
    if match and "has no script" in message:
        record_sets = document.get("recordSet") or []
        index = int(match.group(1))
        name = record_sets[index].get("name") if index < len(record_sets) else "?"
        return f"table {name!r} has no extractor: create an extractor for it, release it and add it with UpdateExtractionScript"
    if path == "$.privetl:collectionProtocol":
        return "the task has no extractor: add one per table with UpdateExtractionScript"
    return (
        f"the contract: {message} ({path}); the destination's owner fixes it with UpdateConnection"
    )
