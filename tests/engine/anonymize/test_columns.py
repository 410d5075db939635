"""Per-column anonymization through ``anonymize_table``: exact outputs for the deterministic
rules, reference values and loose (seeded, so non-flaky) statistics for the random ones,
and one DuckDB/Spark parity test."""

from __future__ import annotations

import datetime as dtm
import math
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.engine.anonymize import SeedKey, anonymize_table
from privetl.engine.anonymize.columns import generalize, suppress
from privetl.engine.anonymize.seeded import PRIME
from privetl.engine.croissant import arrow_column_type, published_type
from privetl.engine.metadata import Column, Generalize, Suppress, Table
from tests.engine.anonymize.test_seeded import md5_key, reference_hash

KEY = SeedKey.derive(b"secret", 42)


def make_table(columns: list[dict[str, Any]], *, pk: str | None = "id") -> Table:
    return Table.model_validate(
        {
            "name": "t",
            "columns": columns,
            "primary_key": {"column": pk, "on_conflict": "drop_all"} if pk else None,
        }
    )


def anonymized(
    backend: Any,
    data: dict[str, list[Any]],
    schema: dict[str, str],
    columns: list[dict[str, Any]],
    *,
    key: SeedKey = KEY,
    pk: str | None = "id",
) -> tuple[list[dict[str, Any]], ibis.Schema]:
    """Rows (sorted by id) and schema of the single published table.

    With a primary key, the table is anonymized both ways a shuffle can run — whole records
    through the sort, and the narrow sort joined back by record (``unique_records``) — and
    the two must publish the same rows.
    """
    table = make_table(columns, pk=pk)
    out = anonymize_table(backend, ibis.memtable(data, schema=schema), table, key=key)
    assert list(out) == ["t"]
    rows = backend.con.to_pyarrow(out["t"]).to_pylist()
    if "id" in out["t"].columns:
        rows.sort(key=lambda r: r["id"])
    if pk is not None and "id" in out["t"].columns:
        narrow = anonymize_table(
            backend, ibis.memtable(data, schema=schema), table, key=key, unique_records=True
        )
        assert narrow["t"].schema() == out["t"].schema()
        assert sorted(backend.con.to_pyarrow(narrow["t"]).to_pylist(), key=lambda r: r["id"]) == rows
    return rows, out["t"].schema()


def one_column(
    backend: Any,
    type_: str,
    values: list[Any],
    op: dict[str, Any],
    *,
    sql_type: str,
    key: SeedKey = KEY,
) -> tuple[list[Any], dt.DataType]:
    """Values of column ``v`` (typed ``type_``) after ``op``, in input order."""
    rows, schema = anonymized(
        backend,
        {"id": list(range(len(values))), "v": values},
        {"id": "int64", "v": sql_type},
        [{"name": "id", "type": "integer"}, {"name": "v", "type": type_, "anonymize": op}],
        key=key,
    )
    return [r["v"] for r in rows], schema["v"]


# --- generalize -------------------------------------------------------------------------------


def test_band_on_integers_has_inclusive_bounds(duckdb_backend) -> None:
    values, type_ = one_column(
        duckdb_backend,
        "integer",
        [37, -1, 0, 9, 10, -10, -11, 40, None],
        {"op": "generalize", "band": 10},
        sql_type="int64",
    )
    assert values == ["30-39", "-10--1", "0-9", "0-9", "10-19", "-10--1", "-20--11", "40-49", None]
    assert type_.is_string()


def test_band_on_doubles_is_half_open(duckdb_backend) -> None:
    values, type_ = one_column(
        duckdb_backend,
        "double",
        [37.5, 30.0, 39.999, -0.1, 40.0, None],
        {"op": "generalize", "band": 10},
        sql_type="float64",
    )
    assert values == ["30-40", "30-40", "30-40", "-10-0", "40-50", None]
    assert type_.is_string()


def test_fractional_band(duckdb_backend) -> None:
    values, _ = one_column(
        duckdb_backend,
        "double",
        [1.74, 37.5, 0.0, -0.1, 2.0, None],
        {"op": "generalize", "band": 0.5},
        sql_type="float64",
    )
    assert values == ["1.5-2.0", "37.5-38.0", "0.0-0.5", "-0.5-0.0", "2.0-2.5", None]
    quarters, _ = one_column(
        duckdb_backend, "double", [0.3, 1.0], {"op": "generalize", "band": 0.25}, sql_type="float64"
    )
    assert quarters == ["0.25-0.5", "1.0-1.25"]


def test_fractional_band_puts_a_bound_value_in_its_own_band(duckdb_backend) -> None:
    values, _ = one_column(
        duckdb_backend, "double", [0.3, 0.7], {"op": "generalize", "band": 0.1}, sql_type="float64"
    )
    assert values == ["0.3-0.4", "0.7-0.8"]


