"""The data module document: JSON-LD in the Croissant vocabulary, and its ``DataModule``.

Why Croissant: a published version must be usable by an ML user with nothing of ours
installed (``mlcroissant`` loads it), so the document speaks Croissant 1.0 wherever
Croissant has a term, and a ``privetl:`` namespace (``https://privetl.dev/ns#``) for what it
lacks. The full description, with an example, is ``docs/data-module.md``; in short::

    {
      "@context": {... Croissant 1.0 context ..., "prov": ..., "privetl": "https://privetl.dev/ns#"},
      "@type": "sc:Dataset",
      "conformsTo": "http://mlcommons.org/croissant/1.0",
      "identifier": "customers",            # DataModule.id
      "name": "Customers", "description": "...",
      "version": "1.0.0",                   # DataModule.version N <-> "N.0.0"
      "license": "https://creativecommons.org/licenses/by/4.0/",
      "privetl:seed": 0,
      "recordSet": [                        # one cr:RecordSet per table
        {"@type": "cr:RecordSet", "@id": "customers", "name": "customers",
         "key": {"@id": "customers/id"},    # primary key column
         "privetl:primaryKeyConflict": "source_priority",
         "privetl:merge": "union", "privetl:privacy": {...}, "privetl:anatomize": {...},
         "field": [
           {"@type": "cr:Field", "@id": "customers/id", "name": "id", "dataType": "sc:Integer",
            "privetl:empty": {"strategy": "drop"},
            "privetl:range": {"min": 1, "on_violation": "drop"},
            "privetl:anonymize": {"op": "perturb", ...},
            "references": {"field": {"@id": "other/col"}}}   # foreign key
         ]}
      ],
      "privetl:collectionProtocol": [{"id": "crm", "table": "customers", "source": {...}}],
      "privetl:transformations": [...], "privetl:upload": {...}
    }

Field ids are ``<table>/<column>``: a column belongs to its table, so two tables may have
columns of the same name. The values of ``privetl:`` terms are plain JSON whose keys are the
field names of ``privetl.engine.metadata`` (snake_case), declared ``"@type": "@json"`` in
the context so JSON-LD processors (and mlcroissant) keep them as opaque literals: order,
nesting and free-form keys (a hierarchy's values, a mapping) survive RDF processing.

A published version's document (``privetl.engine.croissant``) is a data module too; the
reader also understands the few terms only it uses: ``privetl:columnType`` (the declared
type where ``dataType`` describes anonymized values), ``privetl:references`` (a foreign key to
a table without files), ``privetl:unpublishedRecordSets`` and ``privetl:anatomizedFrom``.

Reading happens in two steps so that every mistake is reported with its JSON path at once:
``read_document`` turns the document into the plain dict ``DataModule`` validates, recording
for each model location the path of the document it came from, and reports structural
mistakes (unknown keys, wrong shapes); pydantic's errors are then translated through that
map. Cross-reference checks, and loading a module's document file, live in
``privetl.engine.validate``, which builds on this module (never the other way round).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from privetl.engine.errors import MetadataError, Problem
from privetl.engine.metadata import ColumnType, DataModule, ForeignKey

PRIVETL_NS = "https://privetl.dev/ns#"
PROV_NS = "http://www.w3.org/ns/prov#"
CROISSANT_1_0 = "http://mlcommons.org/croissant/1.0"
SCHEMA_ORG = "https://schema.org/"
CROISSANT_NS = "http://mlcommons.org/croissant/"

PRIVETL_TERMS = (
    "privetl:seed",
    "privetl:collectionProtocol",
    "privetl:transformations",
    "privetl:upload",
    "privetl:columnType",
    "privetl:empty",
    "privetl:range",
    "privetl:anonymize",
    "privetl:primaryKeyConflict",
    "privetl:merge",
    "privetl:privacy",
    "privetl:anatomize",
    "privetl:rows",
    "privetl:unpublishedRecordSets",
    "privetl:anatomizedFrom",
    "privetl:references",
    "privetl:foreignKey",
    "privetl:deltaVersions",
    "privetl:postgresTables",
    "privetl:reproducible",
    "privetl:engine",
    "privetl:seedUsed",
    "privetl:notes",
    "privetl:public",
)
"""Every privetl: term; all are JSON literals (see the module docstring)."""

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": SCHEMA_ORG,
    "sc": SCHEMA_ORG,
    "cr": CROISSANT_NS,
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "prov": PROV_NS,
    "privetl": PRIVETL_NS,
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    **{term: {"@id": term, "@type": "@json"} for term in PRIVETL_TERMS},
}
"""The Croissant 1.0 context (as mlcroissant writes it) plus PROV-O and privetl."""

DATA_TYPES: dict[ColumnType, str] = {
    ColumnType.INTEGER: "sc:Integer",
    ColumnType.DOUBLE: "sc:Float",
    ColumnType.STRING: "sc:Text",
    ColumnType.BOOLEAN: "sc:Boolean",
    ColumnType.DATE: "sc:Date",
    ColumnType.DATETIME: "sc:DateTime",
}
"""Column type -> Croissant dataType (schema.org data types, as Croissant uses them)."""

_TYPE_OF_DATA_TYPE: dict[str, ColumnType] = {}
for _column_type, _data_type in DATA_TYPES.items():
    _TYPE_OF_DATA_TYPE[_data_type] = _column_type
    _TYPE_OF_DATA_TYPE[SCHEMA_ORG + _data_type.removeprefix("sc:")] = _column_type

_VERSION = re.compile(r"^([1-9][0-9]*)\.0\.0$")

DATASET_KEYS = frozenset({
    "@context", "@type", "@id", "conformsTo", "identifier", "name", "description", "version",
    "license", "url", "datePublished", "dateCreated", "dateModified", "creator", "publisher",
    "citeAs", "citation", "keywords", "inLanguage", "sameAs", "sdLicense", "sdVersion",
    "isLiveDataset", "alternateName", "funder", "distribution", "recordSet",
    "privetl:seed", "privetl:collectionProtocol", "privetl:transformations", "privetl:upload",
    "privetl:unpublishedRecordSets", "privetl:deltaVersions", "privetl:postgresTables",
    "prov:wasDerivedFrom", "prov:wasGeneratedBy",
})
RECORD_SET_KEYS = frozenset({
    "@type", "@id", "name", "description", "key", "field", "data", "examples",
    "privetl:primaryKeyConflict", "privetl:merge", "privetl:privacy", "privetl:anatomize",
    "privetl:anatomizedFrom",
})
FIELD_KEYS = frozenset({
    "@type", "@id", "name", "description", "dataType", "source", "references", "examples",
    "equivalentProperty", "isArray", "arrayShape", "repeated",
    "privetl:columnType", "privetl:empty", "privetl:range", "privetl:anonymize", "privetl:references",
    "privetl:public",
})
FOREIGN_KEY_TERM = "privetl:foreignKey"
FOREIGN_KEY_OPTIONS = frozenset(ForeignKey.model_fields) - {"column", "references_table", "references_column"}
"""Keys of a reference's ``privetl:foreignKey``: the options of that foreign key
(``allow_empty``), beside its ``field``."""
UNPUBLISHED = "privetl:unpublishedRecordSets"
"""Published versions: the record sets of tables without files (mlcroissant requires a
source for every field of a ``recordSet``), still part of the module."""
OPEN_PREFIXES = ("sc:", "cr:", "dct:", "rai:", "prov:")
"""Other vocabularies' terms are allowed anywhere (they are metadata for people and tools)."""


