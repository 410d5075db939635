"""Privacy verification: exact k, l, t and risks; enforcement by suppression; failures."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import ibis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privetl.engine.backends import Backend
from privetl.engine.errors import PrivacyTargetNotMet
from privetl.engine.metadata import Column, PrivacyTargets, Table
from privetl.engine.privacy import enforce, enforce_and_measure, measure

_NAMES = itertools.count()

ROWS = [
    {"age": 30, "zip": "A", "disease": "flu"},
    {"age": 30, "zip": "A", "disease": "cold"},
    {"age": 30, "zip": "A", "disease": "flu"},
    {"age": 40, "zip": "B", "disease": "flu"},
    {"age": 40, "zip": "B", "disease": "cancer"},
    {"age": 50, "zip": "C", "disease": "flu"},
]


def _table(**targets: Any) -> Table:
    targets.setdefault("quasi_identifiers", ["age", "zip"])
    targets.setdefault("sensitive", ["disease"])
    return Table(
        name="people",
        columns=[
            Column(name="age", type="integer"),
            Column(name="zip", type="string"),
            Column(name="disease", type="string"),
        ],
        privacy=PrivacyTargets(**targets),
    )


def _load(backend: Backend, rows: list[dict[str, Any]]) -> Any:
    schema = ibis.schema({"age": "int64", "zip": "string", "disease": "string"})
    return backend.materialize(ibis.memtable(rows, schema=schema), f"privacy_input_{next(_NAMES)}")


def _rows(backend: Backend, expr: Any) -> list[tuple[Any, ...]]:
    return sorted(
        ((r["age"], r["zip"], r["disease"]) for r in backend.con.to_pyarrow(expr).to_pylist()),
        key=repr,
    )


def test_measures_k_l_t_and_risks_exactly(duckdb_backend: Backend) -> None:
    report = measure(duckdb_backend, _load(duckdb_backend, ROWS), _table().privacy)  # type: ignore[arg-type]
    assert (report.records_in, report.classes, report.k, report.l) == (6, 3, 1, 1)
    # overall flu 4/6, cold 1/6, cancer 1/6; the worst classes are (40,B) and (50,C) at 1/3
    assert report.t == pytest.approx(1 / 3)
    assert report.per_attribute["disease"] == {"l": 1, "t": pytest.approx(1 / 3), "t_ground_distance": "equal"}
    assert report.max_risk == 1.0
    assert report.average_risk == pytest.approx(3 / 6)


def test_k_is_enforced_by_suppressing_the_small_classes(duckdb_backend: Backend) -> None:
    expr = _load(duckdb_backend, ROWS)
    out, report = enforce_and_measure(duckdb_backend, expr, _table(k=2, max_suppression=0.2))
    assert _rows(duckdb_backend, out) == sorted(
        [(r["age"], r["zip"], r["disease"]) for r in ROWS if r["zip"] != "C"], key=repr
    )
    assert (report.records_in, report.records_suppressed, report.records_out) == (6, 1, 5)
    assert (report.k_before, report.k, report.l) == (1, 2, 2)
    assert report.to_dict()["targets"]["k"] == 2


def test_l_is_enforced_per_class(duckdb_backend: Backend) -> None:
    rows = [*ROWS, {"age": 60, "zip": "D", "disease": "flu"}, {"age": 60, "zip": "D", "disease": "flu"}]
    out, report = enforce_and_measure(duckdb_backend, _load(duckdb_backend, rows), _table(l=2, max_suppression=0.5))
    assert {r[1] for r in _rows(duckdb_backend, out)} == {"A", "B"}
    assert report.records_suppressed == 3
    assert report.l == 2


def test_empty_quasi_identifier_values_form_a_class(duckdb_backend: Backend) -> None:
    rows = [{"age": 30, "zip": None, "disease": "flu"}, {"age": 30, "zip": None, "disease": "cold"}]
    out, report = enforce_and_measure(duckdb_backend, _load(duckdb_backend, rows), _table(k=2, max_suppression=0))
    assert report.k == 2 and report.records_suppressed == 0
    assert len(_rows(duckdb_backend, out)) == 2


def test_a_target_beyond_the_suppression_limit_fails_naming_it(duckdb_backend: Backend) -> None:
    with pytest.raises(PrivacyTargetNotMet) as caught:
        enforce_and_measure(duckdb_backend, _load(duckdb_backend, ROWS), _table(k=2, max_suppression=0.1))
    message = str(caught.value)
    assert "'people'" in message and "k = 2" in message and "1 of 6" in message and "max_suppression" in message


def test_an_unreachable_l_fails(duckdb_backend: Backend) -> None:
    with pytest.raises(PrivacyTargetNotMet, match="l = 3"):
        enforce_and_measure(duckdb_backend, _load(duckdb_backend, ROWS), _table(l=3, max_suppression=0.5))


def test_t_closeness_above_its_target_fails_and_below_passes(duckdb_backend: Backend) -> None:
    # after suppressing (50,C): overall flu 3/5; class (40,B) is at 0.3, class (30,A) at 0.2
    with pytest.raises(PrivacyTargetNotMet, match="t-closeness 0.3000"):
        enforce_and_measure(duckdb_backend, _load(duckdb_backend, ROWS), _table(k=2, t=0.25, max_suppression=0.2))
    _, report = enforce_and_measure(duckdb_backend, _load(duckdb_backend, ROWS), _table(k=2, t=0.35, max_suppression=0.2))
    assert report.t == pytest.approx(0.3)


def test_a_privacy_column_missing_from_the_output_is_an_error(duckdb_backend: Backend) -> None:
    with pytest.raises(PrivacyTargetNotMet, match="income"):
        enforce_and_measure(
            duckdb_backend, _load(duckdb_backend, ROWS), _table(quasi_identifiers=["age", "income"], k=2)
        )


records = st.lists(
    st.fixed_dictionaries(
        {
            "age": st.sampled_from([20, 30, 40]),
            "zip": st.sampled_from(["A", "B", None]),
            "disease": st.sampled_from(["flu", "cold", "cancer", None]),
        }
    ),
    min_size=0,
    max_size=40,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=records, k=st.integers(1, 4), l=st.integers(1, 3))  # noqa: E741
def test_output_meets_k_and_l_and_keeps_exactly_the_large_diverse_classes(
    duckdb_backend: Backend, rows: list[dict[str, Any]], k: int, l: int  # noqa: E741
) -> None:
    out, report = enforce_and_measure(duckdb_backend, _load(duckdb_backend, rows), _table(k=k, l=l, max_suppression=1.0))
    classes: dict[tuple[Any, Any], list[Any]] = {}
    for r in rows:
        classes.setdefault((r["age"], r["zip"]), []).append(r["disease"])
    kept = [
        (age, zip_, d)
        for (age, zip_), diseases in classes.items()
        if len(diseases) >= k and len(set(diseases)) >= l
        for d in diseases
    ]
    assert Counter(_rows(duckdb_backend, out)) == Counter(kept)
    assert report.records_suppressed == len(rows) - len(kept)
    if kept:
        assert report.k is not None and report.k >= k
        assert report.l is not None and report.l >= l
    else:
        assert report.k is None and report.records_out == 0


def test_t_closeness_of_a_numeric_attribute_uses_the_ordered_distance(duckdb_backend: Backend) -> None:
    # Li, Li & Venkatasubramanian (2007), section 4.2: nine salaries 3k..11k, one each; the
    # class {3k, 4k, 5k} is at ordered EMD 0.375, {6k, 8k, 11k} at 0.167 (their numbers)
    rows = [
        {"zip": z, "salary": s}
        for z, salaries in (("A", [3, 4, 5]), ("B", [6, 8, 11]), ("C", [7, 9, 10]))
        for s in salaries
    ]
    expr = duckdb_backend.materialize(
        ibis.memtable(rows, schema={"zip": "string", "salary": "int64"}), f"privacy_salary_{next(_NAMES)}"
    )
    targets = PrivacyTargets(quasi_identifiers=["zip"], sensitive=["salary"])
    report = measure(duckdb_backend, expr, targets)
    assert report.t == pytest.approx(0.375)
    assert report.per_attribute["salary"]["t_ground_distance"] == "ordered"
    only_b = duckdb_backend.materialize(expr.filter(expr.zip != "A"), f"privacy_salary_{next(_NAMES)}")
    # without class A the table's distribution changes: {6,7,8,9,10,11}, B = {6,8,11}
    expected = sum(abs(c) for c in [1/3 - 1/6, 1/3 - 2/6, 2/3 - 3/6, 2/3 - 4/6, 2/3 - 5/6, 0]) / 5
    assert measure(duckdb_backend, only_b, targets).t == pytest.approx(expected)


def test_t_closeness_of_a_category_uses_the_equal_distance(duckdb_backend: Backend) -> None:
    report = measure(duckdb_backend, _load(duckdb_backend, ROWS), _table().privacy)  # type: ignore[arg-type]
    assert report.per_attribute["disease"]["t_ground_distance"] == "equal"


@pytest.mark.spark
def test_the_ordered_distance_is_the_same_on_spark(duckdb_backend: Backend, spark_backend: Backend, tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "salaries.parquet"
    pq.write_table(pa.table({"zip": ["A"] * 3 + ["B"] * 3 + ["C"] * 3, "salary": [3, 4, 5, 6, 8, 11, 7, 9, 10]}), path)
    targets = PrivacyTargets(quasi_identifiers=["zip"], sensitive=["salary"])
    measured = [
        measure(backend, backend.read_parquet([path], name=f"salaries_{backend.name}"), targets).t
        for backend in (duckdb_backend, spark_backend)
    ]
    assert measured == [pytest.approx(0.375)] * 2


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=records, k=st.integers(1, 4), l=st.integers(1, 3))  # noqa: E741
def test_suppressing_by_record_key_removes_the_same_records(
    duckdb_backend: Backend, rows: list[dict[str, Any]], k: int, l: int  # noqa: E741
) -> None:
    """With a unique record column, suppression stores the suppressed keys and anti-joins on
    them; the published and the suppressed records are those of suppressing by class."""
    keyed = [{"rid": i, **r} for i, r in enumerate(rows)]
    schema = ibis.schema({"rid": "int64", "age": "int64", "zip": "string", "disease": "string"})
    expr = duckdb_backend.materialize(ibis.memtable(keyed, schema=schema), f"privacy_input_{next(_NAMES)}")
    table = _table(k=k, l=l, max_suppression=1.0)
    by_class = enforce(duckdb_backend, expr, table)
    by_key = enforce(duckdb_backend, expr, table, record="rid")

    def ids(t: Any) -> list[int]:
        return sorted(r["rid"] for r in duckdb_backend.rows(t.select("rid")))

    assert ids(by_key.table) == ids(by_class.table)
    assert by_key.table.columns == expr.columns
    if by_class.suppressed is None:
        assert by_key.suppressed is None
    else:
        assert ids(by_key.suppressed) == ids(by_class.suppressed) == sorted(
            set(range(len(rows))) - set(ids(by_class.table))
        )
    assert by_key.report.to_dict() == by_class.report.to_dict()


class _Passes:
    """A view of a DuckDB backend that counts the stored results computed from one table
    (the passes over it); ``smallest=False`` hides the engine's ``smallest`` aggregate."""

    def __init__(self, backend: Backend, source: str, *, smallest: bool) -> None:
        self._backend, self._source, self._smallest, self.passes = backend, source, smallest, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def smallest(self, value: Any, n: int) -> Any:
        return self._backend.smallest(value, n) if self._smallest else None

    def materialize(self, expr: Any, name: str) -> Any:
        if self._source in self._backend.compile(expr):
            self.passes += 1
        return self._backend.materialize(expr, name)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=records, k=st.integers(2, 5), l=st.sampled_from([None, 2]))  # noqa: E741