def test_granularity_of_dates_keeps_the_date_type(duckdb_backend) -> None:
    day = dtm.date(1988, 5, 3)
    expected = {
        "year": dtm.date(1988, 1, 1),
        "month": dtm.date(1988, 5, 1),
        "day": day,
        "hour": day,  # a date has no hour: unchanged
    }
    for unit, want in expected.items():
        values, type_ = one_column(
            duckdb_backend,
            "date",
            [day, None, dtm.date(2000, 12, 31)],
            {"op": "generalize", "granularity": unit},
            sql_type="date",
        )
        assert values[:2] == [want, None], unit
        assert type_.is_date(), unit
    values, _ = one_column(
        duckdb_backend,
        "date",
        [dtm.date(2000, 12, 31)],
        {"op": "generalize", "granularity": "month"},
        sql_type="date",
    )
    assert values == [dtm.date(2000, 12, 1)]


def test_granularity_of_datetimes(duckdb_backend) -> None:
    ts = dtm.datetime(2024, 3, 5, 13, 47, 12, 123456)
    expected = {
        "year": dtm.datetime(2024, 1, 1),
        "month": dtm.datetime(2024, 3, 1),
        "day": dtm.datetime(2024, 3, 5),
        "hour": dtm.datetime(2024, 3, 5, 13),
    }
    for unit, want in expected.items():
        values, type_ = one_column(
            duckdb_backend,
            "datetime",
            [ts, None],
            {"op": "generalize", "granularity": unit},
            sql_type="timestamp",
        )
        assert values == [want, None], unit
        assert type_.is_timestamp(), unit


def test_truncate_keeps_a_prefix(duckdb_backend) -> None:
    values, type_ = one_column(
        duckdb_backend,
        "string",
        ["abcdef", "abc", "ab", "", None, "Zoë-x"],
        {"op": "generalize", "truncate": 3},
        sql_type="string",
    )
    assert values == ["abc", "abc", "ab", "", None, "Zoë"]
    assert type_.is_string()
    zips, type_ = one_column(
        duckdb_backend,
        "integer",
        [10115, 7, None],
        {"op": "generalize", "truncate": 3},
        sql_type="int64",
    )
    assert zips == ["101", "7", None]
    assert type_.is_string()
    nothing, _ = one_column(
        duckdb_backend,
        "string",
        ["abc", None],
        {"op": "generalize", "truncate": 0},
        sql_type="string",
    )
    assert nothing == ["", None]


def test_hierarchy_maps_listed_values_and_others(duckdb_backend) -> None:
    op = {
        "op": "generalize",
        "hierarchy": {"flu": "respiratory", "asthma": "respiratory", "gastritis": "digestive"},
        "other": "other",
    }
    values, type_ = one_column(
        duckdb_backend,
        "string",
        ["flu", "asthma", "gastritis", "cancer", "Flu", "", None],
        op,
        sql_type="string",
    )
    assert values == ["respiratory", "respiratory", "digestive", "other", "other", "other", None]
    assert type_.is_string()
    default, _ = one_column(
        duckdb_backend,
        "string",
        ["x", "y", None],
        {"op": "generalize", "hierarchy": {"x": "X"}},
        sql_type="string",
    )
    assert default == ["X", "*", None]
    numbers, _ = one_column(
        duckdb_backend,
        "integer",
        [1, 2, None],
        {"op": "generalize", "hierarchy": {"1": "one"}},
        sql_type="int64",
    )
    assert numbers == ["one", "*", None]


# --- suppress ---------------------------------------------------------------------------------


def test_suppress_masks_strings(duckdb_backend) -> None:
    values, _ = one_column(
        duckdb_backend, "string", ["abcdef", "a", "", None], {"op": "suppress"}, sql_type="string"
    )
    assert values == ["*", "*", "*", None]
    kept, type_ = one_column(
        duckdb_backend,
        "string",
        ["abcdef", "ab", "a", "", None],
        {"op": "suppress", "keep": 2, "mask": "***"},
        sql_type="string",
    )
    assert kept == ["ab***", "ab***", "a***", "***", None]
    assert type_.is_string()


@pytest.mark.parametrize(
    ("type_", "sql_type", "values"),
    [
        ("integer", "int64", [1, None, -5]),
        ("double", "float64", [1.5, None]),
        ("date", "date", [dtm.date(2020, 1, 1)]),
        ("boolean", "boolean", [True, False]),
    ],
)
def test_suppress_nulls_other_types_and_keeps_the_type(
    duckdb_backend, type_: str, sql_type: str, values: list[Any]
) -> None:
    out, out_type = one_column(
        duckdb_backend, type_, values, {"op": "suppress", "keep": 2}, sql_type=sql_type
    )
    assert out == [None] * len(values)
    assert out_type == dt.dtype(sql_type)