# --- JSON paths -------------------------------------------------------------------------------

_SIMPLE_KEY = re.compile(r"^[A-Za-z_@][A-Za-z0-9_:@-]*$")

Loc = tuple[str | int, ...]


def json_path(parts: Iterable[str | int], root: str = "$") -> str:
    """A JSON path such as ``$.recordSet[1].field[2].privetl:range`` for the given parts."""
    path = root
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _SIMPLE_KEY.match(part):
            path += f".{part}"
        else:
            path += "[" + json.dumps(part) + "]"
    return path


@dataclass
class Reading:
    """A document read into ``DataModule`` input, with the document path of every location.

    ``data`` is what ``DataModule.model_validate`` takes; ``paths`` maps a model location
    (pydantic's ``loc``) to the document path it came from, and ``nodes`` to the document
    value there (for locations below it the model mirrors the document key by key).
    """

    data: dict[str, Any]
    paths: dict[Loc, str] = field(default_factory=dict)
    nodes: dict[Loc, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def path(self, loc: Iterable[str | int]) -> str:
        """The document path of model location ``loc`` (longest mapped prefix + the rest).

        A discriminated union puts its tag (``generalize``, ``file``) into pydantic's loc;
        it is no key of the document, so it is skipped when walking below the prefix.
        """
        loc = tuple(loc)
        for cut in range(len(loc), -1, -1):
            prefix = loc[:cut]
            if prefix in self.paths:
                path, node = self.paths[prefix], self.nodes.get(prefix)
                for part in loc[cut:]:
                    if isinstance(node, dict) and isinstance(part, str) and part not in node and part in (
                        node.get("op"), node.get("kind")
                    ):
                        continue
                    path = json_path([part], path)
                    node = node.get(part) if isinstance(node, dict) else (
                        node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None
                    )
                return path
        return json_path(loc)

    def add(self, loc: Loc, path: str, node: Any = None) -> None:
        """Record that model location ``loc`` comes from ``path`` (holding ``node``)."""
        self.paths[loc] = path
        self.nodes[loc] = node

    def problem(self, path: str, message: str) -> None:
        """Report a mistake at ``path``."""
        self.problems.append(Problem(path, message))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _is_type(value: Any, expected: str) -> bool:
    return isinstance(value, str) and value in (expected, expected.replace("cr:", CROISSANT_NS).replace("sc:", SCHEMA_ORG))


def _reference(value: Any) -> str | None:
    """The @id of a Croissant reference ``{"@id": ...}`` (or a one-element list of it)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) and set(value) == {"@id"}:
        identifier = value["@id"]
        if isinstance(identifier, str):
            return identifier
    return None


def _check_keys(reading: Reading, node: dict[str, Any], path: str, allowed: frozenset[str], what: str) -> None:
    for key in node:
        if key in allowed or (key.startswith(OPEN_PREFIXES) and not key.startswith("privetl:")):
            continue
        hint = "; privetl terms are " + ", ".join(sorted(k for k in allowed if k.startswith("privetl:"))) if key.startswith(
            "privetl:"
        ) else ""
        reading.problem(json_path([key], path), f"unknown key {key!r} in {what}{hint}")


# --- reading ------------------------------------------------------------------------------------


def read_document(doc: Any) -> Reading:
    """Read a document into ``DataModule`` input; report structural mistakes with their paths.

    Never raises: every mistake becomes a ``Problem``; what could be read is in ``data``.
    """
    reading = Reading(data={})
    reading.add((), "$", doc)
    if not isinstance(doc, dict):
        reading.problem("$", f"a data module document is a JSON object, not {_kind(doc)}")
        return reading
    data = reading.data
    _check_keys(reading, doc, "$", DATASET_KEYS, "the dataset")
    if not isinstance(doc.get("@context"), dict):
        reading.problem("$.@context", 'the JSON-LD "@context" object is missing (copy it from docs/data-module.md)')
    if not _is_type(doc.get("@type"), "sc:Dataset"):
        reading.problem("$.@type", f'"@type" must be "sc:Dataset", not {json.dumps(doc.get("@type"))}')

    for key, target in (("identifier", "id"), ("name", "name"), ("description", "description"), ("license", "license")):
        if key in doc:
            data[target] = doc[key]
        reading.add((target,), json_path([key]), doc.get(key))
    if "version" in doc:
        version = doc["version"]
        match = _VERSION.match(version) if isinstance(version, str) else None
        if match:
            data["version"] = int(match.group(1))
        elif isinstance(version, int) and not isinstance(version, bool):
            data["version"] = version
        else:
            reading.problem("$.version", f'"version" must be "N.0.0" (N = 1, 2, ...), not {json.dumps(version)}')
    reading.add(("version",), "$.version", doc.get("version"))
    for key, target in (
        ("privetl:seed", "seed"),
        ("privetl:collectionProtocol", "collection_protocol"),
        ("privetl:transformations", "transformations"),
        ("privetl:upload", "upload"),
    ):
        if key in doc:
            data[target] = copy.deepcopy(doc[key])
        reading.add((target,), json_path([key]), doc.get(key))

    record_sets = doc.get("recordSet")
    reading.add(("tables",), "$.recordSet", record_sets)
    if record_sets is None:
        return reading  # pydantic reports the missing tables
    located: list[tuple[str, Any]] = []
    for key in ("recordSet", UNPUBLISHED):
        value = doc.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            reading.problem(json_path([key]), f'"{key}" must be a list of cr:RecordSet objects, not {_kind(value)}')
            continue
        located.extend((json_path([key]) + f"[{i}]", node) for i, node in enumerate(value))
    index = _field_index(reading, located)
    # A published version's anatomized pairs describe data, not tables of the module.
    tables = [(path, node) for path, node in located if not (isinstance(node, dict) and "privetl:anatomizedFrom" in node)]
    data["tables"] = [_read_record_set(reading, node, i, path, index) for i, (path, node) in enumerate(tables)]
    return reading


def _field_index(reading: Reading, record_sets: list[tuple[str, Any]]) -> dict[str, tuple[str, str]]:
    """Field @id -> (table, column) over all record sets; reports duplicate @ids."""
    index: dict[str, tuple[str, str]] = {}
    seen: dict[str, str] = {}
    for set_path, record_set in record_sets:
        if not isinstance(record_set, dict) or not isinstance(record_set.get("name"), str):
            continue
        table = record_set["name"]
        set_id = record_set.get("@id", table)
        if isinstance(set_id, str):
            if set_id in seen:
                reading.problem(f"{set_path}.@id", f"@id {set_id!r} is already used at {seen[set_id]}")
            seen.setdefault(set_id, set_path)
        fields = record_set.get("field")
        if not isinstance(fields, list):
            continue
        for j, fld in enumerate(fields):
            if not isinstance(fld, dict) or not isinstance(fld.get("name"), str):
                continue
            field_id = fld.get("@id", f"{table}/{fld['name']}")
            if not isinstance(field_id, str):
                continue
            if field_id in seen:
                reading.problem(f"{set_path}.field[{j}].@id", f"@id {field_id!r} is already used at {seen[field_id]}")
                continue
            seen[field_id] = f"{set_path}.field[{j}]"
            index[field_id] = (table, fld["name"])
    return index


def _resolve(reading: Reading, ref: Any, path: str, index: Mapping[str, tuple[str, str]], what: str) -> tuple[str, str] | None:
    """(table, column) of a field reference; unknown ids of the form table/column pass on."""
    field_id = _reference(ref)
    if field_id is None:
        reading.problem(path, f'{what} must be a field reference {{"@id": "<table>/<column>"}}, not {json.dumps(ref)}')
        return None
    if field_id in index:
        return index[field_id]
    table, sep, column = field_id.rpartition("/")
    if not sep or not table or not column:
        reading.problem(json_path(["@id"], path), f"{what} {field_id!r} names no field; write it as '<table>/<column>'")
        return None
    return table, column  # validate reports the unknown table or column


def _read_record_set(reading: Reading, node: Any, i: int, path: str, index: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    loc: Loc = ("tables", i)
    reading.add(loc, path, node)
    table: dict[str, Any] = {}
    if not isinstance(node, dict):
        reading.problem(path, f"a record set is an object, not {_kind(node)}")
        return table
    _check_keys(reading, node, path, RECORD_SET_KEYS, "a record set")
    if not _is_type(node.get("@type"), "cr:RecordSet"):
        reading.problem(f"{path}.@type", f'"@type" must be "cr:RecordSet", not {json.dumps(node.get("@type"))}')
    for key in ("name", "description"):
        if key in node:
            table[key] = node[key]
        reading.add((*loc, key), f"{path}.{key}", node.get(key))
    for key, target in (("privetl:merge", "merge"), ("privetl:privacy", "privacy"), ("privetl:anatomize", "anatomize")):
        if key in node:
            table[target] = copy.deepcopy(node[key])
        reading.add((*loc, target), json_path([key], path), node.get(key))

    fields = node.get("field")
    reading.add((*loc, "columns"), f"{path}.field", fields)
    foreign_keys: list[dict[str, Any]] = []
    if isinstance(fields, list):
        table["columns"] = [
            _read_field(reading, fld, (*loc, "columns", j), f"{path}.field[{j}]", index, foreign_keys, loc)
            for j, fld in enumerate(fields)
        ]
    elif fields is not None:
        reading.problem(f"{path}.field", f'"field" must be a list of cr:Field objects, not {_kind(fields)}')
    if foreign_keys:
        table["foreign_keys"] = foreign_keys

    conflict_path = json_path(["privetl:primaryKeyConflict"], path)
    reading.add((*loc, "primary_key"), f"{path}.key", node.get("key"))
    reading.add((*loc, "primary_key", "column"), f"{path}.key", node.get("key"))
    reading.add((*loc, "primary_key", "on_conflict"), conflict_path, node.get("privetl:primaryKeyConflict"))
    if "key" in node:
        resolved = _resolve(reading, node["key"], f"{path}.key", index, "the key")
        if resolved is not None:
            key_table, column = resolved
            if key_table != node.get("name"):
                reading.problem(
                    f"{path}.key", f"the key {_reference(node['key'])!r} is not a field of this record set"
                    f" ({node.get('name')!r}); a key names one of its own fields"
                )
            primary: dict[str, Any] = {"column": column}
            if "privetl:primaryKeyConflict" in node:
                primary["on_conflict"] = node["privetl:primaryKeyConflict"]
            table["primary_key"] = primary
    elif "privetl:primaryKeyConflict" in node:
        reading.problem(conflict_path, 'a key-conflict strategy needs a "key" on the record set')
    return table


def _read_field(
    reading: Reading,
    node: Any,
    loc: Loc,
    path: str,
    index: Mapping[str, tuple[str, str]],
    foreign_keys: list[dict[str, Any]],
    table_loc: Loc,
) -> dict[str, Any]:
    reading.add(loc, path, node)
    column: dict[str, Any] = {}
    if not isinstance(node, dict):
        reading.problem(path, f"a field is an object, not {_kind(node)}")
        return column
    _check_keys(reading, node, path, FIELD_KEYS, "a field")
    if not _is_type(node.get("@type"), "cr:Field"):
        reading.problem(f"{path}.@type", f'"@type" must be "cr:Field", not {json.dumps(node.get("@type"))}')
    for key in ("name", "description"):
        if key in node:
            column[key] = node[key]
        reading.add((*loc, key), f"{path}.{key}", node.get(key))
    reading.add((*loc, "type"), f"{path}.dataType", node.get("dataType"))
    data_type = node.get("dataType")
    if isinstance(data_type, list) and len(data_type) == 1:
        data_type = data_type[0]
    column_type = _TYPE_OF_DATA_TYPE.get(data_type) if isinstance(data_type, str) else None
    declared = node.get("privetl:columnType")
    if declared is not None:
        # A published version: dataType describes the published (anonymized) values,
        # privetl:columnType the module's declared column type.
        reading.add((*loc, "type"), json_path(["privetl:columnType"], path), declared)
        column["type"] = declared
        column_type = ColumnType(declared) if isinstance(declared, str) and declared in set(ColumnType) else None
    elif column_type is not None:
        column["type"] = column_type.value
    elif "dataType" in node:
        reading.problem(
            f"{path}.dataType",
            f"unsupported dataType {json.dumps(node['dataType'])}; use one of " + ", ".join(DATA_TYPES.values()),
        )
    for key, target in (
        ("privetl:empty", "empty"), ("privetl:range", "range"), ("privetl:anonymize", "anonymize"), ("privetl:public", "public"),
    ):
        if key in node:
            column[target] = copy.deepcopy(node[key])
        reading.add((*loc, target), json_path([key], path), node.get(key))
    if isinstance(column.get("range"), dict) and column_type is not None and column_type.is_temporal:
        _parse_temporal_bounds(column["range"], column_type)

    # privetl:references: a published version's foreign key to a table it does not publish
    # as a record set (mlcroissant rejects references to unknown nodes).
    for ref_key in ("references", "privetl:references"):
        if ref_key not in node:
            continue
        references = node[ref_key]
        refs = references if isinstance(references, list) and len(references) > 1 else [references]
        for r, ref in enumerate(refs):
            ref_path = json_path([ref_key], path) + (f"[{r}]" if len(refs) > 1 else "")
            referenced = ref.get("field") if isinstance(ref, dict) and set(ref) <= {"field", FOREIGN_KEY_TERM} else None
            if referenced is None:
                reading.problem(ref_path, 'a foreign key is "references": {"field": {"@id": "<table>/<column>"}}')
                continue
            options = _foreign_key_options(reading, ref.get(FOREIGN_KEY_TERM), json_path([FOREIGN_KEY_TERM], ref_path))
            resolved = _resolve(reading, referenced, f"{ref_path}.field", index, "the referenced field")
            if resolved is None or not isinstance(node.get("name"), str):
                continue
            fk_loc = (*table_loc, "foreign_keys", len(foreign_keys))
            reading.add(fk_loc, ref_path, ref)
            reading.add((*fk_loc, "column"), f"{path}.name", node.get("name"))
            reading.add((*fk_loc, "references_table"), f"{ref_path}.field.@id", referenced)
            reading.add((*fk_loc, "references_column"), f"{ref_path}.field.@id", referenced)
            for key, value in options.items():
                reading.add((*fk_loc, key), json_path([FOREIGN_KEY_TERM, key], ref_path), value)
            foreign_keys.append(
                {"column": node["name"], "references_table": resolved[0], "references_column": resolved[1], **options}
            )
    return column


def _foreign_key_options(reading: Reading, options: Any, path: str) -> dict[str, Any]:
    """The options of one foreign key (a reference's ``privetl:foreignKey``), checked."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        reading.problem(path, f'"{FOREIGN_KEY_TERM}" is an object such as {{"allow_empty": false}}, not {_kind(options)}')
        return {}
    known = ", ".join(sorted(FOREIGN_KEY_OPTIONS))
    for key in options:
        if key not in FOREIGN_KEY_OPTIONS:
            reading.problem(json_path([key], path), f"unknown key {key!r} in {FOREIGN_KEY_TERM} (options: {known})")
    return {k: copy.deepcopy(v) for k, v in options.items() if k in FOREIGN_KEY_OPTIONS}


def _parse_temporal_bounds(rule: dict[str, Any], column_type: ColumnType) -> None:
    """Give pydantic date/datetime objects for a temporal column's ISO bounds.

    The model's bound type is a union; from a string, pydantic reads a midnight datetime
    as a date. The column type says which one is meant, so the round trip stays exact.
    """
    parse = dt.datetime.fromisoformat if column_type is ColumnType.DATETIME else dt.date.fromisoformat
    for bound in ("min", "max"):
        value = rule.get(bound)
        if isinstance(value, str):
            try:
                rule[bound] = parse(value)
            except ValueError:
                pass  # validate reports the bound


# --- pydantic errors ----------------------------------------------------------------------------


def build_module(reading: Reading, data: dict[str, Any] | None = None) -> tuple[DataModule | None, list[Problem]]:
    """Validate ``reading.data`` (or ``data``) as a DataModule: the module, or None and its
    errors as document problems. One pydantic pass gives both, so no caller validates twice."""
    try:
        return DataModule.model_validate(reading.data if data is None else data), []
    except ValidationError as exc:
        return None, [Problem(reading.path(err["loc"]), _message(err)) for err in exc.errors()]
    except TypeError as exc:  # a model validator comparing values of different kinds
        return None, [Problem("$", f"the document could not be checked as a whole: {exc}")]


def _message(err: Mapping[str, Any]) -> str:
    """A pydantic error message, phrased for a person editing the document."""
    kind, msg = err["type"], str(err["msg"])
    loc = err["loc"]
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing" if loc else "required"
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}"
    if kind == "union_tag_invalid":
        return msg.replace("Input tag", "value").replace("found using", "of")
    msg = msg.removeprefix("Value error, ")
    value = err.get("input")
    if kind == "string_pattern_mismatch" and len(loc) >= 3 and loc[-3] == "columns" and isinstance(value, str):
        # a field name as real data has it (marital-status): the column is renamed, the source's name mapped
        name = re.sub(r"[^A-Za-z0-9_]", "_", value)
        name = name if re.match(r"[A-Za-z_]", name) else f"_{name}"
        return (
            f"column names are SQL identifiers (letters, digits and _, not starting with a digit), so "
            f"transformations can name them: call it {name!r} and map it to the source's field with "
            f'"mapping": {{"{name}": {json.dumps(value)}}} on its script (got {json.dumps(value)})'
        )
    if kind not in ("missing",) and not isinstance(value, dict | list):
        msg += f" (got {json.dumps(value, default=str)})"
    return msg


# --- the public functions ------------------------------------------------------------------------


def parse_document(doc: dict[str, Any]) -> DataModule:
    """The ``DataModule`` a document describes; ``MetadataError`` with every structural problem.

    Cross-reference checks are not run here: this reads the documents of published versions,
    which were validated when their source was. A module's own document is loaded, checked
    in full and parsed once by ``privetl.engine.validate.load_document``.
    """
    reading = read_document(doc)
    module, problems = build_module(reading)
    if reading.problems or module is None:
        raise MetadataError(reading.problems + problems)
    return module


def _dump(model: Any, *, tag: str | None = None) -> Any:
    """A model as the JSON of a privetl: term: defaults left out, union tags kept."""
    dumped = model.model_dump(mode="json", exclude_defaults=True)
    if tag is not None:
        dumped = {tag: getattr(model, tag), **dumped}
    return dumped


def field_id(table: str, column: str) -> str:
    """The @id of a column: columns belong to their table."""
    return f"{table}/{column}"


def version_string(version: int) -> str:
    """Croissant's version of module version N: ``N.0.0``."""
    return f"{version}.0.0"


def record_sets(module: DataModule) -> list[dict[str, Any]]:
    """The cr:RecordSet of every table, with keys, references and the privetl: rules."""
    result = []
    for table in module.tables:
        foreign: dict[str, list[dict[str, Any]]] = {}
        for fk in table.foreign_keys:
            if fk.column not in table.column_names:
                raise ValueError(f"table {table.name!r}: foreign key on unknown column {fk.column!r}")
            reference: dict[str, Any] = {"field": {"@id": field_id(fk.references_table, fk.references_column)}}
            options = {k: v for k, v in _dump(fk).items() if k in FOREIGN_KEY_OPTIONS}
            if options:
                reference[FOREIGN_KEY_TERM] = options
            foreign.setdefault(fk.column, []).append(reference)
        fields = []
        for column in table.columns:
            fld: dict[str, Any] = {"@type": "cr:Field", "@id": field_id(table.name, column.name), "name": column.name}
            if column.description:
                fld["description"] = column.description
            fld["dataType"] = DATA_TYPES[column.type]
            if column.name in foreign:
                refs = foreign[column.name]
                fld["references"] = refs[0] if len(refs) == 1 else refs
            if column.empty.strategy != "pass" or column.empty.value is not None:
                fld["privetl:empty"] = _dump(column.empty)
            if column.range is not None:
                fld["privetl:range"] = _dump(column.range)
            if column.anonymize is not None:
                fld["privetl:anonymize"] = _dump(column.anonymize, tag="op")
            if column.public:
                fld["privetl:public"] = True
            fields.append(fld)
        record_set: dict[str, Any] = {"@type": "cr:RecordSet", "@id": table.name, "name": table.name}
        if table.description:
            record_set["description"] = table.description
        if table.primary_key is not None:
            record_set["key"] = {"@id": field_id(table.name, table.primary_key.column)}
            record_set["privetl:primaryKeyConflict"] = table.primary_key.on_conflict
        if table.merge != "union":
            record_set["privetl:merge"] = table.merge
        if table.anatomize is not None:
            record_set["privetl:anatomize"] = _dump(table.anatomize)
        if table.privacy is not None:
            record_set["privetl:privacy"] = _dump(table.privacy)
        record_set["field"] = fields
        result.append(record_set)
    return result


def _script(script: Any) -> dict[str, Any]:
    dumped = _dump(script)
    dumped["source"] = _dump(script.source, tag="kind")
    return {"id": dumped.pop("id"), "table": dumped.pop("table"), **dumped}


def module_to_document(module: DataModule, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-LD document of ``module`` (``parse_document`` gives ``module`` back exactly).

    ``extra`` adds Dataset properties the module does not model (``url``, ``datePublished``,
    ``creator``, ``distribution``, ...); its ``@context`` entries are merged into ours; the
    module's own properties win over ``extra``'s.
    """
    extra = dict(extra or {})
    context = {**copy.deepcopy(CONTEXT), **(extra.pop("@context", None) or {})}
    doc: dict[str, Any] = {
        "@context": context,
        "@type": "sc:Dataset",
        "conformsTo": CROISSANT_1_0,
        "identifier": module.id,
        "name": module.name,
    }
    if module.description:
        doc["description"] = module.description
    doc["version"] = version_string(module.version)
    doc["license"] = module.license
    for key, value in extra.items():
        doc.setdefault(key, value)
    doc["privetl:seed"] = module.seed
    doc["recordSet"] = record_sets(module)
    doc["privetl:collectionProtocol"] = [_script(s) for s in module.collection_protocol]
    if module.transformations:
        doc["privetl:transformations"] = [_dump(t) for t in module.transformations]
    if module.upload is not None:
        upload = _dump(module.upload)
        upload["destination"] = _dump(module.upload.destination, tag="kind")
        doc["privetl:upload"] = upload
    return doc
