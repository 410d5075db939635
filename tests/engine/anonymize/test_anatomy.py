# ruff: noqa: E741  (`l` is the l of l-diversity throughout)
"""Anatomization: the QIT/ST pair is an l-diverse bucketization of exactly the input records,
ineligible inputs fail naming the column, and ``verify_anatomy`` measures the published ST."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import ibis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privetl.engine.anonymize import SeedKey, anonymize_table, verify_anatomy
from privetl.engine.errors import PrivacyTargetNotMet
from privetl.engine.metadata import Anatomize, Table

KEY = SeedKey.derive(b"secret", 42)
SCHEMA = {"id": "int64", "age": "int64", "zip": "string", "disease": "string"}
DISEASES = ["flu", "cold", "asthma", "gout", "ulcer", "angina"]


def make_table(l: int, *, generalize_age: bool = False) -> Table:
    age: dict[str, Any] = {"name": "age", "type": "integer"}
    if generalize_age:
        age["anonymize"] = {"op": "generalize", "band": 10}
    return Table.model_validate(
        {
            "name": "patients",
            "columns": [
                {"name": "id", "type": "integer"},
                age,
                {"name": "zip", "type": "string"},
                {"name": "disease", "type": "string"},
            ],
            "primary_key": {"column": "id", "on_conflict": "drop_all"},
            "anatomize": {"quasi_identifiers": ["age", "zip"], "sensitive": "disease", "l": l},
        }
    )


def records(diseases: list[str | None]) -> dict[str, list[Any]]:
    n = len(diseases)
    return {
        "id": [1000 + 3 * i for i in range(n)],
        "age": [20 + (i * 7) % 50 for i in range(n)],
        "zip": [f"{10100 + i % 5}" for i in range(n)],
        "disease": list(diseases),
    }


def anatomized(
    backend: Any, data: dict[str, list[Any]], l: int, *, key: SeedKey = KEY, **kw: Any
) -> dict[str, Any]:
    out = anonymize_table(backend, ibis.memtable(data, schema=SCHEMA), make_table(l, **kw), key=key)
    assert sorted(out) == ["patients_qit", "patients_st"]
    return {
        "qit": backend.con.to_pyarrow(out["patients_qit"]),
        "st": backend.con.to_pyarrow(out["patients_st"]),
        "exprs": out,
    }


def check_anatomy(data: dict[str, list[Any]], result: dict[str, Any], l: int) -> None:
    """Every property of a correct l-diverse anatomy of ``data``."""
    n = len(data["id"])
    qit, st_ = result["qit"], result["st"]
    assert qit.column_names == ["age", "zip", "group_id"]
    assert st_.column_names == ["group_id", "disease", "count"]
    assert qit.num_rows == n
    qit_rows, st_rows = qit.to_pylist(), st_.to_pylist()
    # the QIT holds exactly the input's quasi-identifiers
    assert Counter((r["age"], r["zip"]) for r in qit_rows) == Counter(
        zip(data["age"], data["zip"], strict=True)
    )
    assert sum(r["count"] for r in st_rows) == n
    groups = n // l
    assert {r["group_id"] for r in qit_rows} == set(range(groups))
    assert {r["group_id"] for r in st_rows} == set(range(groups))
    per_group: dict[int, list[Any]] = defaultdict(list)
    for r in st_rows:
        per_group[r["group_id"]].extend([r["disease"]] * r["count"])
    qit_sizes = Counter(r["group_id"] for r in qit_rows)
    for group, values in per_group.items():
        assert len(values) == len(set(values)), (group, values)  # pairwise distinct
        assert len(values) >= l
        assert qit_sizes[group] == len(values)  # QIT and ST agree on every group's size
    # joining QIT to ST gives back the input's multiset of sensitive values
    joined: Counter[Any] = Counter()
    for group, size in qit_sizes.items():
        assert size == len(per_group[group])
        joined.update(per_group[group])
    assert joined == Counter(data["disease"])


@pytest.mark.parametrize("l", [2, 3])
def test_anatomy_is_l_diverse_and_loses_nothing(duckdb_backend, l: int) -> None:
    diseases = (
        ["flu"] * 6 + ["cold"] * 5 + ["asthma"] * 4 + ["gout"] * 3 + ["ulcer"] * 2 + ["angina"]
    )
    data = records(diseases)
    result = anatomized(duckdb_backend, data, l)
    check_anatomy(data, result, l)
    assert result["exprs"]["patients_qit"].schema()["group_id"].is_int64()
    assert result["exprs"]["patients_st"].schema()["count"].is_int64()
    measured = verify_anatomy(
        duckdb_backend,
        result["exprs"]["patients_st"],
        make_table(l).anatomize,
        table_name="patients",
    )
    assert measured["l"] >= l
    assert measured["groups"] == len(diseases) // l
    assert measured["min_group_size"] >= l
    again = anatomized(duckdb_backend, data, l, key=SeedKey.derive(b"secret", 42))
    assert again["qit"].to_pylist() == result["qit"].to_pylist()
    assert again["st"].to_pylist() == result["st"].to_pylist()


def test_anatomy_at_the_eligibility_bound(duckdb_backend) -> None:
    """7 records, l = 2: 3 groups, and a value on exactly 3 records is still fine."""
    data = records(["flu", "flu", "flu", "cold", "cold", "gout", "ulcer"])
    check_anatomy(data, anatomized(duckdb_backend, data, 2), 2)


def test_anatomy_publishes_generalized_quasi_identifiers(duckdb_backend) -> None:
    data = records(["flu", "cold", "gout", "flu", "cold", "gout"])
    result = anatomized(duckdb_backend, data, 3, generalize_age=True)
    assert Counter(r["age"] for r in result["qit"].to_pylist()) == Counter(
        f"{a // 10 * 10}-{a // 10 * 10 + 9}" for a in data["age"]
    )
    assert sorted(r["count"] for r in result["st"].to_pylist()) == [1] * 6


def test_anatomy_counts_null_as_a_sensitive_value(duckdb_backend) -> None:
    data = records(["flu", None, "cold", None, "gout", "flu"])
    result = anatomized(duckdb_backend, data, 2)
    check_anatomy(data, result, 2)
    measured = verify_anatomy(
        duckdb_backend,
        result["exprs"]["patients_st"],
        make_table(2).anatomize,
        table_name="patients",
    )
    assert measured["l"] >= 2


def test_anatomy_hides_the_order_of_records_with_the_key(duckdb_backend) -> None:
    data = records(["flu", "cold", "asthma", "gout"] * 5)
    groups = []
    for seed in (1, 2, 3):
        qit = anatomized(duckdb_backend, data, 2, key=SeedKey.derive(b"secret", seed))[
            "qit"
        ].to_pylist()
        groups.append(sorted((r["age"], r["zip"], r["group_id"]) for r in qit))
    assert len({tuple(g) for g in groups}) > 1


@pytest.mark.parametrize(
    ("diseases", "l"),
    [
        (["flu", "flu", "flu", "cold", "gout"], 2),  # flu on 3 > 5/2 records
        (["flu", "flu", "cold", "gout", "ulcer"], 3),  # flu on 2 > 5/3 records
        (["flu"], 2),  # fewer records than l
        (["flu", "cold", "gout"], 4),
        (["flu"] * 4, 2),
    ],
)
def test_ineligible_input_fails_naming_the_column(
    duckdb_backend, diseases: list[str], l: int
) -> None:
    with pytest.raises(PrivacyTargetNotMet, match="'disease'") as info:
        anatomized(duckdb_backend, records(diseases), l)
    assert "patients" in str(info.value)


def test_empty_input_gives_two_empty_tables(duckdb_backend) -> None:
    result = anatomized(duckdb_backend, records([]), 2)
    assert result["qit"].num_rows == 0 and result["st"].num_rows == 0
    assert result["qit"].column_names == ["age", "zip", "group_id"]
    assert result["st"].column_names == ["group_id", "disease", "count"]
    qit_schema = result["exprs"]["patients_qit"].schema()
    st_schema = result["exprs"]["patients_st"].schema()
    assert (
        qit_schema["age"].is_int64()
        and qit_schema["zip"].is_string()
        and qit_schema["group_id"].is_int64()
    )
    assert (
        st_schema["disease"].is_string()
        and st_schema["count"].is_int64()
        and st_schema["group_id"].is_int64()
    )


def test_verify_anatomy_rejects_a_group_with_too_few_distinct_values(duckdb_backend) -> None:
    rule = Anatomize(quasi_identifiers=["age"], sensitive="disease", l=2)
    good = ibis.memtable(
        {
            "group_id": [0, 0, 1, 1, 1],
            "disease": ["flu", "cold", "flu", "gout", None],
            "count": [1, 1, 1, 1, 1],
        },
        schema={"group_id": "int64", "disease": "string", "count": "int64"},
    )
    assert verify_anatomy(duckdb_backend, good, rule, table_name="t") == {
        "groups": 2,
        "l": 2,
        "min_group_size": 2,
    }
    bad = ibis.memtable(
        {"group_id": [0, 0, 1], "disease": ["flu", "cold", "flu"], "count": [1, 1, 2]},
        schema={"group_id": "int64", "disease": "string", "count": "int64"},
    )
    with pytest.raises(PrivacyTargetNotMet, match="'disease'.*below l = 2"):
        verify_anatomy(duckdb_backend, bad, rule, table_name="t")
    three = Anatomize(quasi_identifiers=["age"], sensitive="disease", l=3)
    with pytest.raises(PrivacyTargetNotMet, match="2 distinct"):
        verify_anatomy(duckdb_backend, good, three, table_name="t")
    empty = good.limit(0)
    assert verify_anatomy(duckdb_backend, empty, rule, table_name="t")["groups"] == 0


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    diseases=st.lists(st.sampled_from([*DISEASES, None]), min_size=1, max_size=60),
    l=st.integers(min_value=2, max_value=4),
)
def test_anatomy_property(duckdb_backend, diseases: list[str | None], l: int) -> None:
    """Eligible (no value on more than n/l records) and l-diverse, or ineligible and refused."""
    data = records(diseases)
    n = len(diseases)
    eligible = n // l >= 1 and max(Counter(diseases).values()) <= n // l
    if not eligible:
        with pytest.raises(PrivacyTargetNotMet, match="'disease'"):
            anatomized(duckdb_backend, data, l)
        return
    result = anatomized(duckdb_backend, data, l)
    check_anatomy(data, result, l)
    rule = make_table(l).anatomize
    assert (
        verify_anatomy(duckdb_backend, result["exprs"]["patients_st"], rule, table_name="patients")[
            "l"
        ]
        >= l
    )