def test_the_records_of_classes_failing_k_come_from_the_class_statistics(
    duckdb_backend: Backend, rows: list[dict[str, Any]], k: int, l: int | None  # noqa: E741
) -> None:
    """A class failing k has at most k - 1 records, so the class statistics keep their keys
    and the suppressed records need no second pass over the table (one pass fewer);
    a class failing only l may be larger, and then the second pass runs. Either way the
    suppressed and the published records are those of the two-pass way, to the key."""
    keyed = [{"rid": i * 7 + 3, **r} for i, r in enumerate(rows)]
    schema = ibis.schema({"rid": "int64", "age": "int64", "zip": "string", "disease": "string"})
    name = f"privacy_input_{next(_NAMES)}"
    expr = duckdb_backend.materialize(ibis.memtable(keyed, schema=schema), name)
    targets = {"k": k, "max_suppression": 1.0, **({"l": l} if l is not None else {})}
    table = Table.model_validate(
        {
            **_table().model_dump(exclude_none=True),
            "columns": [{"name": "rid", "type": "integer"}, *[c.model_dump(exclude_none=True) for c in _table().columns]],
            "primary_key": {"column": "rid", "on_conflict": "drop_all"},
            "privacy": {"quasi_identifiers": ["age", "zip"], "sensitive": ["disease"], **targets},
        }
    )
    one, two = (_Passes(duckdb_backend, name, smallest=s) for s in (True, False))
    fused = enforce(one, expr, table, record="rid")  # type: ignore[arg-type]
    plain = enforce(two, expr, table, record="rid")  # type: ignore[arg-type]

    def ids(t: Any) -> list[int]:
        return sorted(r["rid"] for r in duckdb_backend.rows(t.select("rid")))

    assert ids(fused.table) == ids(plain.table)
    assert fused.report.to_dict() == plain.report.to_dict()
    if plain.suppressed is None:
        assert fused.suppressed is None and one.passes == two.passes
        return
    assert fused.suppressed is not None
    assert ids(fused.suppressed) == ids(plain.suppressed)
    assert fused.suppressed.schema() == plain.suppressed.schema()
    classes = Counter((r["age"], r["zip"]) for r in rows)
    diverse = {c: len({r["disease"] for r in rows if (r["age"], r["zip"]) == c}) for c in classes}
    failing = [n for c, n in classes.items() if n < k or (l is not None and diverse[c] < l)]
    assert two.passes - one.passes == (1 if max(failing) <= k - 1 else 0)
