"""The Croissant metadata of a published version, loadable by ``mlcroissant`` alone.

Why this exists apart from ``jsonld``: the source document describes where records come
from; a published version describes data that now exists — exactly its Parquet files
(``distribution``, each a ``cr:FileObject`` with its sha256), record sets whose fields read
those files (``source`` with ``extract.column``), and where the data came from (PROV-O, as
the Croissant spec recommends: ``prov:wasDerivedFrom`` the module version and each source,
``prov:wasGeneratedBy`` the run). An ML user loads it with ``mlcroissant`` and nothing of
ours, offline: every ``contentUrl`` is relative to the metadata file, no URL is fetched.

The privetl: rules stay in the published document. mlcroissant tolerates them (they are
JSON literals in the context, which RDF keeps opaque; mlcroissant ignores properties it does
not model — tested), and they make the published document a data module again: parsing it
gives the module at version N with its protocol reading the published data (feature 9).

A published value's type can differ from the declared column type (a numeric band
``30-39`` is text): ``dataType`` describes the published values, ``privetl:columnType``
keeps the declared type. Anatomized tables are published as the pair ``<t>_qit``
(quasi-identifiers + ``group_id``) and ``<t>_st`` (``group_id``, the sensitive column,
``count``); the table ``<t>`` itself then has no files, and a record set without files is
described by ``privetl:unpublishedRecordSets`` instead of ``recordSet`` (mlcroissant needs
a source for every field of a record set).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from privetl.engine.jsonld import (
    CONTEXT,
    CROISSANT_1_0,
    DATA_TYPES,
    UNPUBLISHED,
    field_id,
    module_to_document,
    version_string,
)
from privetl.engine.metadata import (
    ColumnType,
    DataModule,
    Generalize,
    Levels,
    Perturb,
    Pseudonymize,
    Table,
)

PARQUET = "application/x-parquet"
ANATOMY_GROUP = "group_id"
"""The group id column of both anatomized tables (int64)."""
ANATOMY_COUNT = "count"
"""The ``<t>_st`` column counting the group's records with that sensitive value (int64)."""

_KEPT_FROM_BASE = frozenset({
    "url", "creator", "publisher", "citeAs", "citation", "keywords", "inLanguage", "sameAs",
    "sdLicense", "alternateName", "funder", "dateCreated",
})
"""Dataset properties of the source document that the module does not model and that still
hold for a published version (never its distribution, dates or record sets); ``rai:``,
``dct:`` and ``sc:`` properties are kept too (the previous lineage, ``prov:``, is not)."""


@dataclass(frozen=True)
class PublishedFile:
    """One data file of a published version: ``path`` is relative to the metadata file."""

    table: str
    path: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class Lineage:
    """Where a version came from: the run, the module version and sources it derives from.

    Never holds the anonymization secret: only the public seed (and whether the run was
    reproducible, i.e. whether a fixed secret was used).
    """

    run_id: str
    previous_version: int | None = None
    """The version this one follows at the destination (None: the first publication)."""
    sources: list[dict[str, Any]] = field(default_factory=list)
    """One entry per extraction script (script, table, kind, path/url/query)."""
    seed: int = 0
    """The public seed of the seeded operations (the secret is never here)."""
    engine: str = "duckdb"
    started_at: dt.datetime | str | None = None
    ended_at: dt.datetime | str | None = None
    metadata_sha256: str = ""
    """sha256 of the source document the run read."""
    metadata_path: str = ""
    rows: Mapping[str, int] = field(default_factory=dict)
    """Rows extracted per script."""
    reproducible: bool = True
    module: DataModule | None = None
    """The source module (its id and version name what this version derives from)."""
    notes: Mapping[str, Any] = field(default_factory=dict)
    """What else the run says about this version (JSON values), e.g. ``{"outbox_edits": 3}``
    when a data manager edited records before publishing; ``privetl:notes`` of the run."""