def test_column_functions_directly(duckdb_backend) -> None:
    t = ibis.memtable(
        {"s": ["abcdef", None], "n": [37, None]}, schema={"s": "string", "n": "int64"}
    )
    s_col = Column(name="s", type="string")
    n_col = Column(name="n", type="integer")
    expr = t.select(
        masked=suppress(t.s, s_col, Suppress(keep=1, mask="#")),
        short=generalize(t.s, s_col, Generalize(truncate=2)),
        band=generalize(t.n, n_col, Generalize(band=5)),
    )
    assert duckdb_backend.con.to_pyarrow(expr).to_pylist() == [
        {"masked": "a#", "short": "ab", "band": "35-39"},
        {"masked": None, "short": None, "band": None},
    ]


# --- perturb ----------------------------------------------------------------------------------


def _u(key: SeedKey, record: int, *purpose: str) -> float:
    return (reference_hash(key, record, *purpose) + 0.5) / PRIME


def reference_laplace(key: SeedKey, record: int, column: str, scale: float) -> float:
    u = _u(key, record, column, "perturb", "u1")
    centred = u - 0.5
    sign = -1.0 if centred < 0 else 1.0
    return -scale * sign * math.log(1.0 - 2.0 * abs(centred))


def reference_gaussian(key: SeedKey, record: int, column: str, scale: float) -> float:
    u1 = _u(key, record, column, "perturb", "u1")
    u2 = _u(key, record, column, "perturb", "u2")
    return scale * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def _noise(
    backend: Any, n: int, op: dict[str, Any], *, key: SeedKey = KEY, base: float = 0.0
) -> list[float]:
    values, _ = one_column(
        backend, "double", [base] * n, {"op": "perturb", **op}, sql_type="float64", key=key
    )
    return [v - base for v in values]


def test_laplace_noise_matches_the_reference_and_its_distribution(duckdb_backend) -> None:
    n = 5000
    noise = _noise(duckdb_backend, n, {"distribution": "laplace", "scale": 2})
    for record in range(0, n, 97):
        assert math.isclose(
            noise[record], reference_laplace(KEY, record, "v", 2.0), rel_tol=1e-9, abs_tol=1e-12
        )
    assert abs(statistics.fmean(noise)) < 0.2
    assert statistics.fmean(abs(x) for x in noise) == pytest.approx(2.0, abs=0.15)
    assert statistics.median(abs(x) for x in noise) == pytest.approx(2.0 * math.log(2), abs=0.15)
    assert 0.4 < sum(x > 0 for x in noise) / n < 0.6


def test_gaussian_noise_matches_the_reference_and_its_distribution(duckdb_backend) -> None:
    n = 5000
    noise = _noise(duckdb_backend, n, {"distribution": "gaussian", "scale": 3})
    for record in range(0, n, 97):
        assert math.isclose(
            noise[record], reference_gaussian(KEY, record, "v", 3.0), rel_tol=1e-9, abs_tol=1e-12
        )
    assert abs(statistics.fmean(noise)) < 0.25
    assert statistics.pstdev(noise) == pytest.approx(3.0, rel=0.05)
    assert sum(abs(x) < 3.0 for x in noise) / n == pytest.approx(0.6827, abs=0.03)


def test_perturb_is_deterministic_per_key(duckdb_backend) -> None:
    op = {"distribution": "laplace", "scale": 1}
    first = _noise(duckdb_backend, 200, op)
    assert _noise(duckdb_backend, 200, op, key=SeedKey.derive(b"secret", 42)) == first
    other_seed = _noise(duckdb_backend, 200, op, key=SeedKey.derive(b"secret", 43))
    other_secret = _noise(duckdb_backend, 200, op, key=SeedKey.derive(b"other", 42))
    assert sum(a != b for a, b in zip(first, other_seed, strict=True)) > 190
    assert sum(a != b for a, b in zip(first, other_secret, strict=True)) > 190


def test_perturb_noise_is_per_column(duckdb_backend) -> None:
    rows, _ = anonymized(
        duckdb_backend,
        {"id": list(range(50)), "a": [0.0] * 50, "b": [0.0] * 50},
        {"id": "int64", "a": "float64", "b": "float64"},
        [
            {"name": "id", "type": "integer"},
            {
                "name": "a",
                "type": "double",
                "anonymize": {"op": "perturb", "distribution": "laplace", "scale": 1},
            },
            {
                "name": "b",
                "type": "double",
                "anonymize": {"op": "perturb", "distribution": "laplace", "scale": 1},
            },
        ],
    )
    assert sum(r["a"] != r["b"] for r in rows) == 50


