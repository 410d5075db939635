"""Merge of several sources, primary-key strategies, foreign keys in dependency order (DuckDB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from privetl.engine.clean import RuleCount, clean_tables
from privetl.engine.clean.keys import dependency_order
from privetl.engine.errors import EngineError
from tests.engine.clean.staged import module, rows, stage

PEOPLE = [{"name": "id", "type": "integer"}, {"name": "name", "type": "string"}, {"name": "age", "type": "integer"}]


def _two_sources(tmp_path: Path) -> list:
    # "b" has the higher priority; key 2 is in both sources and twice in "a".
    a = stage(tmp_path, "a", "p", {"id": ["1", "2", "2", "3"], "name": ["ann", "bob-a1", "bob-a2", ""], "age": ["30", "", "41", "50"]}, priority=1)
    b = stage(tmp_path, "b", "p", {"id": ["2", "3"], "name": ["bob-b", "cy-b"], "age": [None, "51"]}, priority=5)
    return [a, b]


def _people(on_conflict: str, merge: str = "union") -> object:
    return module(
        [{"name": "p", "columns": PEOPLE, "primary_key": {"column": "id", "on_conflict": on_conflict}, "merge": merge}],
        scripts=[("a", "p", 1), ("b", "p", 5)],
    )


def test_union_source_priority_keeps_the_highest_priority_record(duckdb_backend, tmp_path: Path) -> None:
    result = clean_tables(duckdb_backend, _people("source_priority"), _two_sources(tmp_path))
    assert rows(duckdb_backend, result.tables["p"], order_by=["id"], drop_stage=False) == [
        {"id": 1, "name": "ann", "age": 30, "_src_id": "a", "_src_priority": 1, "_src_row": 0},
        {"id": 2, "name": "bob-b", "age": None, "_src_id": "b", "_src_priority": 5, "_src_row": 0},
        {"id": 3, "name": "cy-b", "age": 51, "_src_id": "b", "_src_priority": 5, "_src_row": 1},
    ]
    q = rows(duckdb_backend, result.quarantine, order_by=["message"])
    assert [(r["record_key"], r["rule"], r["value"]) for r in q] == [
        ("2", "primary_key_source_priority", "2"),
        ("2", "primary_key_source_priority", "2"),
        ("3", "primary_key_source_priority", "3"),
    ]
    assert [r["message"].rsplit(" ", 1)[1] for r in q] == ["a:1", "a:2", "a:3"]
    assert result.counts == [RuleCount("p", "primary_key_source_priority", "id", 3)]


def test_ties_within_one_source_keep_its_first_row(duckdb_backend, tmp_path: Path) -> None:
    a = stage(tmp_path, "a", "p", {"id": ["7", "7"], "name": ["first", "second"], "age": ["1", "2"]}, priority=1)
    result = clean_tables(duckdb_backend, _people("source_priority"), [a])
    assert rows(duckdb_backend, result.tables["p"]) == [{"id": 7, "name": "first", "age": 1}]


def test_drop_all_drops_every_record_of_a_conflicting_key(duckdb_backend, tmp_path: Path) -> None:
    result = clean_tables(duckdb_backend, _people("drop_all"), _two_sources(tmp_path))
    assert rows(duckdb_backend, result.tables["p"]) == [{"id": 1, "name": "ann", "age": 30}]
    assert result.counts == [RuleCount("p", "primary_key_drop_all", "id", 5)]


def test_regenerate_integer_keys_continue_after_the_maximum(duckdb_backend, tmp_path: Path) -> None:
    result = clean_tables(duckdb_backend, _people("regenerate"), _two_sources(tmp_path))
    assert rows(duckdb_backend, result.tables["p"], order_by=["id"]) == [
        {"id": 1, "name": "ann", "age": 30},
        {"id": 2, "name": "bob-b", "age": None},
        {"id": 3, "name": "cy-b", "age": 51},
        {"id": 4, "name": "bob-a1", "age": None},
        {"id": 5, "name": "bob-a2", "age": 41},
        {"id": 6, "name": "", "age": 50},
    ]
    q = rows(duckdb_backend, result.quarantine, order_by=["message"])
    assert [(r["value"], r["message"]) for r in q] == [
        ("2", "duplicate key: given the new key 4"),
        ("2", "duplicate key: given the new key 5"),
        ("3", "duplicate key: given the new key 6"),
    ]


def test_regenerate_string_keys_get_a_suffix(duckdb_backend, tmp_path: Path) -> None:
    mod = module(
        [{"name": "p", "columns": [{"name": "code", "type": "string"}, {"name": "v", "type": "integer"}],
          "primary_key": {"column": "code", "on_conflict": "regenerate"}}],
        scripts=[("a", "p", 0)],
    )
    a = stage(tmp_path, "a", "p", {"code": ["x", "x", "y", "x"], "v": ["1", "2", "3", "4"]})
    result = clean_tables(duckdb_backend, mod, [a])
    assert rows(duckdb_backend, result.tables["p"], order_by=["v"]) == [
        {"code": "x", "v": 1}, {"code": "x~1", "v": 2}, {"code": "y", "v": 3}, {"code": "x~2", "v": 4},
    ]


def test_empty_primary_keys_are_dropped(duckdb_backend, tmp_path: Path) -> None:
    a = stage(tmp_path, "a", "p", {"id": ["1", "", "x"], "name": ["a", "b", "c"], "age": ["1", "2", "3"]}, priority=1)
    result = clean_tables(duckdb_backend, _people("source_priority"), [a])
    assert rows(duckdb_backend, result.tables["p"]) == [{"id": 1, "name": "a", "age": 1}]
    assert result.counts == [
        RuleCount("p", "cast", "id", 1),
        RuleCount("p", "primary_key_empty", "id", 2),
    ]


def test_coalesce_takes_the_highest_priority_non_empty_value_per_column(duckdb_backend, tmp_path: Path) -> None:
    result = clean_tables(duckdb_backend, _people("source_priority", merge="coalesce"), _two_sources(tmp_path))
    assert rows(duckdb_backend, result.tables["p"], order_by=["id"], drop_stage=False) == [
        {"id": 1, "name": "ann", "age": 30, "_src_id": "a", "_src_priority": 1, "_src_row": 0},
        {"id": 2, "name": "bob-b", "age": 41, "_src_id": "b", "_src_priority": 5, "_src_row": 0},
        {"id": 3, "name": "cy-b", "age": 51, "_src_id": "b", "_src_priority": 5, "_src_row": 1},
    ]
    assert result.counts == [RuleCount("p", "merge_coalesce", "id", 3)]


def test_sources_disagreeing_on_types_and_missing_columns(duckdb_backend, tmp_path: Path) -> None:
    mod = module(
        [{"name": "p", "columns": PEOPLE}], scripts=[("a", "p", 0), ("b", "p", 0)],
    )
    a = stage(tmp_path, "a", "p", {"id": [1, 2], "name": ["x", "y"]})  # typed ids, no age
    b = stage(tmp_path, "b", "p", {"id": ["3"], "name": ["z"], "age": ["9"]})
    result = clean_tables(duckdb_backend, mod, [a, b])
    assert rows(duckdb_backend, result.tables["p"], order_by=["id"]) == [
        {"id": 1, "name": "x", "age": None}, {"id": 2, "name": "y", "age": None}, {"id": 3, "name": "z", "age": 9},
    ]


ORDERS = {
    "name": "orders",
    "columns": [{"name": "oid", "type": "integer"}, {"name": "cid", "type": "integer"}],
    "primary_key": {"column": "oid", "on_conflict": "source_priority"},
    "foreign_keys": [{"column": "cid", "references_table": "customers", "references_column": "id"}],
}
CUSTOMERS = {
    "name": "customers",
    "columns": [{"name": "id", "type": "integer"}, {"name": "age", "type": "integer", "range": {"max": 100, "on_violation": "drop"}}],
    "primary_key": {"column": "id", "on_conflict": "regenerate"},
}


def test_foreign_keys_check_the_referenced_table_after_its_cleaning(duckdb_backend, tmp_path: Path) -> None:
    # orders is declared first, but customers is cleaned first; customer 2 is dropped by
    # its range rule, so order 11 dangles; order 13 has no customer; a null FK is kept.
    mod = module([ORDERS, CUSTOMERS])
    staged = [
        stage(tmp_path, "s_orders", "orders", {"oid": ["10", "11", "12", "13", "14"], "cid": ["1", "2", "3", "99", None]}),
        stage(tmp_path, "s_customers", "customers", {"id": ["1", "2", "3", "3"], "age": ["20", "200", "30", "31"]}),
    ]
    result = clean_tables(duckdb_backend, mod, staged)
    assert list(result.tables) == ["customers", "orders"]
    assert rows(duckdb_backend, result.tables["customers"], order_by=["id"]) == [
        {"id": 1, "age": 20}, {"id": 3, "age": 30}, {"id": 4, "age": 31},
    ]
    # order 12 points at key 3, which stays with the record that kept the original key
    assert rows(duckdb_backend, result.tables["orders"], order_by=["oid"]) == [
        {"oid": 10, "cid": 1}, {"oid": 12, "cid": 3}, {"oid": 14, "cid": None},
    ]
    q = rows(duckdb_backend, result.quarantine.filter(result.quarantine.rule == "foreign_key"), order_by=["record_key"])
    assert q == [
        {"record_key": "11", "table": "orders", "column": "cid", "rule": "foreign_key", "value": "2",
         "message": "no such customers.id: record dropped"},
        {"record_key": "13", "table": "orders", "column": "cid", "rule": "foreign_key", "value": "99",
         "message": "no such customers.id: record dropped"},
    ]


def test_dependency_order_and_cycles() -> None:
    mod = module([ORDERS, CUSTOMERS])
    assert [t.name for t in dependency_order(mod)] == ["customers", "orders"]
    looped = dict(CUSTOMERS, foreign_keys=[{"column": "age", "references_table": "orders", "references_column": "oid"}])
    with pytest.raises(EngineError, match="foreign keys form a cycle: .*customers.*orders"):
        dependency_order(module([ORDERS, looped]))


def test_a_foreign_key_equal_to_a_regenerated_key_is_dangling(duckdb_backend, tmp_path: Path) -> None:
    # customer 3 is staged twice: the second record becomes 4. Order 13 holds 4, which no
    # source ever gave a customer: it meant no record, so it dangles and is dropped.
    mod = module([ORDERS, CUSTOMERS])
    staged = [
        stage(tmp_path, "s_orders", "orders", {"oid": ["12", "13"], "cid": ["3", "4"]}),
        stage(tmp_path, "s_customers", "customers", {"id": ["1", "3", "3"], "age": ["20", "30", "31"]}),
    ]
    result = clean_tables(duckdb_backend, mod, staged)
    assert rows(duckdb_backend, result.tables["customers"], order_by=["id"]) == [
        {"id": 1, "age": 20}, {"id": 3, "age": 30}, {"id": 4, "age": 31},
    ]
    assert rows(duckdb_backend, result.tables["orders"]) == [{"oid": 12, "cid": 3}]
    assert RuleCount("orders", "foreign_key", "cid", 1) in result.counts


@pytest.mark.spark
def test_regenerate_on_spark(spark_backend, tmp_path: Path) -> None:
    # Spark stores the stage's int64 priority as int32: the renamed records must still union
    result = clean_tables(spark_backend, _people("regenerate"), _two_sources(tmp_path))
    assert [r["id"] for r in rows(spark_backend, result.tables["p"], order_by=["id"])] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_a_key_value_that_failed_its_cast_removes_its_record(engine: str, request, tmp_path: Path) -> None:
    # cid "garbage" would be cast to null and escape the foreign key; oid "x" would be filled
    # with 0 by the key's empty rule. Both records go, each quarantined once by its key rule.
    backend = request.getfixturevalue(f"{engine}_backend")
    orders = dict(ORDERS, columns=[
        {"name": "oid", "type": "integer", "empty": {"strategy": "fill", "value": 0}},
        {"name": "cid", "type": "integer"},
    ])
    mod = module([orders, CUSTOMERS])
    staged = [
        stage(tmp_path, f"o_{engine}", "orders", {"oid": ["10", "11", "x", "13"], "cid": ["1", "garbage", "1", None]}),
        stage(tmp_path, f"c_{engine}", "customers", {"id": ["1"], "age": ["20"]}),
    ]
    result = clean_tables(backend, mod, staged)
    assert rows(backend, result.tables["orders"], order_by=["oid"]) == [{"oid": 10, "cid": 1}, {"oid": 13, "cid": None}]
    q = rows(backend, result.quarantine.filter(result.quarantine.table == "orders"), order_by=["rule", "column"])
    assert [(r["record_key"], r["column"], r["rule"], r["value"], r["message"]) for r in q] == [
        ("11", "cid", "cast", "garbage", "not a valid integer: record dropped by rule foreign_key"),
        (f"o_{engine}:2", "oid", "cast", "x", "not a valid integer: record dropped by rule primary_key_empty"),
        ("11", "cid", "foreign_key", "garbage",
         "cid garbage is not a valid integer (failed cast), so the foreign key cid -> customers.id cannot be checked: record dropped"),
        (f"o_{engine}:2", "oid", "primary_key_empty", "x",
         "oid x is not a valid integer (failed cast), so the primary key oid would be empty: record dropped"),
    ]


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_an_empty_foreign_key_is_kept_unless_the_key_disallows_it(engine: str, request, tmp_path: Path) -> None:
    backend = request.getfixturevalue(f"{engine}_backend")
    strict = dict(ORDERS, foreign_keys=[dict(ORDERS["foreign_keys"][0], allow_empty=False)])
    staged = [
        stage(tmp_path, f"o_{engine}", "orders", {"oid": ["10", "11", "12"], "cid": ["1", None, " "]}),
        stage(tmp_path, f"c_{engine}", "customers", {"id": ["1"], "age": ["20"]}),
    ]
    kept = clean_tables(backend, module([ORDERS, CUSTOMERS]), staged)
    assert rows(backend, kept.tables["orders"], order_by=["oid"]) == [
        {"oid": 10, "cid": 1}, {"oid": 11, "cid": None}, {"oid": 12, "cid": None},
    ]
    result = clean_tables(backend, module([strict, CUSTOMERS]), staged)
    assert rows(backend, result.tables["orders"]) == [{"oid": 10, "cid": 1}]
    q = rows(backend, result.quarantine, order_by=["record_key"])
    assert [(r["record_key"], r["column"], r["rule"], r["value"], r["message"]) for r in q] == [
        (key, "cid", "foreign_key_empty", None,
         "foreign key is empty (no customers.id), and it does not allow empty values: record dropped")
        for key in ("11", "12")
    ]
    assert RuleCount("orders", "foreign_key_empty", "cid", 2) in result.counts
