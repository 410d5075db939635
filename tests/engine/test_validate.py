"""validate_document: every mistake, each at its JSON path in the original document, with a
message a person can act on."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privetl.engine.errors import MetadataError, Problem
from privetl.engine.jsonld import module_to_document, parse_document
from privetl.engine.metadata import DataModule
from privetl.engine.validate import validate_document

FIXTURES = Path(__file__).parent / "fixtures" / "documents"

MODULE: dict[str, Any] = {
    "id": "shop",
    "name": "Shop",
    "tables": [
        {
            "name": "customers",
            "primary_key": {"column": "id", "on_conflict": "source_priority"},
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "name", "type": "string"},
                {"name": "age", "type": "integer"},
                {"name": "zip", "type": "string"},
                {"name": "born", "type": "date"},
                {"name": "vip", "type": "boolean"},
                {"name": "income", "type": "double"},
            ],
            "privacy": {"quasi_identifiers": ["age", "zip"], "sensitive": ["income"], "k": 2},
        },
        {
            "name": "orders",
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "customer", "type": "integer"},
                {"name": "name", "type": "string"},
            ],
            "foreign_keys": [{"column": "customer", "references_table": "customers", "references_column": "id"}],
        },
    ],
    "collection_protocol": [
        {"id": "crm", "table": "customers", "source": {"kind": "file", "path": "c.csv", "format": "csv"}},
        {"id": "shop", "table": "orders", "source": {"kind": "file", "path": "o.csv", "format": "csv"}},
    ],
}

BASE = module_to_document(DataModule.model_validate(MODULE))
CUSTOMERS = "$.recordSet[0]"
ORDERS = "$.recordSet[1]"


def problems(change: Callable[[dict[str, Any]], Any]) -> list[tuple[str, str]]:
    doc = copy.deepcopy(BASE)
    change(doc)
    return [(p.path, p.message) for p in validate_document(doc)]


def field(doc: dict[str, Any], table: int, column: int) -> dict[str, Any]:
    return doc["recordSet"][table]["field"][column]


def test_valid_documents_have_no_problems() -> None:
    assert validate_document(copy.deepcopy(BASE)) == []
    assert validate_document(json.loads((FIXTURES / "shop.jsonld").read_text())) == []


def test_the_document_must_be_an_object() -> None:
    assert validate_document([1]) == [Problem("$", "a data module document is a JSON object, not a list")]


def test_missing_keys_are_named_where_they_belong() -> None:
    def change(doc: dict[str, Any]) -> None:
        del doc["identifier"]
        del field(doc, 1, 2)["name"]
        del doc["privetl:collectionProtocol"][0]["source"]["format"]

    assert problems(change) == [
        ("$.identifier", "required key 'id' is missing"),
        (f"{ORDERS}.field[2].name", "required key 'name' is missing"),
        ("$.privetl:collectionProtocol[0].source.format", "required key 'format' is missing"),
    ]


def test_unknown_keys_are_reported() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["recordset"] = []
        field(doc, 0, 1)["privetl:rang"] = {"min": 1}
        doc["privetl:collectionProtocol"][1]["priorty"] = 3
        doc["privetl:collectionProtocol"][1]["source"]["compression"] = "gzip"

    assert problems(change) == [
        ("$.recordset", "unknown key 'recordset' in the dataset"),
        (f"{CUSTOMERS}.field[1].privetl:rang",
         "unknown key 'privetl:rang' in a field; privetl terms are privetl:anonymize, privetl:columnType, "
         "privetl:empty, privetl:public, privetl:range, privetl:references"),
        ("$.privetl:collectionProtocol[1].source.compression", "unknown key 'compression'"),
        ("$.privetl:collectionProtocol[1].priorty", "unknown key 'priorty'"),
    ]


def test_wrong_types_are_reported_at_the_document_path() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["version"] = "two"
        doc["privetl:seed"] = "seven"
        field(doc, 0, 2)["dataType"] = "sc:Number"
        doc["privetl:collectionProtocol"][0]["priority"] = "high"
        doc["recordSet"][0]["privetl:privacy"]["k"] = 0

    assert problems(change) == [
        ("$.version", '"version" must be "N.0.0" (N = 1, 2, ...), not "two"'),
        (f"{CUSTOMERS}.field[2].dataType",
         'unsupported dataType "sc:Number"; use one of sc:Integer, sc:Float, sc:Text, sc:Boolean, sc:Date, sc:DateTime'),
        (f"{CUSTOMERS}.privetl:privacy.k", "Input should be greater than or equal to 1 (got 0)"),
        ("$.privetl:collectionProtocol[0].priority",
         'Input should be a valid integer, unable to parse string as an integer (got "high")'),
        ("$.privetl:seed", 'Input should be a valid integer, unable to parse string as an integer (got "seven")'),
    ]


def test_an_unknown_anonymization_op_names_the_choices() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 1)["privetl:anonymize"] = {"op": "scramble"}

    assert problems(change) == [
        (f"{CUSTOMERS}.field[1].privetl:anonymize",
         "value 'scramble' of 'op' does not match any of the expected tags: 'generalize', 'suppress', 'permute', 'perturb', 'pseudonymize', 'levels'"),
    ]


def test_a_key_naming_an_unknown_column() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["recordSet"][0]["key"] = {"@id": "customers/uid"}

    assert problems(change) == [
        (f"{CUSTOMERS}.key", "the key names column 'uid', which table 'customers' does not have "
                             "(its columns: age, born, id, income, name, vip, zip)"),
    ]


def test_a_key_of_another_table_or_malformed() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["recordSet"][1]["key"] = {"@id": "customers/id"}
        doc["recordSet"][1]["privetl:primaryKeyConflict"] = "drop_all"
        doc["recordSet"][0]["key"] = "id"

    assert problems(change) == [
        (f"{CUSTOMERS}.key", 'the key must be a field reference {"@id": "<table>/<column>"}, not "id"'),
        (f"{ORDERS}.key", "the key 'customers/id' is not a field of this record set ('orders'); a key names one of "
                          "its own fields"),
    ]


def test_a_key_without_a_conflict_strategy_and_a_strategy_without_a_key() -> None:
    def change(doc: dict[str, Any]) -> None:
        del doc["recordSet"][0]["privetl:primaryKeyConflict"]
        doc["recordSet"][1]["privetl:primaryKeyConflict"] = "drop_all"

    assert problems(change) == [
        (f"{ORDERS}.privetl:primaryKeyConflict", 'a key-conflict strategy needs a "key" on the record set'),
        (f"{CUSTOMERS}.privetl:primaryKeyConflict", "required key 'on_conflict' is missing"),
    ]


@pytest.mark.parametrize(("column", "kind"), [(1, "string"), (5, "boolean")])
def test_a_range_on_a_string_or_boolean_column(column: int, kind: str) -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, column)["privetl:range"] = {"min": 1, "on_violation": "drop"}

    name = MODULE["tables"][0]["columns"][column]["name"]
    assert problems(change) == [
        (f"{CUSTOMERS}.field[{column}].privetl:range",
         f"a range applies to numeric and date columns only; {name!r} is a {kind} column — remove privetl:range"),
    ]


def test_range_bounds_of_the_wrong_type() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 2)["privetl:range"] = {"min": "18", "max": 2.5, "on_violation": "drop"}
        field(doc, 0, 4)["privetl:range"] = {"min": 1900, "max": "2020-13-01", "on_violation": "clamp"}
        field(doc, 0, 6)["privetl:range"] = {"max": True, "on_violation": "clamp"}

    assert problems(change) == [
        (f"{CUSTOMERS}.field[2].privetl:range.min", "the min of integer column 'age' must be an integer"),
        (f"{CUSTOMERS}.field[2].privetl:range.max", "the max of integer column 'age' must be an integer"),
        (f"{CUSTOMERS}.field[4].privetl:range.min",
         "the min of date column 'born' must be an ISO date such as \"2024-01-31\""),
        (f"{CUSTOMERS}.field[4].privetl:range.max",
         "the max of date column 'born' must be an ISO date such as \"2024-01-31\""),
        (f"{CUSTOMERS}.field[6].privetl:range.max", "the max of double column 'income' must be a number"),
    ]


def test_a_range_with_no_bound_or_inverted_bounds() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 2)["privetl:range"] = {"on_violation": "drop"}
        field(doc, 0, 6)["privetl:range"] = {"min": 10, "max": 1, "on_violation": "drop"}

    assert problems(change) == [
        (f"{CUSTOMERS}.field[2].privetl:range", "a range needs 'min', 'max' or both"),
        (f"{CUSTOMERS}.field[6].privetl:range", "range min 10 is greater than max 1"),
    ]


def test_a_fill_strategy_without_its_value_or_with_a_wrong_one() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 1)["privetl:empty"] = {"strategy": "fill"}
        field(doc, 0, 2)["privetl:empty"] = {"strategy": "fill", "value": "unknown"}

    assert problems(change) == [
        (f"{CUSTOMERS}.field[1].privetl:empty", "strategy 'fill' needs a 'value' to put into empty fields"),
        (f"{CUSTOMERS}.field[2].privetl:empty.value", "the fill value of integer column 'age' must be an integer"),
    ]


def test_anonymization_ops_that_do_not_fit_the_column_type() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 1)["privetl:anonymize"] = {"op": "generalize", "band": 10}
        field(doc, 0, 2)["privetl:anonymize"] = {"op": "generalize", "granularity": "year"}
        field(doc, 0, 6)["privetl:anonymize"] = {"op": "generalize", "truncate": 2}
        field(doc, 0, 3)["privetl:anonymize"] = {"op": "perturb", "distribution": "laplace", "scale": 1}
        field(doc, 0, 4)["privetl:anonymize"] = {"op": "suppress", "keep": 2}

    assert problems(change) == [
        (f"{CUSTOMERS}.field[1].privetl:anonymize.band",
         "generalize by band applies to numeric (integer, double) columns; 'name' is a string column"),
        (f"{CUSTOMERS}.field[2].privetl:anonymize.granularity",
         "generalize by granularity applies to date and datetime columns; 'age' is a integer column"),
        (f"{CUSTOMERS}.field[3].privetl:anonymize",
         "perturb (noise) applies to numeric columns; 'zip' is a string column"),
        (f"{CUSTOMERS}.field[4].privetl:anonymize.keep",
         "keep applies to string columns; 'born' is a date column (omit keep)"),
        (f"{CUSTOMERS}.field[6].privetl:anonymize.truncate",
         "generalize by truncate applies to string columns; 'income' is a double column"),
    ]


def test_permute_within_unknown_columns_or_itself() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 6)["privetl:anonymize"] = {"op": "permute", "within": ["zip", "city", "income"]}

    assert problems(change) == [
        (f"{CUSTOMERS}.field[6].privetl:anonymize.within[1]",
         "permute within names column 'city', which this table does not have"),
        (f"{CUSTOMERS}.field[6].privetl:anonymize.within[2]",
         "permuting 'income' within groups of itself changes nothing; remove it from within"),
    ]


def test_a_foreign_key_to_a_missing_table_or_column() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 1, 1)["references"] = {"field": {"@id": "clients/id"}}
        field(doc, 1, 0)["references"] = {"field": {"@id": "customers/uid"}}
        field(doc, 1, 2)["references"] = {"field": "customers/name"}

    assert problems(change) == [
        (f"{ORDERS}.field[2].references.field",
         'the referenced field must be a field reference {"@id": "<table>/<column>"}, not "customers/name"'),
        (f"{ORDERS}.field[0].references.field.@id",
         "the foreign key names column 'uid', which table 'customers' does not have "
         "(its columns: age, born, id, income, name, vip, zip)"),
        (f"{ORDERS}.field[1].references.field.@id",
         "foreign key to table 'clients', which is not in this module (tables: customers, orders)"),
    ]


def test_a_foreign_key_between_columns_of_different_types() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 1, 1)["references"] = {"field": {"@id": "customers/zip"}}

    assert problems(change) == [
        (f"{ORDERS}.field[1].references",
         "foreign key orders.customer (integer) references customers.zip (string); the types must match"),
    ]


def test_a_foreign_key_cycle_is_named() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 2)["references"] = {"field": {"@id": "orders/id"}}

    assert problems(change) == [
        (f"{CUSTOMERS}.field[2].references",
         "foreign keys form a cycle: customers -> orders -> customers; tables are cleaned in dependency order, "
         "so break the cycle"),
    ]


def test_a_self_reference_is_a_cycle() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 1, 0)["references"] = {"field": {"@id": "orders/customer"}}

    assert problems(change) == [
        (f"{ORDERS}.field[0].references",
         "foreign keys form a cycle: orders -> orders; tables are cleaned in dependency order, so break the cycle"),
    ]


def test_scripts_for_unknown_tables_and_tables_without_scripts() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["privetl:collectionProtocol"][1]["table"] = "order"
        doc["privetl:collectionProtocol"][0]["mapping"] = {"mail": "email"}

    assert problems(change) == [
        ("$.privetl:collectionProtocol[0].mapping.mail",
         "the mapping names column 'mail', which table 'customers' does not have "
         "(its columns: age, born, id, income, name, vip, zip)"),
        ("$.privetl:collectionProtocol[1].table",
         "script for table 'order', which is not in this module (tables: customers, orders)"),
        (ORDERS, "table 'orders' has no script in privetl:collectionProtocol (nor a merge transformation producing it)"),
    ]


def test_a_table_produced_by_a_merge_transformation_needs_no_script() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["privetl:collectionProtocol"].pop(1)
        doc["privetl:transformations"] = [
            {"name": "orders_from_crm", "type": "merge", "target": "orders", "sql": "SELECT 1 AS id"}
        ]

    assert problems(change) == []


def test_duplicate_tables_columns_scripts_and_ids() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 3)["name"] = "name"
        doc["privetl:collectionProtocol"][1]["id"] = "crm"
        third = copy.deepcopy(doc["recordSet"][1])
        third["@id"] = "orders2"
        for fld in third["field"]:
            fld["@id"] += "2"
        doc["recordSet"].append(third)

    assert problems(change) == [
        (f"{CUSTOMERS}.field[3].name", "duplicate column 'name' in table 'customers'"),
        ("$.recordSet[2].name", "duplicate table 'orders' (also the record set at $.recordSet[1])"),
        (f"{CUSTOMERS}.privetl:privacy.quasi_identifiers[1]",
         "quasi_identifiers entry names column 'zip', which table 'customers' does not have "
         "(its columns: age, born, id, income, name, vip)"),
        ("$.privetl:collectionProtocol[1].id", "duplicate script id 'crm' (also $.privetl:collectionProtocol[0])"),
    ]


def test_duplicate_json_ld_ids() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 3)["@id"] = "customers/name"
        doc["recordSet"][1]["@id"] = "customers"

    assert problems(change) == [
        (f"{CUSTOMERS}.field[3].@id", "@id 'customers/name' is already used at $.recordSet[0].field[1]"),
        (f"{ORDERS}.@id", "@id 'customers' is already used at $.recordSet[0]"),
    ]


def test_privacy_targets_naming_unknown_columns() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["recordSet"][0]["privetl:privacy"] = {
            "quasi_identifiers": ["age", "postcode"], "sensitive": ["salary", "age"], "l": 2,
        }

    assert problems(change) == [
        (f"{CUSTOMERS}.privetl:privacy.quasi_identifiers[1]",
         "quasi_identifiers entry names column 'postcode', which table 'customers' does not have "
         "(its columns: age, born, id, income, name, vip, zip)"),
        (f"{CUSTOMERS}.privetl:privacy.sensitive[0]",
         "sensitive entry names column 'salary', which table 'customers' does not have "
         "(its columns: age, born, id, income, name, vip, zip)"),
        (f"{CUSTOMERS}.privetl:privacy.sensitive[1]",
         "'age' is both a quasi-identifier and a sensitive attribute; it can only be one"),
    ]


def test_an_l_target_without_sensitive_attributes() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["recordSet"][0]["privetl:privacy"] = {"quasi_identifiers": ["age"], "l": 2}

    assert problems(change) == [
        (f"{CUSTOMERS}.privetl:privacy.l",
         "target 'l' is measured on sensitive attributes; list them in 'sensitive'"),
    ]


def test_anatomize_with_the_sensitive_column_also_a_quasi_identifier() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["recordSet"][0]["privetl:anatomize"] = {"quasi_identifiers": ["age", "income", "town"],
                                                    "sensitive": "income", "l": 2}

    assert problems(change) == [
        (f"{CUSTOMERS}.privetl:anatomize.quasi_identifiers[2]",
         "quasi_identifiers entry names column 'town', which table 'customers' does not have "
         "(its columns: age, born, id, income, name, vip, zip)"),
        (f"{CUSTOMERS}.privetl:anatomize.sensitive",
         "the sensitive column 'income' is also a quasi-identifier; anatomization publishes them in separate "
         "tables, so remove it from quasi_identifiers"),
    ]


def test_anatomize_output_names_must_be_free() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["recordSet"][1]["name"] = "customers_st"
        doc["recordSet"][0]["privetl:anatomize"] = {"quasi_identifiers": ["age"], "sensitive": "income", "l": 2}

    found = problems(change)
    assert (f"{CUSTOMERS}.privetl:anatomize",
            "anatomizing 'customers' publishes table 'customers_st', which is already a table of this module") in found


def test_seeded_operations_on_a_table_without_a_primary_key_are_allowed() -> None:
    def change(doc: dict[str, Any]) -> None:
        del doc["recordSet"][0]["key"]
        del doc["recordSet"][0]["privetl:primaryKeyConflict"]
        field(doc, 0, 6)["privetl:anonymize"] = {"op": "perturb", "distribution": "gaussian", "scale": 5}
        field(doc, 0, 3)["privetl:anonymize"] = {"op": "permute"}
        field(doc, 1, 0)["privetl:anonymize"] = {"op": "permute", "within": ["name"]}
        field(doc, 1, 1)["references"] = {"field": {"@id": "customers/age"}}

    assert problems(change) == []


def test_transformation_targets_must_be_tables() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["privetl:transformations"] = [
            {"name": "t1", "type": "update", "target": "invoices", "sql": "SELECT * FROM orders"},
            {"name": "t1", "type": "merge", "target": "orders", "sql": "SELECT * FROM orders"},
        ]

    assert problems(change) == [
        ("$.privetl:transformations[0].target",
         "transformation target 'invoices' is not a table of this module (tables: customers, orders); declare its "
         "record set so its columns and types are known"),
        ("$.privetl:transformations[1].name", "duplicate transformation name 't1'"),
    ]


def test_json_ld_types_are_checked() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["@type"] = "Dataset"
        del doc["@context"]
        del field(doc, 0, 0)["@type"]

    assert problems(change) == [
        ("$.@context", 'the JSON-LD "@context" object is missing (copy it from docs/data-module.md)'),
        ("$.@type", '"@type" must be "sc:Dataset", not "Dataset"'),
        (f"{CUSTOMERS}.field[0].@type", '"@type" must be "cr:Field", not null'),
    ]


def test_every_mistake_is_reported_at_once() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 1)["privetl:range"] = {"min": 1, "on_violation": "drop"}
        field(doc, 0, 2)["privetl:empty"] = {"strategy": "fill"}
        field(doc, 1, 1)["references"] = {"field": {"@id": "clients/id"}}
        doc["privetl:collectionProtocol"][0]["source"]["format"] = "xml"

    assert [path for path, _ in problems(change)] == [
        "$.privetl:collectionProtocol[0].source.format",
        f"{CUSTOMERS}.field[1].privetl:range",
        f"{CUSTOMERS}.field[2].privetl:empty",
        f"{ORDERS}.field[1].references.field.@id",
    ]


def test_bounds_of_different_kinds_on_an_unknown_type_do_not_break_validation() -> None:
    def change(doc: dict[str, Any]) -> None:
        field(doc, 0, 2)["dataType"] = "sc:Number"
        field(doc, 0, 2)["privetl:range"] = {"min": 1, "max": "2020-01-01", "on_violation": "drop"}

    assert problems(change) == [
        (f"{CUSTOMERS}.field[2].dataType",
         'unsupported dataType "sc:Number"; use one of sc:Integer, sc:Float, sc:Text, sc:Boolean, sc:Date, sc:DateTime'),
    ]


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=5),
              st.sampled_from(["customers/id", "orders", "sc:Integer", "fill", "generalize", "2020-01-01"])),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)),
    max_leaves=6,
)


def _containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, dict | list):
        out.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, out)
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_validation_never_breaks_on_a_damaged_document(data: st.DataObject) -> None:
    """Any part of a document may be anything: every mistake is a Problem, never an exception."""
    doc = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 4))):
        containers = [c for c in _containers(doc, []) if c and c is not doc["@context"]]
        target = data.draw(st.sampled_from(containers))
        if isinstance(target, dict):
            key = data.draw(st.sampled_from(sorted(target)))
            target[key] = data.draw(JSON_VALUES)
        else:
            target[data.draw(st.integers(0, len(target) - 1))] = data.draw(JSON_VALUES)
    found = validate_document(doc)
    assert all(p.path.startswith("$") and p.message for p in found)
    try:
        parse_document(doc)
    except MetadataError as exc:
        assert exc.problems
    else:
        assert not [p for p in found if "unknown key" in p.message or "required key" in p.message]


def test_a_regenerated_key_cannot_have_a_maximum() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["recordSet"][0]["privetl:primaryKeyConflict"] = "regenerate"
        field(doc, 0, 0)["privetl:range"] = {"min": 0, "max": 6, "on_violation": "clamp"}

    assert problems(change) == [
        (
            f"{CUSTOMERS}.field[0].privetl:range",
            "key 'id' is regenerated on conflict (new keys above the largest one), so it cannot also "
            "have a maximum: drop the range's max or choose another on_conflict",
        )
    ]

    def min_only(doc: dict[str, Any]) -> None:
        doc["recordSet"][0]["privetl:primaryKeyConflict"] = "regenerate"
        field(doc, 0, 0)["privetl:range"] = {"min": 0, "on_violation": "drop"}

    assert problems(min_only) == []


def test_foreign_key_options_are_checked_where_they_are() -> None:
    def options(value: Any) -> Callable[[dict[str, Any]], Any]:
        return lambda d: field(d, 1, 1)["references"].update({"privetl:foreignKey": value})

    ref = f"{ORDERS}.field[1].references"
    assert problems(options({"allow_empty": False})) == []
    assert problems(options({"allow_empty": "maybe"})) == [
        (f"{ref}.privetl:foreignKey.allow_empty", "Input should be a valid boolean, unable to interpret input (got \"maybe\")"),
    ]
    assert problems(options({"nullable": True})) == [
        (f"{ref}.privetl:foreignKey.nullable", "unknown key 'nullable' in privetl:foreignKey (options: allow_empty)"),
    ]
    assert problems(options(False)) == [
        (f"{ref}.privetl:foreignKey", '"privetl:foreignKey" is an object such as {"allow_empty": false}, not a boolean'),
    ]
    assert problems(lambda d: d["privetl:collectionProtocol"][0].update({"allow_empty": "yes please"})) == [
        ("$.privetl:collectionProtocol[0].allow_empty",
         "Input should be a valid boolean, unable to interpret input (got \"yes please\")"),
    ]


def test_csv_options_absent_columns_and_names_as_real_data_has_them() -> None:
    def script(**fields: Any) -> Callable[[dict[str, Any]], Any]:
        return lambda d: d["privetl:collectionProtocol"][1].update(fields)

    def source(**fields: Any) -> Callable[[dict[str, Any]], Any]:
        return lambda d: d["privetl:collectionProtocol"][1]["source"].update(fields)

    shop = "$.privetl:collectionProtocol[1]"
    assert problems(source(csv={"delimiter": ";", "quote": "'", "encoding": "latin-1", "header": False})) == []
    assert problems(script(absent=["name"])) == []
    assert problems(source(csv={"delimiter": ";;"})) == [
        (f"{shop}.source.csv.delimiter", 'String should have at most 1 character (got ";;")'),
    ]
    assert problems(source(csv={"encoding": "klingon"})) == [
        (f"{shop}.source.csv.encoding", "unknown encoding 'klingon' (e.g. utf-8, latin-1, cp1252)"),
    ]
    assert problems(source(format="jsonl", csv={"delimiter": ";"})) == [
        (f"{shop}.source.csv", "CSV options apply to format 'csv', not 'jsonl'"),
    ]
    assert problems(script(absent=["nope"])) == [
        (f"{shop}.absent[0]", "absent names column 'nope', which table 'orders' does not have (its columns: customer, id, name)"),
    ]
    assert problems(script(absent=["name"], mapping={"name": "title"})) == [
        (f"{shop}.absent[0]", "column 'name' is both mapped and declared absent; keep one"),
    ]
    [(path, message)] = problems(lambda d: field(d, 1, 2).update({"name": "marital-status"}))
    assert path == f"{ORDERS}.field[2].name"
    assert message.startswith("column names are SQL identifiers")
    assert """call it 'marital_status' and map it to the source's field with "mapping": {"marital_status": "marital-status"}""" in message
