"""What a script's body means in the data module document, checked with the engine's own rules.

A script is one part of the document the engine runs (``docs/data-module.md``):

- an extractor is one ``privetl:collectionProtocol`` entry: ``config_json`` is the entry's
  ``source`` object, optionally with the entry's ``mapping``; ``table`` and ``priority``
  are the entry's;
- a field rule is the ``privetl:empty`` (FillEmpty, IgnoreEmpty, RemoveEmpty) or
  ``privetl:range`` (FillOutOfRange clamps, RemoveOutOfRange drops, IgnoreOutOfRange sets
  none) of each column its fields name;
- an anonymization rule is the ``privetl:anonymize`` of each named column, its
  ``parameters_json`` the object's keys other than ``op``; an Anatomization rule is the
  table's ``privetl:anatomize`` and a Suppression rule with ``k`` the table's
  ``privetl:privacy`` target, their fields being the quasi-identifiers;
- a transformer is one ``privetl:transformations`` entry, an uploader ``privetl:upload``.

Every check here is the engine's: the body goes through the engine's pydantic models
(``privetl.engine.metadata``), a rule on columns through ``privetl.engine.validate`` on the
contract with the rule applied, a transformation through the engine's SQL sandbox
(``privetl.engine.transform.check_transformation``). A problem is an ``InvalidArgument``
naming the path of the bad value in the request (``extractor.config_json.format``).

A connection's location and credentials never enter the document: every connection is
the ``${PRIVETL_CONNECTION_<ID>}`` reference the engine expands at run time — a SQL
source's or destination's ``connection``, the base URL an API source's ``url`` is appended
to, the base a FILE or S3 source's ``path`` and a directory destination resolve under
(``docs/tasks.md``).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlglot
from pydantic import TypeAdapter, ValidationError
from sqlglot import exp

from privetl.common.errors import InvalidArgument
from privetl.engine.errors import Problem, TransformationError
from privetl.engine.jsonld import read_document
from privetl.engine.metadata import (
    Anatomize,
    ColumnAnonymization,
    DestinationSpec,
    EmptyRule,
    PrivacyTargets,
    RangeRule,
    SourceScript,
    Transformation,
    UploadScript,
)
from privetl.engine.transform import DIALECT, check_transformation
from privetl.engine.validate import check_document
from privetl.scripts.models import ScriptKind

EXTRACTOR_KINDS = {"File": "file", "Sql": "sql", "Http": "http", "Executable": "exec"}
"""Contract ``ExtractorKind`` → the engine's source ``kind``."""
FIELD_TYPES = {
    "Integer": "integer",
    "String": "string",
    "Double": "double",
    "Boolean": "boolean",
    "Date": "date",
    "DateTime": "datetime",
}
"""Contract ``FieldType`` → the engine's column type."""
FIELD_RULE_TYPES = (
    "FillEmpty",
    "IgnoreEmpty",
    "RemoveEmpty",
    "FillOutOfRange",
    "IgnoreOutOfRange",
    "RemoveOutOfRange",
)
EMPTY_RULES = {"FillEmpty": "fill", "IgnoreEmpty": "pass", "RemoveEmpty": "drop"}
RANGE_RULES = {"FillOutOfRange": "clamp", "RemoveOutOfRange": "drop", "IgnoreOutOfRange": None}
ANONYMIZATION_OPS = {
    "Generalization": "generalize",
    "Suppression": "suppress",
    "Anatomization": "anatomize",
    "Permutation": "permute",
    "Perturbation": "perturb",
}
"""Contract ``AnonymizationRuleType`` → the operation (Anatomization is a table's)."""
TRANSFORMATION_TYPES = {"Merge": "merge", "Update": "update"}
RULE_TERMS = (
    "privetl:empty",
    "privetl:range",
    "privetl:anonymize",
)
TABLE_TERMS = ("privetl:privacy", "privetl:anatomize")
SCRIPT_TERMS = ("privetl:collectionProtocol", "privetl:transformations", "privetl:upload")
PLACEHOLDER_HOST = "placeholder.invalid"
FIELD_NAME = re.compile(r"^([^/]+)/([^/]+)$")


def connection_variable(connection_id: str) -> str:
    """The environment variable a run reads a connection's string from."""
    return "PRIVETL_CONNECTION_" + re.sub(r"[^A-Za-z0-9]", "_", connection_id).upper()