def test_perturb_rounds(duckdb_backend) -> None:
    values, type_ = one_column(
        duckdb_backend,
        "double",
        [10.0] * 300 + [None],
        {"op": "perturb", "distribution": "gaussian", "scale": 5, "round": 2},
        sql_type="float64",
    )
    assert values[-1] is None
    assert type_.is_float64()
    assert all(v == round(v, 2) for v in values[:-1])
    assert any(v != round(v, 1) for v in values[:-1])
    for record in range(0, 300, 37):
        assert values[record] == pytest.approx(
            10.0 + reference_gaussian(KEY, record, "v", 5.0), abs=0.005 + 1e-9
        )


def test_perturb_integer_with_round_0_stays_integer(duckdb_backend) -> None:
    values, type_ = one_column(
        duckdb_backend,
        "integer",
        [100] * 200 + [None],
        {"op": "perturb", "distribution": "laplace", "scale": 3, "round": 0},
        sql_type="int64",
    )
    assert type_.is_integer()
    assert values[-1] is None
    assert all(isinstance(v, int) for v in values[:-1])
    assert len(set(values[:-1])) > 5
    for record in range(0, 200, 23):
        assert values[record] == round(100 + reference_laplace(KEY, record, "v", 3.0))


def test_perturb_integer_without_round_publishes_doubles(duckdb_backend) -> None:
    values, type_ = one_column(
        duckdb_backend,
        "integer",
        [100, None],
        {"op": "perturb", "distribution": "laplace", "scale": 3},
        sql_type="int64",
    )
    assert type_.is_float64()
    assert values[1] is None
    assert values[0] == pytest.approx(100 + reference_laplace(KEY, 0, "v", 3.0), rel=1e-12)


def test_perturb_keeps_nulls(duckdb_backend) -> None:
    values, _ = one_column(
        duckdb_backend,
        "double",
        [None, 1.0, None],
        {"op": "perturb", "distribution": "gaussian", "scale": 1},
        sql_type="float64",
    )
    assert values[0] is None and values[2] is None and values[1] is not None


def test_a_rule_on_the_key_column_does_not_change_the_others_randomness(duckdb_backend) -> None:
    data = {"name": ["ann", "bob", "cy"], "x": [1.0, 2.0, 3.0]}
    schema = {"name": "string", "x": "float64"}
    noise = {
        "name": "x",
        "type": "double",
        "anonymize": {"op": "perturb", "distribution": "laplace", "scale": 1},
    }
    plain, _ = anonymized(
        duckdb_backend, data, schema, [{"name": "name", "type": "string"}, noise], pk="name"
    )
    masked, _ = anonymized(
        duckdb_backend,
        data,
        schema,
        [{"name": "name", "type": "string", "anonymize": {"op": "suppress"}}, noise],
        pk="name",
    )
    assert [r["name"] for r in masked] == ["*", "*", "*"]
    assert sorted(r["x"] for r in masked) == sorted(r["x"] for r in plain)
    expected = sorted(
        x + reference_laplace(KEY, md5_key(name), "x", 1.0)
        for name, x in zip(data["name"], data["x"], strict=True)
    )
    assert [r["x"] for r in sorted(masked, key=lambda r: r["x"])] == pytest.approx(
        expected, rel=1e-12
    )


# --- permute ----------------------------------------------------------------------------------


def reference_permutation(
    key: SeedKey, column: str, records: list[tuple[Any, int, Any]]
) -> dict[int, Any]:
    """(group, record key, value) -> {record key: new value}: cyclic shift in keyed-hash order."""
    groups: dict[Any, list[tuple[int, Any]]] = defaultdict(list)
    for group, record, value in records:
        groups[group].append((record, value))
    out: dict[int, Any] = {}
    for members in groups.values():
        members.sort(key=lambda m: (reference_hash(key, m[0], column, "permute"), m[0]))
        for i, (record, _) in enumerate(members):
            out[record] = members[(i + 1) % len(members)][1]
    return out


GROUPS = ["a"] * 5 + ["b"] * 4 + ["c"] * 2 + ["d"] + [None] * 3


def _permuted(
    backend: Any,
    values: list[Any],
    *,
    within: list[str],
    key: SeedKey = KEY,
    groups: list[Any] = GROUPS,
) -> list[dict[str, Any]]:
    n = len(values)
    rows, _ = anonymized(
        backend,
        {"id": list(range(100, 100 + n)), "g": groups[:n], "v": values},
        {"id": "int64", "g": "string", "v": "string"},
        [
            {"name": "id", "type": "integer"},
            {"name": "g", "type": "string"},
            {"name": "v", "type": "string", "anonymize": {"op": "permute", "within": within}},
        ],
        key=key,
    )
    return rows


