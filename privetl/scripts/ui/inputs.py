"""What each kind of script's form asks, and how its answers become the service's body.

A script's body is the contract's message of its kind (``privetl.scripts.bodies`` says what
each key means). The form keeps every answer as typed, so a refused save shows the user's
input again; the only parsing here is of the browser's text (an integer, a checkbox, one
field per line). Whether a value is right is the service's to say: its ``InvalidArgument``
names the path of the bad value, and ``form_field_of`` puts the message at that input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from privetl.scripts import bodies
from privetl.scripts.models import ScriptKind
from privetl.scripts.selectors import ScriptView

KIND_LABELS = {
    ScriptKind.EXTRACTOR: "Extractor",
    ScriptKind.FIELD_RULE: "Field rule",
    ScriptKind.ANONYMIZATION_RULE: "Anonymization rule",
    ScriptKind.TRANSFORMER: "Transformation",
    ScriptKind.UPLOADER: "Uploader",
}
FIELDS = "fields"
FIELDS_MODULE = "fields_module"


@dataclass(frozen=True)
class Input:
    """One input of a kind's form: its body key, label, widget and a hint saying what to type."""

    name: str
    label: str
    widget: str = "text"
    """text, number, textarea, sql, select or checkbox."""
    choices: tuple[str, ...] = ()
    hint: str = ""


RULE_FIELDS = (
    Input(
        FIELDS_MODULE,
        "Module of the fields",
        hint="The connection whose contract has the columns: the task's destination.",
    ),
    Input(
        FIELDS,
        "Fields",
        "textarea",
        hint='One column per line as "<table>/<column>", e.g. customers/zip.',
    ),
)

INPUTS: dict[str, tuple[Input, ...]] = {
    ScriptKind.EXTRACTOR: (
        Input("table", "Table", hint="The contract's table the records belong to."),
        Input(
            "kind",
            "Source kind",
            "select",
            tuple(bodies.EXTRACTOR_KINDS),
            hint="File reads a FILE or S3 connection, Sql a SQL one, Http an API one.",
        ),
        Input(
            "priority",
            "Priority",
            "number",
            hint="When two sources give the same key, the higher priority wins.",
        ),
        Input(
            "connection_id",
            "Connection (optional)",
            hint="The connection it reads through; then the source names no location of its own.",
        ),
        Input(
            "config_json",
            "Source (JSON)",
            "textarea",
            hint='The collection-protocol source object, e.g. {"kind": "file", "path": '
            '"customers.csv", "format": "csv"}, optionally with its "mapping".',
        ),
    ),
    ScriptKind.FIELD_RULE: (
        Input(
            "type",
            "Rule",
            "select",
            bodies.FIELD_RULE_TYPES,
            hint="The Empty rules act on empty fields, the OutOfRange rules on values outside "
            "the minimum and maximum.",
        ),
        Input(
            "field_type",
            "Field type",
            "select",
            tuple(bodies.FIELD_TYPES),
            hint="The columns' type in the contract; the values below are of this type.",
        ),
        Input("default_value", "Default value", hint="FillEmpty: the value put into empty fields."),
        Input("min_value", "Minimum", hint="Range rules: the lowest value allowed."),
        Input("max_value", "Maximum", hint="Range rules: the highest value allowed."),
        *RULE_FIELDS,
    ),
    ScriptKind.ANONYMIZATION_RULE: (
        Input(
            "type",
            "Operation",
            "select",
            tuple(bodies.ANONYMIZATION_OPS),
            hint="Anatomization, and a Suppression with k, apply to the fields' table; the "
            "others to each field.",
        ),
        Input(
            "parameters_json",
            "Parameters (JSON)",
            "textarea",
            hint='The operation\'s parameters, e.g. {"truncate": 3}; a Suppression with "k" is '
            "the table's privacy target.",
        ),
        *RULE_FIELDS,
    ),
    ScriptKind.TRANSFORMER: (
        Input(
            "type",
            "Type",
            "select",
            tuple(bodies.TRANSFORMATION_TYPES),
            hint="Merge makes the target table from the query; Update replaces an existing "
            "table's rows with it.",
        ),
        Input("target_table", "Target table", hint="The table the result creates or replaces."),
        Input(
            "transformation_script",
            "SQL",
            "sql",
            hint="One SELECT over the staged tables; the engine's sandbox checks it.",
        ),
    ),
    ScriptKind.UPLOADER: (
        Input(
            "connection_id",
            "Connection (optional)",
            hint="The FILE, S3 or SQL connection it writes into.",
        ),
        Input(
            "destination_json",
            "Destination (JSON)",
            "textarea",
            hint='Without a connection: e.g. {"kind": "directory", "path": "published"}.',
        ),
        Input(
            "rewrite_protocol",
            "Rewrite the collection protocol",
            "checkbox",
            hint="The published module's collection protocol then reads the uploaded data "
            "(else it keeps the original sources).",
        ),
    ),
}
"""The inputs of each kind's form, in the order a person fills them in."""