def connection_reference(connection_id: str) -> str:
    """``${PRIVETL_CONNECTION_<ID>}``: how the document names a connection's string."""
    return "${" + connection_variable(connection_id) + "}"


# --- the contract -----------------------------------------------------------------------


@dataclass(frozen=True)
class ContractTable:
    """One table of a contract: its record set's index and its columns' types and indexes."""

    index: int
    columns: dict[str, tuple[str, int]]
    """column → (engine column type, index of its field in the record set)."""


@dataclass(frozen=True)
class Contract:
    """A destination's data module document, read for its tables and typed columns."""

    document: dict[str, Any]
    tables: dict[str, ContractTable]

    def column_type(self, table: str, column: str) -> str | None:
        """The column's type, or None when the contract has no such column."""
        found = self.tables.get(table)
        entry = found.columns.get(column) if found else None
        return entry[0] if entry else None

    def known_columns(self, table: str) -> str:
        """The table's columns for a message ("none" when there is no such table)."""
        found = self.tables.get(table)
        return ", ".join(found.columns) if found and found.columns else "none"


def contract_of(document: Mapping[str, Any]) -> Contract:
    """The contract's tables (record sets in order, fields in order) read by the engine."""
    doc = copy.deepcopy(dict(document))
    reading = read_document(doc)
    tables: dict[str, ContractTable] = {}
    for i, table in enumerate(reading.data.get("tables") or []):
        name = table.get("name") if isinstance(table, dict) else None
        if not isinstance(name, str) or name in tables:
            continue
        columns: dict[str, tuple[str, int]] = {}
        for j, column in enumerate(table.get("columns") or []):
            if isinstance(column, dict) and isinstance(column.get("name"), str):
                columns.setdefault(column["name"], (str(column.get("type") or ""), j))
        tables[name] = ContractTable(index=i, columns=columns)
    return Contract(document=doc, tables=tables)


def bare_contract(document: Mapping[str, Any]) -> dict[str, Any]:
    """The contract without what scripts supply (rules, privacy, protocol, upload)."""
    doc = copy.deepcopy(dict(document))
    for term in SCRIPT_TERMS:
        doc.pop(term, None)
    for record_set in doc.get("recordSet") or []:
        if not isinstance(record_set, dict):
            continue
        for term in TABLE_TERMS:
            record_set.pop(term, None)
        for fld in record_set.get("field") or []:
            if isinstance(fld, dict):
                for term in RULE_TERMS:
                    fld.pop(term, None)
    return doc


# --- parsing and checking a body ----------------------------------------------------------


def _json(text: Any, *, field: str, want: type = dict) -> Any:
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument(f"{field} is required: a JSON {want.__name__}", field=field)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"{field} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            field=field,
        ) from None
    if not isinstance(value, want):
        raise InvalidArgument(
            f"{field} must be a JSON object, not {type(value).__name__}", field=field
        )
    return value


def _choice(value: Any, choices: Iterable[str], *, field: str) -> str:
    names = list(choices)
    if value not in names:
        raise InvalidArgument(f"{field}: {value!r} is not one of {', '.join(names)}", field=field)
    return str(value)


_TAGS = frozenset(
    {
        "file",
        "sql",
        "http",
        "exec",
        "generalize",
        "suppress",
        "permute",
        "perturb",
        "directory",
        "postgres",
    }
)
"""Union tags pydantic puts into an error's location; no key of the body."""


def _pydantic(model: Any, value: Any, *, field: str) -> Any:
    """``value`` validated as ``model`` (a class or a TypeAdapter); errors name their path."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(value)
        return model.model_validate(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"] if str(p) not in _TAGS]
        path = ".".join([field, *loc]) if loc else field
        message = str(err["msg"])
        if err["type"] == "union_tag_invalid":
            message = f"unknown kind; {message}"
        elif err["type"] == "extra_forbidden":
            message = "unknown key (not part of this object in docs/data-module.md)"
        elif err["type"] == "missing":
            message = "required key is missing"
        raise InvalidArgument(f"{path}: {message}", field=path) from None


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key, "")
    return value if isinstance(value, str) else ""


def clean_body(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a script of ``kind``, normalized and checked on its own (no contract yet).

    Raises ``InvalidArgument`` naming the path of the first bad value; returns the body as
    stored (the contract's field names; ``*_json`` texts kept as sent).
    """
    if kind == ScriptKind.EXTRACTOR:
        return _clean_extractor(body)
    if kind == ScriptKind.FIELD_RULE:
        return _clean_field_rule(body)
    if kind == ScriptKind.ANONYMIZATION_RULE:
        return _clean_anonymization(body)
    if kind == ScriptKind.TRANSFORMER:
        return _clean_transformer(body)
    if kind == ScriptKind.UPLOADER:
        return _clean_uploader(body)
    raise InvalidArgument(f"script: {kind!r} is not a kind of script", field="script")