def _iso(value: dt.datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def published_type(column_type: ColumnType, op: Any) -> ColumnType:
    """The type of a column's published values after its anonymization, by the rules.

    Bands, truncation and hierarchies publish text; noise on an integer publishes a double
    unless rounded to 0 decimals; pseudonyms are text unless an integer column keeps its type. ``version_document``'s ``schemas`` (the published Arrow
    schemas) override this where given.
    """
    if isinstance(op, Generalize) and (op.band is not None or op.truncate is not None or op.hierarchy is not None):
        return ColumnType.STRING
    if isinstance(op, Levels):
        # the level the search chose is published as text, whatever the level
        return ColumnType.STRING
    if isinstance(op, Perturb) and column_type is ColumnType.INTEGER and (op.round is None or op.round > 0):
        return ColumnType.DOUBLE
    if isinstance(op, Pseudonymize) and not (op.keep_type and column_type is ColumnType.INTEGER):
        return ColumnType.STRING
    return column_type


def arrow_column_type(data_type: pa.DataType) -> ColumnType | None:
    """The column type of an Arrow type (None for types a data module does not have)."""
    if pa.types.is_integer(data_type):
        return ColumnType.INTEGER
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return ColumnType.DOUBLE
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return ColumnType.STRING
    if pa.types.is_boolean(data_type):
        return ColumnType.BOOLEAN
    if pa.types.is_date(data_type):
        return ColumnType.DATE
    if pa.types.is_timestamp(data_type):
        return ColumnType.DATETIME
    return None


def _typer(schemas: Mapping[str, pa.Schema] | None) -> Callable[[str, str, ColumnType, Any], ColumnType]:
    """published type of (table, column): the Arrow schema's where known, else the rules'."""

    def kind(table: str, column: str, declared: ColumnType, op: Any) -> ColumnType:
        schema = (schemas or {}).get(table)
        if schema is not None and column in schema.names:
            found = arrow_column_type(schema.field(column).type)
            if found is not None:
                return found
        return published_type(declared, op)

    return kind


def _field(table: str, name: str, published: ColumnType, file_ids: Sequence[str], declared: ColumnType | None) -> dict[str, Any]:
    fld: dict[str, Any] = {"@type": "cr:Field", "@id": field_id(table, name), "name": name, "dataType": DATA_TYPES[published]}
    if declared is not None and declared != published:
        fld["privetl:columnType"] = declared.value
    if file_ids:
        fld["source"] = _source(file_ids, name)
    return fld


def _source(file_ids: Sequence[str], column: str) -> dict[str, Any]:
    """A field's source: its table's one FileObject, or the FileSet of its several files."""
    holder = {"fileObject": {"@id": file_ids[0]}} if len(file_ids) == 1 else {"fileSet": {"@id": _set_id(file_ids[0])}}
    return {**holder, "extract": {"column": column}}


def _set_id(first_file_id: str) -> str:
    return first_file_id.rsplit("-file-", 1)[0] + "-files"


def _anatomized(
    table: Table, file_ids: Mapping[str, list[str]], kind: Callable[[str, str, ColumnType, Any], ColumnType]
) -> list[dict[str, Any]]:
    """The record sets of an anatomized table's pair, ``<t>_qit`` and ``<t>_st``."""
    assert table.anatomize is not None
    qit, st = f"{table.name}_qit", f"{table.name}_st"
    columns = {c.name: c for c in table.columns}
    qi_fields = [
        _field(qit, q, kind(qit, q, columns[q].type, columns[q].anonymize), file_ids.get(qit, []), None)
        for q in table.anatomize.quasi_identifiers
        if q in columns
    ]
    sensitive = columns[table.anatomize.sensitive]
    return [
        {
            "@type": "cr:RecordSet", "@id": qit, "name": qit, "privetl:anatomizedFrom": table.name,
            "description": f"Anatomized {table.name}: quasi-identifiers and the group of each record.",
            "field": [*qi_fields, _field(qit, ANATOMY_GROUP, ColumnType.INTEGER, file_ids.get(qit, []), None)],
        },
        {
            "@type": "cr:RecordSet", "@id": st, "name": st, "privetl:anatomizedFrom": table.name,
            "description": (
                f"Anatomized {table.name}: per group, each sensitive value and its count "
                f"(at least {table.anatomize.l} distinct values per group)."
            ),
            "field": [
                _field(st, ANATOMY_GROUP, ColumnType.INTEGER, file_ids.get(st, []), None),
                _field(
                    st, sensitive.name, kind(st, sensitive.name, sensitive.type, sensitive.anonymize),
                    file_ids.get(st, []), None,
                ),
                _field(st, ANATOMY_COUNT, ColumnType.INTEGER, file_ids.get(st, []), None),
            ],
        },
    ]


def _lineage_terms(module: DataModule, lineage: Lineage, version: int) -> dict[str, Any]:
    """PROV-O: derived from the source module version and each source; generated by the run."""
    source_module = lineage.module or module
    derived: list[dict[str, Any]] = [
        {
            "@type": "prov:Entity",
            "name": f"{source_module.id} {version_string(source_module.version)} (source document)",
            "version": version_string(source_module.version),
            **({"sha256": lineage.metadata_sha256} if lineage.metadata_sha256 else {}),
        }
    ]
    if lineage.previous_version:
        derived.append({
            "@type": "prov:Entity",
            "name": f"{source_module.id} {version_string(lineage.previous_version)} (previous published version)",
            "version": version_string(lineage.previous_version),
        })
    for source in lineage.sources:
        entity: dict[str, Any] = {"@type": "prov:Entity", "name": str(source.get("script", "source"))}
        description = ", ".join(f"{k}={v}" for k, v in source.items() if k != "script")
        if description:
            entity["description"] = description
        script = source.get("script")
        if isinstance(script, str) and script in lineage.rows:
            entity["privetl:rows"] = int(lineage.rows[script])
        derived.append(entity)
    activity: dict[str, Any] = {
        "@type": "prov:Activity",
        "name": f"privetl run {lineage.run_id}",
        "identifier": lineage.run_id,
        "privetl:engine": lineage.engine,
        "privetl:seedUsed": lineage.seed,
        "privetl:reproducible": lineage.reproducible,
    }
    if lineage.started_at is not None:
        activity["prov:startedAtTime"] = _iso(lineage.started_at)
    if lineage.ended_at is not None:
        activity["prov:endedAtTime"] = _iso(lineage.ended_at)
    if lineage.notes:
        activity["privetl:notes"] = dict(lineage.notes)
    return {"prov:wasDerivedFrom": derived, "prov:wasGeneratedBy": activity}


def source_rows(document: Mapping[str, Any]) -> dict[str, int]:
    """Rows each script delivered for a published version, by script id: the
    ``privetl:rows`` of its lineage's source entities (empty when it records none)."""
    derived = document.get("prov:wasDerivedFrom")
    rows: dict[str, int] = {}
    for entity in derived if isinstance(derived, list) else []:
        if not isinstance(entity, Mapping):
            continue
        name, count = entity.get("name"), entity.get("privetl:rows")
        if isinstance(name, str) and isinstance(count, int) and not isinstance(count, bool):
            rows[name] = count
    return rows


def version_document(
    module: DataModule,
    *,
    version: int,
    files: list[PublishedFile],
    lineage: Lineage,
    base_doc: Mapping[str, Any],
    schemas: Mapping[str, pa.Schema] | None = None,
) -> dict[str, Any]:
    """The Croissant metadata of published version ``version`` of ``module``.

    ``schemas`` (optional): the Arrow schema of each published table; each field's
    ``dataType`` then follows the published data exactly (else the anonymization rules).

    ``files`` are exactly that version's data files, paths relative to where the metadata
    is written; tables with files become loadable record sets, the others are kept under
    ``privetl:unpublishedRecordSets`` so the document still parses to the whole module.
    """
    extra = {k: v for k, v in base_doc.items() if k in _KEPT_FROM_BASE or k.startswith(("rai:", "dct:", "sc:"))}
    # The source document's datePublished is not this version's: the run's end is.
    extra["datePublished"] = (
        _iso(lineage.ended_at) or _iso(lineage.started_at) or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    if isinstance(base_doc.get("@context"), dict):
        # The source's own additions (other prefixes); ours stay as mlcroissant expects them.
        extra["@context"] = {k: v for k, v in base_doc["@context"].items() if k not in CONTEXT}
    published_module = module.model_copy(update={"version": version})
    doc = module_to_document(published_module, extra=extra)
    doc["conformsTo"] = CROISSANT_1_0
    doc.setdefault("citeAs", f"{module.name}, version {version_string(version)} ({module.id}).")

    file_ids: dict[str, list[str]] = {}
    distribution = []
    for f in files:
        ids = file_ids.setdefault(f.table, [])
        file_id = f"{f.table}-file-{len(ids) + 1}"
        ids.append(file_id)
        distribution.append({
            "@type": "cr:FileObject",
            "@id": file_id,
            "name": f.path.rsplit("/", 1)[-1],
            "contentUrl": f.path,
            "encodingFormat": PARQUET,
            "sha256": f.sha256,
            "privetl:rows": f.rows,
        })

    by_table: dict[str, list[PublishedFile]] = {}
    for f in files:
        by_table.setdefault(f.table, []).append(f)
    for table_name, table_files in by_table.items():
        if len(table_files) > 1:
            # mlcroissant reads one FileObject per field source; several files of a table
            # are read through a FileSet whose `includes` are exactly their paths (a FileSet
            # is walked from the metadata's folder: see docs/data-module.md for the limit).
            distribution.append({
                "@type": "cr:FileSet",
                "@id": _set_id(file_ids[table_name][0]),
                "name": f"{table_name} files",
                "encodingFormat": PARQUET,
                "includes": [f.path for f in table_files],
            })

    typer = _typer(schemas)
    published: list[dict[str, Any]] = []
    unpublished: list[dict[str, Any]] = []
    for record_set, table in zip(doc.pop("recordSet"), module.tables, strict=True):
        ids = file_ids.get(table.name, [])
        for fld, column in zip(record_set["field"], table.columns, strict=True):
            kind = typer(table.name, column.name, column.type, column.anonymize)
            fld["dataType"] = DATA_TYPES[kind]
            if kind != column.type:
                fld["privetl:columnType"] = column.type.value
            if ids:
                fld["source"] = _source(ids, column.name)
        (published if ids else unpublished).append(record_set)
        if table.anatomize is not None:
            published.extend(_anatomized(table, file_ids, typer))

    loadable = {fld["@id"] for record_set in published for fld in record_set["field"]}
    for record_set in published:
        for fld in record_set["field"]:
            refs = fld.get("references")
            targets = refs if isinstance(refs, list) else [refs] if refs else []
            if any(ref["field"]["@id"] not in loadable for ref in targets):
                fld["privetl:references"] = fld.pop("references")

    ordered: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "privetl:collectionProtocol":
            ordered["distribution"] = distribution
            ordered["recordSet"] = published
            if unpublished:
                ordered[UNPUBLISHED] = unpublished
        ordered[key] = value
    ordered.update(_lineage_terms(module, lineage, version))
    return ordered
