"""Typing, empty and range rules, with exact outputs and quarantine rows (DuckDB)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from privetl.engine.clean import RuleCount, clean_tables
from privetl.engine.metadata import ColumnType
from tests.engine.clean.staged import module, rows, stage


def test_typing_casts_every_type_and_quarantines_failures(duckdb_backend, tmp_path: Path) -> None:
    mod = module(
        [
            {
                "name": "t",
                "columns": [
                    {"name": "i", "type": "integer"},
                    {"name": "d", "type": "double"},
                    {"name": "b", "type": "boolean"},
                    {"name": "day", "type": "date"},
                    {"name": "ts", "type": "datetime"},
                    {"name": "s", "type": "string"},
                ],
            }
        ]
    )
    staged = stage(
        tmp_path, "s_t", "t",
        {
            "i": [" 12", "1.5", "x", ""],
            "d": ["1.5", "1e2", "abc", None],
            "b": ["Yes", "0", "maybe", "TRUE"],
            "day": ["2024-02-29", "2023-02-30", "2024-1-1", " "],
            "ts": ["2024-01-02T03:04:05", "2024-01-02 03:04", "2024-01-02Z", "noon"],
            "s": [" a ", "", None, "z"],
        },
    )
    result = clean_tables(duckdb_backend, mod, [staged])
    assert rows(duckdb_backend, result.tables["t"], order_by=["s"]) == sorted(
        [
            {"i": 12, "d": 1.5, "b": True, "day": dt.date(2024, 2, 29), "ts": dt.datetime(2024, 1, 2, 3, 4, 5), "s": " a "},
            {"i": None, "d": 100.0, "b": False, "day": None, "ts": dt.datetime(2024, 1, 2, 3, 4), "s": ""},
            {"i": None, "d": None, "b": None, "day": None, "ts": dt.datetime(2024, 1, 2), "s": None},
            {"i": None, "d": None, "b": True, "day": None, "ts": None, "s": "z"},
        ],
        key=lambda r: (r["s"] is None, str(r["s"])),
    )
    q = rows(duckdb_backend, result.quarantine, order_by=["column", "value"])
    assert [(r["column"], r["rule"], r["value"], r["record_key"]) for r in q] == [
        ("b", "cast", "maybe", "s_t:2"),
        ("d", "cast", "abc", "s_t:2"),
        ("day", "cast", "2023-02-30", "s_t:1"),
        ("day", "cast", "2024-1-1", "s_t:2"),
        ("i", "cast", "1.5", "s_t:1"),
        ("i", "cast", "x", "s_t:2"),
        ("ts", "cast", "noon", "s_t:3"),
    ]
    assert all(r["table"] == "t" and r["message"].startswith("not a valid") for r in q)
    assert result.counts == [
        RuleCount("t", "cast", "b", 1),
        RuleCount("t", "cast", "d", 1),
        RuleCount("t", "cast", "day", 2),
        RuleCount("t", "cast", "i", 2),
        RuleCount("t", "cast", "ts", 1),
    ]


def test_empty_rules_pass_fill_drop(duckdb_backend, tmp_path: Path) -> None:
    mod = module(
        [
            {
                "name": "t",
                "columns": [
                    {"name": "id", "type": "integer"},
                    {"name": "n", "type": "integer", "empty": {"strategy": "fill", "value": 0}},
                    {"name": "s", "type": "string", "empty": {"strategy": "drop"}},
                    {"name": "p", "type": "string"},
                ],
            }
        ]
    )
    staged = stage(
        tmp_path, "s_t", "t",
        {"id": ["1", "2", "3", "4"], "n": ["5", "", "bad", None], "s": ["a", "  ", "c", "d"], "p": ["", None, " ", "x"]},
    )
    result = clean_tables(duckdb_backend, mod, [staged])
    assert rows(duckdb_backend, result.tables["t"], order_by=["id"]) == [
        {"id": 1, "n": 5, "s": "a", "p": ""},
        {"id": 3, "n": 0, "s": "c", "p": " "},
        {"id": 4, "n": 0, "s": "d", "p": "x"},
    ]
    q = rows(duckdb_backend, result.quarantine, order_by=["rule", "record_key"])
    assert [(r["record_key"], r["column"], r["rule"], r["value"]) for r in q] == [
        ("s_t:2", "n", "cast", "bad"),
        ("s_t:1", "s", "empty_drop", "  "),
        ("s_t:1", "n", "empty_fill", None),
        ("s_t:2", "n", "empty_fill", None),
        ("s_t:3", "n", "empty_fill", None),
    ]
    assert {(c.rule, c.column, c.rows_affected) for c in result.counts} == {
        ("cast", "n", 1), ("empty_fill", "n", 3), ("empty_drop", "s", 1),
    }


def test_ranges_clamp_and_drop_numbers_and_dates(duckdb_backend, tmp_path: Path) -> None:
    mod = module(
        [
            {
                "name": "t",
                "columns": [
                    {"name": "id", "type": "integer"},
                    {"name": "age", "type": "integer", "range": {"min": 0, "max": 120, "on_violation": "clamp"}},
                    {"name": "score", "type": "double", "range": {"min": 0.5, "on_violation": "drop"}},
                    {"name": "day", "type": "date", "range": {"max": "2024-12-31", "on_violation": "clamp"}},
                ],
            }
        ]
    )
    staged = stage(
        tmp_path, "s_t", "t",
        {
            "id": ["1", "2", "3", "4"],
            "age": ["-3", "130", "40", None],
            "score": ["0.5", "0.75", "0.25", None],
            "day": ["2025-06-01", "2024-12-31", "2020-01-01", "2030-01-01"],
        },
    )
    result = clean_tables(duckdb_backend, mod, [staged])
    assert rows(duckdb_backend, result.tables["t"], order_by=["id"]) == [
        {"id": 1, "age": 0, "score": 0.5, "day": dt.date(2024, 12, 31)},
        {"id": 2, "age": 120, "score": 0.75, "day": dt.date(2024, 12, 31)},
        {"id": 4, "age": None, "score": None, "day": dt.date(2024, 12, 31)},
    ]
    q = rows(duckdb_backend, result.quarantine, order_by=["rule", "column", "record_key"])
    assert [(r["record_key"], r["column"], r["rule"], r["value"]) for r in q] == [
        ("s_t:0", "age", "range_clamp", "-3"),
        ("s_t:1", "age", "range_clamp", "130"),
        ("s_t:0", "day", "range_clamp", "2025-06-01"),
        ("s_t:3", "day", "range_clamp", "2030-01-01"),
        ("s_t:2", "score", "range_drop", "0.25"),
    ]


def test_a_table_without_staged_rows_is_empty_with_its_columns(duckdb_backend, tmp_path: Path) -> None:
    mod = module([{"name": "t", "columns": [{"name": "a", "type": "integer"}]}])
    result = clean_tables(duckdb_backend, mod, [])
    assert result.tables["t"].columns == ("a", "_src_id", "_src_priority", "_src_row")
    assert duckdb_backend.count(result.tables["t"]) == 0
    assert duckdb_backend.count(result.quarantine) == 0 and result.counts == []


def test_a_double_that_overflows_to_infinity_is_a_failed_cast(duckdb_backend, tmp_path: Path) -> None:
    mod = module([{"name": "t", "columns": [{"name": "d", "type": "double"}]}])
    staged = stage(tmp_path, "s_t", "t", {"d": ["1e400", "-1e400", "2.5e3"]})
    result = clean_tables(duckdb_backend, mod, [staged])
    assert sorted(rows(duckdb_backend, result.tables["t"], order_by=["d"]), key=repr) == sorted(
        [{"d": 2500.0}, {"d": None}, {"d": None}], key=repr
    )
    assert result.counts == [RuleCount("t", "cast", "d", 2)]


def test_typed_sources_are_cast_natively_and_only_a_lossy_cast_can_fail(duckdb_backend, tmp_path: Path) -> None:
    import pyarrow as pa

    from privetl.engine.clean.typing import type_column

    mod = module([{"name": "n", "columns": [
        {"name": "small", "type": "integer"}, {"name": "big", "type": "integer"}, {"name": "ratio", "type": "double"},
    ]}])
    staged = stage(tmp_path, "s_n", "n", {
        "small": pa.array([1, 2], pa.int32()),
        "big": pa.array([7, 2**64 - 1], pa.uint64()),
        "ratio": pa.array([1, 2], pa.int16()),
    })
    result = clean_tables(duckdb_backend, mod, [staged])
    assert rows(duckdb_backend, result.tables["n"], order_by=["small"]) == [
        {"small": 1, "big": 7, "ratio": 1.0}, {"small": 2, "big": None, "ratio": 2.0},
    ]
    assert [(r["column"], r["rule"], r["value"]) for r in rows(duckdb_backend, result.quarantine)] == [
        ("big", "cast", str(2**64 - 1)),
    ]
    # no failure is computed for a cast that cannot fail
    raw = duckdb_backend.read_parquet(staged.paths, name="typed_natively")
    assert [type_column(raw[c], ColumnType(t)).can_fail for c, t in (("small", "integer"), ("big", "integer"), ("ratio", "double"))] == [False, True, False]


BLANKS = ["", " ", "\t", "\n \r", "\x0b\x0c", "   \t"]
NOT_BLANK = [" a", "a ", "\x01", "\x01 ", "!", " !", "\u00a0", "é", "  x  ", "0"]


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_only_null_empty_and_whitespace_strings_are_empty(engine: str, request, tmp_path: Path) -> None:
    """The cheap pre-check before ``strip`` must not change which strings are empty."""
    backend = request.getfixturevalue(f"{engine}_backend")
    values = BLANKS + NOT_BLANK + [None]
    mod = module(
        [{"name": "t", "columns": [
            {"name": "id", "type": "integer"},
            {"name": "s", "type": "string", "empty": {"strategy": "fill", "value": "EMPTY"}},
        ]}]
    )
    staged = stage(tmp_path, f"s_{engine}", "t", {"id": [str(i) for i in range(len(values))], "s": values})
    result = clean_tables(backend, mod, [staged])
    got = {r["id"]: r["s"] for r in rows(backend, result.tables["t"], order_by=["id"])}
    assert got == {i: ("EMPTY" if v is None or v in BLANKS else v) for i, v in enumerate(values)}


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_text_is_parsed_with_surrounding_whitespace_ignored(engine: str, request, tmp_path: Path) -> None:
    """Only ASCII whitespace at either end is stripped before parsing, whatever the pre-check."""
    backend = request.getfixturevalue(f"{engine}_backend")
    values = ["12", " 12", "12 ", "\t12\n", "\r\n 12 \x0b\x0c", "1 2", "\x0112", "12\x01", "\u00a012", "-7 "]
    mod = module([{"name": "t", "columns": [{"name": "k", "type": "integer"}, {"name": "n", "type": "integer"}]}])
    staged = stage(tmp_path, f"w_{engine}", "t", {"k": [str(i) for i in range(len(values))], "n": values})
    result = clean_tables(backend, mod, [staged])
    got = {r["k"]: r["n"] for r in rows(backend, result.tables["t"], order_by=["k"])}
    assert got == {0: 12, 1: 12, 2: 12, 3: 12, 4: 12, 5: None, 6: None, 7: None, 8: None, 9: -7}
    failed = {r["record_key"] for r in rows(backend, result.quarantine, order_by=["record_key"]) if r["rule"] == "cast"}
    assert failed == {f"w_{engine}:{i}" for i in (5, 6, 7, 8)}