def _int(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field} must be an integer", field=field)
    return value


def _clean_extractor(body: Mapping[str, Any]) -> dict[str, Any]:
    table = _text(body, "table")
    if not table:
        raise InvalidArgument(
            "extractor.table is required: the table the records belong to", field="extractor.table"
        )
    extractor_kind = _choice(body.get("kind", "File"), EXTRACTOR_KINDS, field="extractor.kind")
    priority = _int(body.get("priority", 0), field="extractor.priority")
    connection_id = _text(body, "connection_id")
    source_entry(
        {**body, "kind": extractor_kind, "priority": priority, "connection_id": connection_id},
        entry_id="check",
        connection_type="SQL"
        if extractor_kind == "Sql"
        else ("API" if extractor_kind == "Http" else "FILE"),
        validate=True,
    )
    return {
        "table": table,
        "kind": extractor_kind,
        "config_json": body.get("config_json"),
        "priority": priority,
        "connection_id": connection_id,
    }


def source_entry(
    body: Mapping[str, Any],
    *,
    entry_id: str,
    connection_type: str | None,
    validate: bool = False,
) -> dict[str, Any]:
    """The collection-protocol entry of an extractor (``connection_type`` of its connection).

    With a connection the source takes its location from it: a SQL source's ``connection``
    is the connection's variable, an HTTP source's ``url`` is appended to it, a file
    source's ``path`` is relative to the connection's directory or S3 prefix (the engine
    resolves it under the variable's value). A source that also names its
    own location is refused (two places to say one thing).
    """
    field = "extractor.config_json"
    config = _json(body.get("config_json"), field=field)
    mapping = config.pop("mapping", {})
    expected = EXTRACTOR_KINDS[str(body.get("kind") or "File")]
    given = config.setdefault("kind", expected)
    if given not in EXTRACTOR_KINDS.values():
        raise InvalidArgument(
            f"{field}.kind: unknown source kind {given!r}: use file, sql, http or exec",
            field=f"{field}.kind",
        )
    if given != expected:
        raise InvalidArgument(
            f"{field}.kind: {given!r} does not match the extractor's kind {body.get('kind')} "
            f"({expected!r}); make them agree",
            field=f"{field}.kind",
        )
    connection_id = str(body.get("connection_id") or "")
    if connection_id:
        variable = connection_reference(connection_id)
        if given == "sql":
            if "connection" in config:
                raise InvalidArgument(
                    f"{field}.connection: the extractor reads through connection {connection_id!r}; "
                    "leave out the source's own connection",
                    field=f"{field}.connection",
                )
            config["connection"] = variable
        elif given == "http":
            url = config.get("url", "")
            if not isinstance(url, str) or "://" in url:
                raise InvalidArgument(
                    f"{field}.url: with connection {connection_id!r} the url is a path below the "
                    'connection\'s base URL (e.g. "/customers?page=1"), not a full URL',
                    field=f"{field}.url",
                )
            config["url"] = variable + url
        elif given == "file":
            path = config.get("path")
            if (
                not isinstance(path, str)
                or path.startswith(("/", "s3://", "~"))
                or ".." in path.split("/")
            ):
                raise InvalidArgument(
                    f"{field}.path: with connection {connection_id!r} the path is relative to the "
                    "connection's directory or S3 prefix (no leading /, ~ or ..)",
                    field=f"{field}.path",
                )
            config["path"] = f"{variable}/{path}"
    entry: dict[str, Any] = {"id": entry_id, "table": str(body.get("table") or "")}
    if body.get("priority"):
        entry["priority"] = body["priority"]
    if mapping:
        entry["mapping"] = mapping
    entry["source"] = config
    if validate:
        checked = {**entry, "table": entry["table"] or "check", "id": "check"}
        try:
            SourceScript.model_validate(checked)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [str(p) for p in err["loc"]]
            if loc and loc[0] == "source":
                loc = loc[2:] if len(loc) > 1 and loc[1] in EXTRACTOR_KINDS.values() else loc[1:]
            elif loc and loc[0] == "mapping":
                pass
            path = ".".join([field, *loc])
            message = {
                "missing": "required key is missing",
                "extra_forbidden": "unknown key (see privetl:collectionProtocol in docs/data-module.md)",
            }.get(err["type"], str(err["msg"]))
            raise InvalidArgument(f"{path}: {message}", field=path) from None
    return entry


