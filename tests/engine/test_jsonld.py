"""The data module document: parsing, writing back exactly, file loading, JSON-LD validity."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privetl.engine.errors import MetadataError, Problem
from privetl.engine.jsonld import (
    CONTEXT,
    PRIVETL_NS,
    module_to_document,
    parse_document,
)
from privetl.engine.metadata import ColumnType, DataModule
from privetl.engine.validate import load_document

FIXTURES = Path(__file__).parent / "fixtures" / "documents"

SMALL: dict[str, Any] = {
    "id": "small",
    "name": "Small",
    "version": 3,
    "tables": [
        {
            "name": "people",
            "primary_key": {"column": "id", "on_conflict": "drop_all"},
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "age", "type": "integer", "range": {"min": 0, "max": 120, "on_violation": "clamp"},
                 "anonymize": {"op": "generalize", "band": 10}},
            ],
        },
        {
            "name": "pets",
            "columns": [
                {"name": "owner", "type": "integer"},
                {"name": "name", "type": "string", "empty": {"strategy": "fill", "value": "?"}},
            ],
            "foreign_keys": [{"column": "owner", "references_table": "people", "references_column": "id"}],
        },
    ],
    "collection_protocol": [
        {"id": "people_csv", "table": "people", "source": {"kind": "file", "path": "people.csv", "format": "csv"}},
        {"id": "pets_csv", "table": "pets", "priority": 2, "source": {"kind": "file", "path": "pets.csv", "format": "csv"}},
    ],
}


def test_module_to_document_writes_croissant_terms_and_privetl_rules() -> None:
    doc = module_to_document(DataModule.model_validate(SMALL))
    assert doc["@context"] == CONTEXT
    assert {k: v for k, v in doc.items() if k != "@context"} == {
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "identifier": "small",
        "name": "Small",
        "version": "3.0.0",
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "privetl:seed": 0,
        "recordSet": [
            {
                "@type": "cr:RecordSet", "@id": "people", "name": "people",
                "key": {"@id": "people/id"}, "privetl:primaryKeyConflict": "drop_all",
                "field": [
                    {"@type": "cr:Field", "@id": "people/id", "name": "id", "dataType": "sc:Integer"},
                    {"@type": "cr:Field", "@id": "people/age", "name": "age", "dataType": "sc:Integer",
                     "privetl:range": {"min": 0, "max": 120, "on_violation": "clamp"},
                     "privetl:anonymize": {"op": "generalize", "band": 10.0}},
                ],
            },
            {
                "@type": "cr:RecordSet", "@id": "pets", "name": "pets",
                "field": [
                    {"@type": "cr:Field", "@id": "pets/owner", "name": "owner", "dataType": "sc:Integer",
                     "references": {"field": {"@id": "people/id"}}},
                    {"@type": "cr:Field", "@id": "pets/name", "name": "name", "dataType": "sc:Text",
                     "privetl:empty": {"strategy": "fill", "value": "?"}},
                ],
            },
        ],
        "privetl:collectionProtocol": [
            {"id": "people_csv", "table": "people", "source": {"kind": "file", "path": "people.csv", "format": "csv"}},
            {"id": "pets_csv", "table": "pets", "priority": 2,
             "source": {"kind": "file", "path": "pets.csv", "format": "csv"}},
        ],
    }


def test_the_fixture_document_loads_into_the_module_it_describes() -> None:
    doc, module = load_document(FIXTURES / "shop.jsonld")
    assert doc["identifier"] == "shop"
    assert (module.id, module.version, module.seed) == ("shop", 1, 42)
    customers, orders = module.tables
    assert customers.primary_key is not None and customers.primary_key.column == "id"
    assert customers.privacy is not None and customers.privacy.quasi_identifiers == ["birth_date", "zip"]
    assert customers.column("birth_date").range.min == dt.date(1900, 1, 1)  # type: ignore[union-attr]
    assert orders.column("created_at").range.min == dt.datetime(2020, 1, 1)  # type: ignore[union-attr]
    assert [(fk.column, fk.references_table, fk.references_column) for fk in orders.foreign_keys] == [
        ("customer_id", "customers", "id")
    ]
    assert [s.id for s in module.sources_of("customers")] == ["crm", "legacy"]
    assert module.collection_protocol[1].mapping == {"email": "mail"}
    # Dataset properties the module does not model are kept in the document only.
    assert (doc["url"], doc["datePublished"]) == ("https://example.org/shop", "2026-01-01")


def test_two_tables_may_have_columns_of_the_same_name() -> None:
    _, module = load_document(FIXTURES / "shop.jsonld")
    assert "email" in module.table("customers").column_names
    assert "email" in module.table("orders").column_names
    assert module.table("orders").column("email").anonymize.op == "permute"  # type: ignore[union-attr]


def test_a_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonld"
    path.write_text('{\n  "name": "x",\n  "version": 1.0.0\n}\n')
    with pytest.raises(MetadataError) as caught:
        load_document(path)
    assert caught.value.problems == [Problem("$", "invalid JSON at line 3, column 17: Expecting ',' delimiter")]


def test_load_document_raises_with_every_problem(tmp_path: Path) -> None:
    doc = module_to_document(DataModule.model_validate(SMALL))
    doc["recordSet"][0]["field"][1]["dataType"] = "sc:Number"
    doc["privetl:collectionProtocol"][1]["table"] = "animals"
    path = tmp_path / "m.jsonld"
    path.write_text(json.dumps(doc))
    with pytest.raises(MetadataError) as caught:
        load_document(path)
    assert [p.path for p in caught.value.problems] == [
        "$.recordSet[0].field[1].dataType",
        "$.privetl:collectionProtocol[1].table",
        "$.recordSet[1]",
    ]


def test_parse_document_reports_structure_with_paths() -> None:
    doc = module_to_document(DataModule.model_validate(SMALL))
    del doc["recordSet"][1]["field"][0]["dataType"]
    doc["recordSet"][0]["privetl:primaryKeyConflict"] = "newest"
    with pytest.raises(MetadataError) as caught:
        parse_document(doc)
    assert caught.value.problems == [
        Problem("$.recordSet[0].privetl:primaryKeyConflict",
                "Input should be 'source_priority', 'drop_all' or 'regenerate' (got \"newest\")"),
        Problem("$.recordSet[1].field[0].dataType", "required key 'type' is missing"),
    ]


def test_extra_properties_are_added_and_the_module_wins() -> None:
    module = DataModule.model_validate(SMALL)
    doc = module_to_document(
        module, extra={"url": "https://example.org/small", "name": "ignored", "@context": {"ex": "https://example.org/"}}
    )
    assert doc["url"] == "https://example.org/small"
    assert doc["name"] == "Small"
    assert doc["@context"]["ex"] == "https://example.org/"
    assert parse_document(doc) == module


def test_the_document_is_json_ld_whose_privetl_values_are_json_literals() -> None:
    """RDF processors (mlcroissant uses rdflib) keep privetl: rules as opaque JSON values."""
    import rdflib

    doc = module_to_document(DataModule.model_validate(SMALL))
    graph = rdflib.Graph().parse(data=json.dumps(doc), format="json-ld")
    ranges = list(graph.objects(predicate=rdflib.URIRef(PRIVETL_NS + "range")))
    assert len(ranges) == 1
    assert ranges[0].datatype == rdflib.RDF.JSON
    assert json.loads(str(ranges[0])) == {"min": 0, "max": 120, "on_violation": "clamp"}
    # The key is a node reference (an IRI relative to the document), not a string.
    keys = list(graph.objects(predicate=rdflib.URIRef("http://mlcommons.org/croissant/key")))
    assert len(keys) == 1 and isinstance(keys[0], rdflib.URIRef) and str(keys[0]).endswith("/people/id")


def test_a_published_column_type_overrides_the_data_type() -> None:
    doc = module_to_document(DataModule.model_validate(SMALL))
    doc["recordSet"][0]["field"][1]["dataType"] = "sc:Text"
    doc["recordSet"][0]["field"][1]["privetl:columnType"] = "integer"
    assert parse_document(doc) == DataModule.model_validate(SMALL)


# --- round trip -----------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
JSON_SCALAR = st.one_of(st.integers(-10**6, 10**6), TEXT, st.booleans(), st.floats(allow_nan=False, allow_infinity=False))
DATES = st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))
DATETIMES = st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1))


def _bounds(column_type: ColumnType) -> st.SearchStrategy[Any]:
    return {
        ColumnType.INTEGER: st.integers(-1000, 1000),
        ColumnType.DOUBLE: st.floats(-1e6, 1e6, allow_nan=False),
        ColumnType.DATE: DATES,
        ColumnType.DATETIME: DATETIMES,
    }[column_type]


@st.composite
def _range(draw: st.DrawFn, column_type: ColumnType) -> dict[str, Any] | None:
    if not (column_type.is_numeric or column_type.is_temporal) or not draw(st.booleans()):
        return None
    low, high = sorted([draw(_bounds(column_type)), draw(_bounds(column_type))])
    rule: dict[str, Any] = {"on_violation": draw(st.sampled_from(["drop", "clamp"]))}
    which = draw(st.sampled_from(["min", "max", "both"]))
    if which in ("min", "both"):
        rule["min"] = low
    if which in ("max", "both"):
        rule["max"] = high
    return rule


ANONYMIZE = st.one_of(
    st.none(),
    st.builds(lambda b: {"op": "generalize", "band": b}, st.floats(0.5, 1000)),
    st.builds(lambda g: {"op": "generalize", "granularity": g}, st.sampled_from(["year", "month", "day", "hour"])),
    st.builds(lambda n: {"op": "generalize", "truncate": n}, st.integers(0, 9)),
    st.builds(lambda h, o: {"op": "generalize", "hierarchy": h, "other": o}, st.dictionaries(TEXT, TEXT, max_size=3), TEXT),
    st.builds(lambda m, k: {"op": "suppress", "mask": m, "keep": k}, TEXT, st.integers(0, 5)),
    st.builds(lambda w: {"op": "permute", "within": w}, st.lists(NAMES, max_size=2)),
    st.builds(
        lambda d, s, r: {"op": "perturb", "distribution": d, "scale": s, "round": r},
        st.sampled_from(["laplace", "gaussian"]), st.floats(0.01, 100), st.one_of(st.none(), st.integers(0, 3)),
    ),
)


@st.composite
def _column(draw: st.DrawFn, name: str) -> dict[str, Any]:
    column_type = draw(st.sampled_from(list(ColumnType)))
    column: dict[str, Any] = {"name": name, "type": column_type.value, "description": draw(TEXT)}
    strategy = draw(st.sampled_from(["pass", "fill", "drop"]))
    if strategy != "pass":
        column["empty"] = {"strategy": strategy}
        if strategy == "fill":
            column["empty"]["value"] = draw(JSON_SCALAR)
    rule = draw(_range(column_type))
    if rule is not None:
        column["range"] = rule
    op = draw(ANONYMIZE)
    if op is not None:
        column["anonymize"] = op
    return column


@st.composite
def _tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    tables = []
    for name in names:
        column_names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
        table: dict[str, Any] = {
            "name": name,
            "description": draw(TEXT),
            "columns": [draw(_column(c)) for c in column_names],
            "merge": draw(st.sampled_from(["union", "coalesce"])),
        }
        if draw(st.booleans()):
            table["primary_key"] = {
                "column": draw(st.sampled_from(column_names)),
                "on_conflict": draw(st.sampled_from(["source_priority", "drop_all", "regenerate"])),
            }
        if draw(st.booleans()):
            qis = draw(st.lists(st.sampled_from(column_names), min_size=1, unique=True))
            table["privacy"] = {
                "quasi_identifiers": qis, "sensitive": draw(st.lists(st.sampled_from(column_names), unique=True)),
                "k": draw(st.one_of(st.none(), st.integers(1, 10))), "max_suppression": draw(st.floats(0, 1)),
            }
        if draw(st.booleans()):
            table["anatomize"] = {
                "quasi_identifiers": draw(st.lists(st.sampled_from(column_names), min_size=1, unique=True)),
                "sensitive": draw(st.sampled_from(column_names)), "l": draw(st.integers(2, 5)),
            }
        tables.append(table)
    for table in tables:  # foreign keys in column order, at most one per column
        fks = []
        for column in table["columns"]:
            if draw(st.integers(0, 3)) == 0:
                target = draw(st.sampled_from(tables))
                fks.append({"column": column["name"], "references_table": target["name"],
                            "references_column": draw(st.sampled_from([c["name"] for c in target["columns"]]))})
        table["foreign_keys"] = fks
    return tables


SOURCES = st.one_of(
    st.builds(lambda p, f: {"kind": "file", "path": p, "format": f}, TEXT, st.sampled_from(["json", "jsonl", "csv", "parquet"])),
    st.builds(lambda c, q: {"kind": "sql", "connection": c, "query": q}, TEXT, TEXT),
    st.builds(
        lambda u, r, h, t, n: {"kind": "http", "url": u, "records_path": r, "headers": h,
                               "pagination": {"type": t, "max_pages": n}},
        TEXT, TEXT, st.dictionaries(TEXT, TEXT, max_size=2), st.sampled_from(["none", "page", "cursor", "next_url"]),
        st.integers(1, 100),
    ),
    st.builds(
        lambda c, e, s: {"kind": "exec", "command": c, "env": e, "stream": s},
        st.lists(TEXT, min_size=1, max_size=3), st.dictionaries(TEXT, TEXT, max_size=2), st.one_of(st.none(), TEXT),
    ),
)


@st.composite
def modules(draw: st.DrawFn) -> DataModule:
    tables = draw(_tables())
    table_names = [t["name"] for t in tables]
    scripts = [
        {"id": script_id, "table": draw(st.sampled_from(table_names)), "priority": draw(st.integers(-5, 5)),
         "mapping": draw(st.dictionaries(NAMES, TEXT, max_size=2)), "source": draw(SOURCES)}
        for script_id in draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    ]
    data: dict[str, Any] = {
        "id": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,10}", fullmatch=True)),
        "name": draw(TEXT.filter(bool)),
        "description": draw(TEXT),
        "version": draw(st.integers(1, 1000)),
        "license": draw(TEXT),
        "tables": tables,
        "collection_protocol": scripts,
        "seed": draw(st.integers(-(2**63), 2**63 - 1)),
        "transformations": [
            {"name": n, "type": draw(st.sampled_from(["merge", "update"])), "target": draw(st.sampled_from(table_names)),
             "sql": draw(TEXT.filter(bool))}
            for n in draw(st.lists(NAMES, max_size=2, unique=True))
        ],
    }
    upload = draw(st.one_of(
        st.none(),
        st.builds(lambda p, r: {"destination": {"kind": "directory", "path": p}, "rewrite_protocol": r}, TEXT, st.booleans()),
        st.builds(lambda c, s: {"destination": {"kind": "postgres", "connection": c, "schema_name": s}}, TEXT, NAMES),
    ))
    if upload is not None:
        data["upload"] = upload
    return DataModule.model_validate(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_module_to_document_to_module_is_identity(module: DataModule) -> None:
    document = json.loads(json.dumps(module_to_document(module)))  # as written to and read from a file
    assert parse_document(document) == module


def test_foreign_key_and_script_options_are_read_and_written_back() -> None:
    data = copy.deepcopy(SMALL)
    data["tables"][1]["foreign_keys"][0]["allow_empty"] = False
    data["collection_protocol"][1]["allow_empty"] = True
    module = DataModule.model_validate(data)
    doc = module_to_document(module)
    owner = doc["recordSet"][1]["field"][0]
    assert owner["references"] == {"field": {"@id": "people/id"}, "privetl:foreignKey": {"allow_empty": False}}
    assert doc["privetl:collectionProtocol"][1]["allow_empty"] is True
    default = module_to_document(DataModule.model_validate(SMALL))
    assert default["recordSet"][1]["field"][0]["references"] == {"field": {"@id": "people/id"}}
    assert parse_document(json.loads(json.dumps(doc))) == module