def test_permute_within_groups(duckdb_backend) -> None:
    values = [f"v{i}" for i in range(len(GROUPS))]
    rows = _permuted(duckdb_backend, values, within=["g"])
    original = {100 + i: v for i, v in enumerate(values)}
    by_group_in: dict[Any, Counter[str]] = defaultdict(Counter)
    by_group_out: dict[Any, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_group_in[r["g"]][original[r["id"]]] += 1
        by_group_out[r["g"]][r["v"]] += 1
    assert by_group_out == by_group_in
    for r in rows:
        if r["g"] == "d":
            assert r["v"] == original[r["id"]]  # a group of one keeps its value
        else:
            assert r["v"] != original[r["id"]]  # every value moves in groups of >= 2
    expected = reference_permutation(
        KEY, "v", [(GROUPS[i], 100 + i, values[i]) for i in range(len(values))]
    )
    assert {r["id"]: r["v"] for r in rows} == expected
    assert (
        _permuted(duckdb_backend, values, within=["g"], key=SeedKey.derive(b"secret", 42)) == rows
    )


def test_permute_changes_with_the_seed(duckdb_backend) -> None:
    values = [f"v{i}" for i in range(40)]
    groups = ["all"] * 40
    first = _permuted(duckdb_backend, values, within=[], groups=groups)
    second = _permuted(
        duckdb_backend, values, within=[], groups=groups, key=SeedKey.derive(b"secret", 7)
    )
    assert [r["v"] for r in first] != [r["v"] for r in second]
    assert sorted(r["v"] for r in first) == sorted(values)
    assert all(r["v"] != values[r["id"] - 100] for r in first)


def test_permute_without_within_shuffles_the_whole_table(duckdb_backend) -> None:
    values = [f"v{i}" for i in range(len(GROUPS))]
    rows = _permuted(duckdb_backend, values, within=[])
    assert sorted(r["v"] for r in rows) == sorted(values)
    assert all(r["v"] != values[r["id"] - 100] for r in rows)
    expected = reference_permutation(
        KEY, "v", [(None, 100 + i, values[i]) for i in range(len(values))]
    )
    assert {r["id"]: r["v"] for r in rows} == expected
    assert [r["g"] for r in rows] == GROUPS  # other columns stay with their record


def test_permute_preserves_nulls(duckdb_backend) -> None:
    values = ["x", None, "y", None, "z", "w", None, "u", "t", "s", "r", "q", "p", "o", None]
    rows = _permuted(duckdb_backend, values, within=["g"])
    original = {100 + i: v for i, v in enumerate(values)}
    for group in set(GROUPS):
        ids = [r["id"] for r in rows if r["g"] == group]
        assert Counter(r["v"] for r in rows if r["g"] == group) == Counter(original[i] for i in ids)
    expected = reference_permutation(
        KEY, "v", [(GROUPS[i], 100 + i, values[i]) for i in range(len(values))]
    )
    assert {r["id"]: r["v"] for r in rows} == expected


def test_permute_within_a_generalized_column_uses_published_values(duckdb_backend) -> None:
    rows, schema = anonymized(
        duckdb_backend,
        {
            "id": [1, 2, 3, 4, 5, 6],
            "zip": [10115, 10117, 20001, 20002, 20003, 30000],
            "name": ["ann", "bob", "cy", "dee", "eve", "fay"],
        },
        {"id": "int64", "zip": "int64", "name": "string"},
        [
            {"name": "id", "type": "integer"},
            {"name": "zip", "type": "integer", "anonymize": {"op": "generalize", "truncate": 3}},
            {"name": "name", "type": "string", "anonymize": {"op": "permute", "within": ["zip"]}},
        ],
    )
    assert schema["zip"].is_string()
    assert [(r["id"], r["zip"]) for r in rows] == [
        (1, "101"),
        (2, "101"),
        (3, "200"),
        (4, "200"),
        (5, "200"),
        (6, "300"),
    ]
    assert [r["name"] for r in rows[:2]] == ["bob", "ann"]  # 10115 and 10117 swap
    assert sorted(r["name"] for r in rows[2:5]) == ["cy", "dee", "eve"]
    assert all(r["name"] != n for r, n in zip(rows[2:5], ["cy", "dee", "eve"], strict=True))
    assert rows[5]["name"] == "fay"


# --- the table ----------------------------------------------------------------------------------


def test_anonymize_table_publishes_declared_columns_in_order(duckdb_backend) -> None:
    data = {
        "_src_row": [0, 1],
        "b": ["x", "y"],
        "_src_id": ["s", "s"],
        "id": [1, 2],
        "_src_priority": [0, 0],
        "a": [5, 15],
    }
    schema = {
        "_src_row": "int64",
        "b": "string",
        "_src_id": "string",
        "id": "int64",
        "_src_priority": "int64",
        "a": "int64",
    }
    rows, out_schema = anonymized(
        duckdb_backend,
        data,
        schema,
        [
            {"name": "a", "type": "integer", "anonymize": {"op": "generalize", "band": 10}},
            {"name": "id", "type": "integer"},
            {"name": "b", "type": "string"},
        ],
    )
    assert list(out_schema.names) == ["a", "id", "b"]
    assert rows == [{"a": "0-9", "id": 1, "b": "x"}, {"a": "10-19", "id": 2, "b": "y"}]


def test_anonymize_table_without_rules_is_the_identity(duckdb_backend) -> None:
    rows, _ = anonymized(
        duckdb_backend,
        {
            "id": [2, 1],
            "s": ["b", None],
            "_src_id": ["s", "s"],
            "_src_priority": [0, 0],
            "_src_row": [0, 1],
        },
        {
            "id": "int64",
            "s": "string",
            "_src_id": "string",
            "_src_priority": "int64",
            "_src_row": "int64",
        },
        [{"name": "id", "type": "integer"}, {"name": "s", "type": "string"}],
    )
    assert rows == [{"id": 1, "s": None}, {"id": 2, "s": "b"}]


def test_tables_without_primary_key_use_the_staging_identity(duckdb_backend) -> None:
    """Two identical records from different rows get different noise."""
    rows, _ = anonymized(
        duckdb_backend,
        {"x": [1.0, 1.0], "_src_id": ["s", "s"], "_src_priority": [0, 0], "_src_row": [0, 1]},
        {"x": "float64", "_src_id": "string", "_src_priority": "int64", "_src_row": "int64"},
        [
            {
                "name": "x",
                "type": "double",
                "anonymize": {"op": "perturb", "distribution": "laplace", "scale": 1},
            }
        ],
        pk=None,
    )
    expected = sorted(1.0 + reference_laplace(KEY, md5_key(f"s:{i}"), "x", 1.0) for i in (0, 1))
    assert sorted(r["x"] for r in rows) == pytest.approx(expected, rel=1e-12)


# --- published types -----------------------------------------------------------------------------

TYPE_CASES = [
    ("integer", "int64", 37, {"op": "generalize", "band": 10}),
    ("double", "float64", 37.5, {"op": "generalize", "band": 0.5}),
    ("integer", "int64", 10115, {"op": "generalize", "truncate": 3}),
    ("string", "string", "flu", {"op": "generalize", "hierarchy": {"flu": "resp"}}),
    ("date", "date", dtm.date(1988, 5, 3), {"op": "generalize", "granularity": "year"}),
    (
        "datetime",
        "timestamp",
        dtm.datetime(1988, 5, 3, 4, 5),
        {"op": "generalize", "granularity": "hour"},
    ),
    ("string", "string", "abc", {"op": "suppress", "keep": 1}),
    ("integer", "int64", 5, {"op": "suppress"}),
    ("integer", "int64", 5, {"op": "perturb", "distribution": "laplace", "scale": 1}),
    ("integer", "int64", 5, {"op": "perturb", "distribution": "laplace", "scale": 1, "round": 0}),
    ("integer", "int64", 5, {"op": "perturb", "distribution": "gaussian", "scale": 1, "round": 2}),
    (
        "double",
        "float64",
        5.0,
        {"op": "perturb", "distribution": "gaussian", "scale": 1, "round": 0},
    ),
    ("string", "string", "x", {"op": "permute"}),
    ("integer", "int64", 5, {"op": "permute"}),
]


@pytest.mark.parametrize(("type_", "sql_type", "value", "op"), TYPE_CASES)
def test_published_type_follows_the_croissant_rule(
    duckdb_backend, type_: str, sql_type: str, value: Any, op: dict[str, Any]
) -> None:
    """The Arrow type published is the one ``croissant.published_type`` announces."""
    _, out_type = one_column(duckdb_backend, type_, [value, None], op, sql_type=sql_type)
    column = Column.model_validate({"name": "v", "type": type_, "anonymize": op})
    assert arrow_column_type(out_type.to_pyarrow()) is published_type(column.type, column.anonymize)


def test_published_type_of_an_integer_rounded_to_tens(duckdb_backend) -> None:
    op = {"op": "perturb", "distribution": "laplace", "scale": 10, "round": -1}
    _, out_type = one_column(duckdb_backend, "integer", [500, None], op, sql_type="int64")
    column = Column.model_validate({"name": "v", "type": "integer", "anonymize": op})
    assert arrow_column_type(out_type.to_pyarrow()) is published_type(column.type, column.anonymize)


def test_band_of_non_finite_doubles_does_not_fail_the_run(duckdb_backend) -> None:
    values, _ = one_column(
        duckdb_backend,
        "double",
        [math.inf, -math.inf, math.nan, 5.0],
        {"op": "generalize", "band": 10},
        sql_type="float64",
    )
    assert values == [None, None, None, "0-10"]


# --- DuckDB / Spark parity ----------------------------------------------------------------------

PARITY_COLUMNS = [
    {"name": "id", "type": "integer"},
    {"name": "age", "type": "integer", "anonymize": {"op": "generalize", "band": 10}},
    {"name": "height", "type": "double", "anonymize": {"op": "generalize", "band": 0.5}},
    {"name": "birth", "type": "date", "anonymize": {"op": "generalize", "granularity": "month"}},
    {"name": "seen", "type": "datetime", "anonymize": {"op": "generalize", "granularity": "hour"}},
    {"name": "zip", "type": "string", "anonymize": {"op": "generalize", "truncate": 3}},
    {"name": "email", "type": "string", "anonymize": {"op": "suppress", "keep": 2, "mask": "***"}},
    {"name": "phone", "type": "integer", "anonymize": {"op": "suppress"}},
    {
        "name": "income",
        "type": "double",
        "anonymize": {"op": "perturb", "distribution": "laplace", "scale": 1000, "round": 2},
    },
    {
        "name": "weight",
        "type": "double",
        "anonymize": {"op": "perturb", "distribution": "gaussian", "scale": 2.5},
    },
    {
        "name": "visits",
        "type": "integer",
        "anonymize": {"op": "perturb", "distribution": "laplace", "scale": 3, "round": 0},
    },
    {"name": "disease", "type": "string", "anonymize": {"op": "permute", "within": ["zip"]}},
    {"name": "city", "type": "string", "anonymize": {"op": "permute"}},
]


def _parity_data(n: int) -> tuple[dict[str, list[Any]], dict[str, str]]:
    data = {
        "id": [i * 7919 - 50_000 for i in range(n)],
        "age": [None if i % 17 == 0 else (i * 13) % 90 - 3 for i in range(n)],
        "height": [None if i % 19 == 0 else 150 + (i * 37 % 500) / 10 for i in range(n)],
        "birth": [dtm.date(1950, 1, 1) + dtm.timedelta(days=i * 211) for i in range(n)],
        "seen": [dtm.datetime(2024, 1, 1, 0, 0) + dtm.timedelta(minutes=i * 97) for i in range(n)],
        "zip": [f"{10100 + (i % 4) * 1000 + i % 3}" for i in range(n)],
        "email": [None if i % 11 == 0 else f"user{i}@example.org" for i in range(n)],
        "phone": [5550000 + i for i in range(n)],
        "income": [None if i % 13 == 0 else 20_000 + i * 311.25 for i in range(n)],
        "weight": [50 + (i % 40) * 1.5 for i in range(n)],
        "visits": [i % 20 for i in range(n)],
        "disease": [["flu", "cold", "asthma", None, "gout"][i % 5] for i in range(n)],
        "city": [f"city{i % 9}" for i in range(n)],
        "_src_id": ["s"] * n,
        "_src_priority": [0] * n,
        "_src_row": list(range(n)),
    }
    schema = {
        "id": "int64",
        "age": "int64",
        "height": "float64",
        "birth": "date",
        "seen": "timestamp",
        "zip": "string",
        "email": "string",
        "phone": "int64",
        "income": "float64",
        "weight": "float64",
        "visits": "int64",
        "disease": "string",
        "city": "string",
        "_src_id": "string",
        "_src_priority": "int64",
        "_src_row": "int64",
    }
    return data, schema


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


@pytest.mark.spark
@pytest.mark.parametrize("unique_records", [False, True], ids=["whole-record-shuffle", "narrow-shuffle"])
def test_duckdb_and_spark_publish_identical_rows(
    duckdb_backend, spark_backend, tmp_path: Path, unique_records: bool
) -> None:
    """Staged as Parquet, as the pipeline does (``ibis.memtable`` on PySpark turns null
    strings into 'NaN' and drops integers next to nulls, with the installed pandas)."""
    data, schema = _parity_data(120)
    path = tmp_path / "parity.parquet"
    pq.write_table(pa.table(data, schema=ibis.schema(schema).to_pyarrow()), path)
    table = make_table(PARITY_COLUMNS)
    published = {}
    for backend in (duckdb_backend, spark_backend):
        staged = backend.read_parquet([path], name="anonymize_parity")
        out = anonymize_table(backend, staged, table, key=KEY, unique_records=unique_records)
        assert list(out) == ["t"]
        result = backend.con.to_pyarrow(out["t"])
        assert result.column_names == [c["name"] for c in PARITY_COLUMNS]
        published[backend.name] = (
            out["t"].schema(),
            sorted(result.to_pylist(), key=lambda r: r["id"]),
        )
    (duck_schema, duck), (spark_schema, spark) = published["duckdb"], published["spark"]
    assert duck_schema == spark_schema
    assert len(duck) == len(spark) == 120
    for left, right in zip(duck, spark, strict=True):
        assert left.keys() == right.keys()
        for name in left:
            assert _same(left[name], right[name]), (left["id"], name, left[name], right[name])
    # the rules really ran (not a vacuous comparison)
    first = next(r for r in duck if r["id"] == data["id"][1])
    assert first["age"] == "10-19" and first["zip"] == "111" and first["email"] == "us***"
    assert first["height"] == "153.5-154.0" and first["phone"] is None
    assert first["birth"] == dtm.date(1950, 7, 1) and first["seen"] == dtm.datetime(2024, 1, 1, 1)
    assert (
        sum(
            r["disease"] != d
            for r, d in zip(sorted(duck, key=lambda r: r["id"]), data["disease"], strict=True)
        )
        > 50
    )


# --- permutation and privacy -------------------------------------------------------------------


def _private_table(permuted: str) -> Table:
    return Table.model_validate(
        {
            "name": "t",
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "zip", "type": "string", **({"anonymize": {"op": "permute"}} if permuted == "zip" else {})},
                {"name": "v", "type": "string", **({"anonymize": {"op": "permute"}} if permuted == "v" else {})},
            ],
            "primary_key": {"column": "id", "on_conflict": "drop_all"},
            "privacy": {"quasi_identifiers": ["zip"], "k": 2, "max_suppression": 0.5},
        }
    )