def _cast(value: str, field_type: str, *, field: str) -> Any:
    """A field rule's text value as the JSON value of its type (what the document holds)."""
    try:
        if field_type == "integer":
            return int(value)
        if field_type == "double":
            return float(value)
        if field_type == "boolean":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if field_type == "date":
            return dt.date.fromisoformat(value).isoformat()
        if field_type == "datetime":
            return dt.datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidArgument(
            f"{field}: {value!r} is not a value of type {field_type}", field=field
        ) from None
    return value


def _clean_field_rule(body: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {
        "default_value": _text(body, "default_value"),
        "min_value": _text(body, "min_value"),
        "max_value": _text(body, "max_value"),
        "field_type": _choice(
            body.get("field_type", "Integer"), FIELD_TYPES, field="field_rule.field_type"
        ),
        "type": _choice(body.get("type", "FillEmpty"), FIELD_RULE_TYPES, field="field_rule.type"),
    }
    field_rule_terms(cleaned)
    return cleaned


def field_rule_terms(body: Mapping[str, Any]) -> dict[str, Any]:
    """The column terms a field rule sets (none for IgnoreOutOfRange), checked by the engine."""
    field_type = FIELD_TYPES[str(body["field_type"])]
    rule_type = str(body["type"])
    if rule_type in EMPTY_RULES:
        empty: dict[str, Any] = {"strategy": EMPTY_RULES[rule_type]}
        if rule_type == "FillEmpty":
            if not body.get("default_value"):
                raise InvalidArgument(
                    "field_rule.default_value is required for FillEmpty: the value put into empty fields",
                    field="field_rule.default_value",
                )
            empty["value"] = _cast(
                str(body["default_value"]), field_type, field="field_rule.default_value"
            )
        _pydantic(EmptyRule, empty, field="field_rule")
        return {"privetl:empty": empty}
    on_violation = RANGE_RULES[rule_type]
    if field_type not in ("integer", "double", "date", "datetime"):
        raise InvalidArgument(
            f"field_rule.type: a range ({rule_type}) applies to numeric and date columns only, "
            f"not to {body['field_type']}; use an empty-value rule or another field_type",
            field="field_rule.type",
        )
    if on_violation is None:
        return {}
    rule: dict[str, Any] = {}
    for key, bound in (("min_value", "min"), ("max_value", "max")):
        if body.get(key):
            rule[bound] = _cast(str(body[key]), field_type, field=f"field_rule.{key}")
    rule["on_violation"] = on_violation
    if "min" not in rule and "max" not in rule:
        raise InvalidArgument(
            f"field_rule: {rule_type} needs min_value, max_value or both",
            field="field_rule.min_value",
        )
    typed = dict(rule)
    if field_type in ("date", "datetime"):
        parse = dt.datetime.fromisoformat if field_type == "datetime" else dt.date.fromisoformat
        typed.update({b: parse(typed[b]) for b in ("min", "max") if b in typed})
    _pydantic(RangeRule, typed, field="field_rule")
    return {"privetl:range": rule}


_COLUMN_OPS: TypeAdapter[Any] = TypeAdapter(ColumnAnonymization)


def _clean_anonymization(body: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {
        "type": _choice(
            body.get("type", "Generalization"), ANONYMIZATION_OPS, field="anonymization_rule.type"
        ),
        "parameters_json": body.get("parameters_json") or "{}",
    }
    anonymization_value(cleaned, fields=["check/check"])
    return cleaned


def is_privacy_target(body: Mapping[str, Any]) -> bool:
    """A Suppression rule whose parameters hold ``k``: the table's privacy target."""
    if body.get("type") != "Suppression":
        return False
    params = _json(body.get("parameters_json") or "{}", field="anonymization_rule.parameters_json")
    return "k" in params


def is_table_rule(body: Mapping[str, Any]) -> bool:
    """Anatomization and privacy targets belong to a table, the other operations to columns."""
    return body.get("type") == "Anatomization" or is_privacy_target(body)


def anonymization_value(
    body: Mapping[str, Any], *, fields: list[str]
) -> tuple[str, dict[str, Any]]:
    """(term, value) of an anonymization rule: ``privetl:anonymize`` of each column, or the
    table's ``privetl:anatomize`` / ``privetl:privacy`` with ``fields`` its quasi-identifiers."""
    field = "anonymization_rule.parameters_json"
    params = _json(body.get("parameters_json") or "{}", field=field)
    if "op" in params:
        raise InvalidArgument(
            f"{field}.op: the rule's type gives the operation; leave out op", field=f"{field}.op"
        )
    columns = [name.split("/", 1)[-1] for name in fields]
    if body["type"] == "Anatomization":
        value = {"quasi_identifiers": columns, **params}
        _pydantic(Anatomize, value, field=field)
        return "privetl:anatomize", value
    if is_privacy_target(body):
        value = {"quasi_identifiers": columns, **params}
        _pydantic(PrivacyTargets, value, field=field)
        return "privetl:privacy", value
    value = {"op": ANONYMIZATION_OPS[str(body["type"])], **params}
    _pydantic(_COLUMN_OPS, value, field=field)
    return "privetl:anonymize", value


def _clean_transformer(body: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {
        "transformation_script": body.get("transformation_script"),
        "type": _choice(body.get("type", "Merge"), TRANSFORMATION_TYPES, field="transformer.type"),
        "target_table": _text(body, "target_table"),
    }
    sql = cleaned["transformation_script"]
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidArgument(
            "transformer.transformation_script is required: one SQL SELECT over the staged tables",
            field="transformer.transformation_script",
        )
    if not cleaned["target_table"]:
        raise InvalidArgument(
            "transformer.target_table is required: the table the result creates or replaces",
            field="transformer.target_table",
        )
    entry = transformation_entry(cleaned, name="check")
    _pydantic(Transformation, entry, field="transformer")
    transformation_problem(entry, tables=_tables_named(sql))
    return cleaned


def _tables_named(sql: str) -> set[str]:
    """The plain table names a query reads (so the sandbox checks everything but their existence)."""
    try:
        return {
            t.name for s in sqlglot.parse(sql, read=DIALECT) if s for t in s.find_all(exp.Table)
        }
    except sqlglot.errors.ParseError:
        return set()


def transformation_entry(body: Mapping[str, Any], *, name: str) -> dict[str, Any]:
    """The ``privetl:transformations`` entry of a transformer."""
    return {
        "name": name,
        "type": TRANSFORMATION_TYPES[str(body["type"])],
        "target": str(body["target_table"]),
        "sql": str(body["transformation_script"]),
    }


def transformation_problem(entry: Mapping[str, Any], *, tables: set[str]) -> None:
    """InvalidArgument when the engine's sandbox refuses the query over ``tables``."""
    try:
        check_transformation(Transformation.model_validate(dict(entry)), tables)
    except TransformationError as exc:
        raise InvalidArgument(
            f"transformer.transformation_script: {exc}", field="transformer.transformation_script"
        ) from None


def _clean_uploader(body: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {
        "destination_json": body.get("destination_json") or "",
        "rewrite_protocol": bool(body.get("rewrite_protocol", False)),
        "connection_id": _text(body, "connection_id"),
    }
    if not cleaned["connection_id"] or cleaned["destination_json"]:
        upload_entry(cleaned, connection_type="FILE")
    return cleaned


_DESTINATION: TypeAdapter[Any] = TypeAdapter(DestinationSpec)


def upload_entry(body: Mapping[str, Any], *, connection_type: str | None) -> dict[str, Any]:
    """The ``privetl:upload`` of an uploader; with a connection it supplies the location."""
    field = "uploader.destination_json"
    connection_id = str(body.get("connection_id") or "")
    destination = (
        _json(body.get("destination_json"), field=field)
        if body.get("destination_json") or not connection_id
        else {}
    )
    if connection_id:
        if connection_type == "SQL":
            destination.setdefault("kind", "postgres")
            if "connection" in destination:
                raise InvalidArgument(
                    f"{field}.connection: the uploader writes through connection {connection_id!r}; "
                    "leave out the destination's own connection",
                    field=f"{field}.connection",
                )
            destination["connection"] = connection_reference(connection_id)
        else:
            destination.setdefault("kind", "directory")
            if "path" in destination:
                raise InvalidArgument(
                    f"{field}.path: the uploader writes into connection {connection_id!r}; "
                    "leave out the destination's own path",
                    field=f"{field}.path",
                )
            destination["path"] = connection_reference(connection_id)
    _pydantic(_DESTINATION, destination, field=field)
    upload = {"destination": destination, "rewrite_protocol": bool(body.get("rewrite_protocol"))}
    _pydantic(UploadScript, upload, field="uploader")
    return upload


# --- rules on columns, against a contract ------------------------------------------------------


def parse_field_name(name: str, *, field: str) -> tuple[str, str]:
    """``"<table>/<column>"`` → (table, column); anything else is InvalidArgument."""
    match = FIELD_NAME.match(name or "")
    if not match:
        raise InvalidArgument(
            f'{field}: {name!r} is not a field name; write "<table>/<column>" (the Croissant field @id)',
            field=field,
        )
    return match.group(1), match.group(2)


def rule_targets(
    kind: str, body: Mapping[str, Any], fields: list[str], contract: Contract
) -> tuple[list[tuple[str, str, dict[str, Any], str]], list[Problem]]:
    """Where a rule goes in the contract's document: (document path, term, value, the
    request's path of the field it comes from) per target.

    Problems name what is wrong with the fields themselves (a column the contract lacks, a
    table rule over two tables, a field type that is not the column's).
    """
    problems: list[Problem] = []
    targets: list[tuple[str, str, dict[str, Any], str]] = []
    located: list[tuple[int, str, str, ContractTable]] = []
    for n, name in enumerate(fields):
        table, column = parse_field_name(name, field=f"fields[{n}]")
        found = contract.tables.get(table)
        if found is None or column not in found.columns:
            problems.append(
                Problem(
                    f"fields[{n}]",
                    f"{name}: the contract has no column {column!r} in table {table!r} "
                    f"(its columns: {contract.known_columns(table)}); name a column of the contract",
                )
            )
            continue
        located.append((n, table, column, found))
    if not located:
        return targets, problems
    if kind == ScriptKind.FIELD_RULE:
        terms = field_rule_terms(body)
        wanted = FIELD_TYPES[str(body["field_type"])]
        for n, table, column, found in located:
            column_type, j = found.columns[column]
            if column_type != wanted:
                problems.append(
                    Problem(
                        f"fields[{n}]",
                        f"{table}/{column} is a {column_type} column, the rule's field_type is "
                        f"{body['field_type']}; make them agree",
                    )
                )
                continue
            for term, value in terms.items():
                targets.append(
                    (f"$.recordSet[{found.index}].field[{j}].{term}", term, value, f"fields[{n}]")
                )
        return targets, problems
    if is_table_rule(body):
        tables = {table for _, table, _, _ in located}
        if len(tables) > 1:
            problems.append(
                Problem(
                    "fields",
                    f"a table rule names columns of one table; these are of {', '.join(sorted(tables))}",
                )
            )
            return targets, problems
        term, value = anonymization_value(body, fields=[f"{t}/{c}" for _, t, c, _ in located])
        targets.append((f"$.recordSet[{located[0][3].index}].{term}", term, value, "fields"))
        return targets, problems
    term, value = anonymization_value(body, fields=fields)
    for n, _, column, found in located:
        path = f"$.recordSet[{found.index}].field[{found.columns[column][1]}].{term}"
        targets.append((path, term, value, f"fields[{n}]"))
    return targets, problems


def apply_target(document: dict[str, Any], path: str, term: str, value: Any) -> None:
    """Set ``term`` at a target path made by ``rule_targets`` (a field or a record set)."""
    match = re.match(r"^\$\.recordSet\[(\d+)\](?:\.field\[(\d+)\])?\.", path)
    if match is None:  # pragma: no cover - paths come from rule_targets
        raise ValueError(path)
    node = document["recordSet"][int(match.group(1))]
    if match.group(2) is not None:
        node = node["field"][int(match.group(2))]
    node[term] = copy.deepcopy(value)


def rule_problems(
    kind: str, body: Mapping[str, Any], fields: list[str], contract: Contract
) -> list[Problem]:
    """Everything the engine finds wrong with a rule applied to the contract, at its targets."""
    targets, problems = rule_targets(kind, body, fields, contract)
    if not targets:
        return problems
    document = bare_contract(contract.document)
    for path, term, value, _ in targets:
        apply_target(document, path, term, value)
    for problem in check_document(document).problems:
        for path, _, _, where in targets:
            if problem.path == path or problem.path.startswith((path + ".", path + "[")):
                problems.append(Problem(where, f"{problem.message} ({problem.path})"))
                break
    return problems