NEW_ANSWERS: dict[str, Any] = {"priority": "0", "rewrite_protocol": True}
"""What a new script's form starts with (the engine's defaults); the rest starts empty."""


def answers_of(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The form's answers as typed (strings; a checkbox's presence), to show them again."""
    answers: dict[str, Any] = {}
    for field in INPUTS[kind]:
        if field.widget == "checkbox":
            answers[field.name] = field.name in data
        else:
            answers[field.name] = str(data.get(field.name, ""))
    return answers


def answers_of_script(script: ScriptView) -> dict[str, Any]:
    """A stored script's body and fields as the form shows them."""
    answers: dict[str, Any] = {}
    for field in INPUTS[script.kind]:
        if field.name == FIELDS:
            answers[FIELDS] = "\n".join(f.field_name for f in script.fields)
        elif field.name == FIELDS_MODULE:
            answers[FIELDS_MODULE] = script.fields[0].ext_datamodule_id if script.fields else ""
        elif field.widget == "checkbox":
            answers[field.name] = bool(script.body.get(field.name))
        else:
            value = script.body.get(field.name, "")
            answers[field.name] = "" if value is None else str(value)
    return answers


class Unparsed(Exception):
    """An answer the browser sent that is not the type its input asks (a priority of "x")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def body_of(kind: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The service's body of a kind from the form's answers (fields left out)."""
    body: dict[str, Any] = {}
    for field in INPUTS[kind]:
        if field.name in (FIELDS, FIELDS_MODULE):
            continue
        value = answers.get(field.name, "")
        if field.widget == "number":
            text = str(value).strip() or "0"
            try:
                body[field.name] = int(text)
            except ValueError:
                raise Unparsed(
                    field.name, f"{field.label}: give a whole number, not {text!r}"
                ) from None
        else:
            body[field.name] = value
    return body


def fields_of(kind: str, answers: Mapping[str, Any]) -> list[dict[str, str]]:
    """The rule's fields: one ``<table>/<column>`` a line, all of the module named."""
    if kind not in (ScriptKind.FIELD_RULE, ScriptKind.ANONYMIZATION_RULE):
        return []
    module = str(answers.get(FIELDS_MODULE, "")).strip()
    names = [line.strip() for line in str(answers.get(FIELDS, "")).splitlines() if line.strip()]
    return [{"ext_datamodule_id": module, "field_name": name} for name in names]


_FIELD_LIST = re.compile(r"^(?:script\.)?(?:fields|fields_to_add|fields_to_remove)\b")


def form_field_of(kind: str, path: str | None) -> str:
    """The input a service's error path points at ("" when it is about the form as a whole):
    ``extractor.config_json.format`` → ``config_json``, ``fields[2]`` → ``fields``."""
    if not path:
        return ""
    if _FIELD_LIST.match(path):
        return FIELDS_MODULE if path.endswith("ext_datamodule_id") else FIELDS
    for prefix in (f"{kind}.", "script."):
        if path.startswith(prefix):
            path = path[len(prefix) :]
            break
    name = re.split(r"[.\[]", path, maxsplit=1)[0]
    known = {field.name for field in INPUTS.get(kind, ())} | {"id", "task_id"}
    return name if name in known else ""


def inputs_with(
    kind: str, answers: Mapping[str, Any], errors: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The kind's inputs with their answers and errors, for the template to lay out."""
    return [
        {
            "name": field.name,
            "label": field.label,
            "widget": field.widget,
            "choices": field.choices,
            "hint": field.hint,
            "value": answers.get(field.name, ""),
            "error": errors.get(field.name, ""),
        }
        for field in INPUTS[kind]
    ]