PRIVATE_ROWS = {"id": [1, 2, 3, 4, 5], "zip": ["A", "A", "A", "B", "C"], "v": ["p", "q", "r", "s", "t"]}


def _anonymized_privately(backend: Any, permuted: str, *, unique_records: bool) -> tuple[dict, list]:
    """anonymize_table of PRIVATE_ROWS with k = 2 enforced; the output and what privacy saw."""
    from privetl.engine.privacy import enforce

    seen: list[list[dict[str, Any]]] = []

    def privacy(candidate: Any, record: str | None) -> Any:
        assert (record is not None) == unique_records
        seen.append(backend.rows(candidate.select("id", "zip", "v").order_by("id")))
        return enforce(backend, candidate, _private_table(permuted), record=record).table

    out = anonymize_table(
        backend,
        ibis.memtable(PRIVATE_ROWS, schema={"id": "int64", "zip": "string", "v": "string"}),
        _private_table(permuted),
        key=KEY,
        unique_records=unique_records,
        privacy=privacy,
    )
    return out, seen


@pytest.mark.parametrize("unique_records", [False, True])
def test_a_column_is_shuffled_among_the_records_privacy_keeps(duckdb_backend, unique_records: bool) -> None:
    out, seen = _anonymized_privately(duckdb_backend, "v", unique_records=unique_records)
    # privacy saw the values before the shuffle; B and C (classes of one) were suppressed,
    # and their values are not among the published ones: p, q, r moved among 1, 2, 3
    assert [r["v"] for r in seen[0]] == ["p", "q", "r", "s", "t"]
    rows = sorted(duckdb_backend.rows(out["t"]), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [1, 2, 3]
    assert sorted(r["v"] for r in rows) == ["p", "q", "r"]
    assert all(r["v"] != PRIVATE_ROWS["v"][r["id"] - 1] for r in rows)
    assert {r["id"]: r["v"] for r in rows} == reference_permutation(
        KEY, "v", [(None, i, v) for i, v in zip([1, 2, 3], ["p", "q", "r"], strict=True)]
    )


def test_a_shuffled_quasi_identifier_is_measured_after_the_shuffle(duckdb_backend) -> None:
    _, seen = _anonymized_privately(duckdb_backend, "zip", unique_records=True)
    expected = reference_permutation(KEY, "zip", [(None, i + 1, z) for i, z in enumerate(PRIVATE_ROWS["zip"])])
    assert [[r["zip"] for r in candidate] for candidate in seen] == [[expected[i] for i in range(1, 6)]]
