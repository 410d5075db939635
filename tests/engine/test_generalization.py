"""The generalization search: the true optimum of the lattice (against exhaustive search),
the hierarchies' levels as published, the pipeline publishing the chosen levels, the
documents that cannot be searched, and DuckDB and Spark choosing alike."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privetl.demo.engine_job import copy_sample_module
from privetl.engine.backends import Backend
from privetl.engine.errors import PrivacyTargetNotMet
from privetl.engine.generalization import lattice as lattice_module
from privetl.engine.generalization.choice import (
    apply_levels,
    choose_levels,
    class_statistics,
    hierarchies_of,
    lattice_targets,
    two_values_suffice,
)
from privetl.engine.generalization.hierarchy import hierarchy_of
from privetl.engine.generalization.lattice import (
    METRICS,
    Dimension,
    Lattice,
    SensitiveAttribute,
    Targets,
)
from privetl.engine.metadata import Column, ColumnType, Levels, RecursiveDiversity
from privetl.engine.privacy import enforce
from privetl.engine.publish import read_table
from privetl.engine.runner import run_module
from privetl.engine.validate import validate_document
from tests.engine.adult_shaped import adult_records, adult_table

# --- the search is the optimum ------------------------------------------------------------


@st.composite
def lattices(draw: st.DrawFn, *, distinct_only: bool = False) -> Lattice:
    """A random small lattice: 1-4 QIs, each a random nested hierarchy of 1-4 levels, random
    records and one sensitive attribute, random targets and metric (``distinct_only``: k
    and distinct l alone, the targets the search keeps at most l rows per class for)."""
    rows = draw(st.integers(min_value=1, max_value=60 if not distinct_only else 200))
    rng = np.random.default_rng(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    dimensions = []
    for d in range(draw(st.integers(min_value=1, max_value=4))):
        values = draw(st.integers(min_value=1, max_value=8))
        level = np.arange(values, dtype=np.int64)
        levels = [level]
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            groups = max(1, (int(level.max()) + 1) // 2)
            level = np.unique(rng.integers(0, groups, size=int(level.max()) + 1)[level], return_inverse=True)[1].astype(np.int64)
            levels.append(level)
        dimensions.append(Dimension(name=f"q{d}", codes=rng.integers(0, values, size=rows), levels=tuple(levels)))
    m = draw(st.integers(min_value=1, max_value=4 if not distinct_only else 8))
    c_values, l_values = st.floats(min_value=0.5, max_value=4.0), st.integers(min_value=1, max_value=3)
    sensitive = SensitiveAttribute(
        name="s", codes=rng.integers(0, m, size=rows), rank=np.arange(m + 1) if draw(st.booleans()) else None
    )
    targets = Targets(
        k=draw(st.none() | st.integers(min_value=1, max_value=6)),
        l=draw(st.none() | st.integers(min_value=1, max_value=3)),
        entropy_l=None if distinct_only else draw(st.none() | st.floats(min_value=1.0, max_value=3.0)),
        recursive=None if distinct_only else draw(st.none() | st.tuples(c_values, l_values)),
        t=None if distinct_only else draw(st.none() | st.floats(min_value=0.05, max_value=1.0)),
        max_suppression=draw(st.sampled_from([0.0, 0.05, 0.2, 0.5])),
    )
    counts = rng.integers(1, 5, size=rows).astype(np.int64)
    return Lattice(counts, dimensions, [sensitive], targets=targets, metric=draw(st.sampled_from(METRICS)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lattices())
def test_search_finds_the_optimum_of_exhaustive_search(lattice: Lattice) -> None:
    """Same node and same metric value as evaluating every node, whatever the targets —
    also the non-monotone ones (entropy, recursive, t after suppression)."""
    searched, every = lattice.search(), lattice.exhaustive()
    assert lattice.exhaustive(roll_up=True).best == every.best
    assert (searched.best is None) == (every.best is None)
    if every.best is not None:
        assert searched.best is not None
        assert searched.best.levels == every.best.levels
        assert searched.best.metric == every.best.metric
    assert searched.evaluated + searched.pruned == lattice.size


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lattices(distinct_only=True))
def test_the_search_keeping_l_rows_per_class_measures_as_exhaustive_search(lattice: Lattice) -> None:
    """With k and distinct l alone the search keeps at most l sensitive values per class and
    rolls nodes up from atoms: the same node, and the same measures (the smallest distinct
    l too, measured again uncapped), as evaluating every node from all rows."""
    searched, every = lattice.search(), lattice.exhaustive()
    assert searched.best == every.best
    assert searched.evaluated + searched.pruned == lattice.size


def test_keys_too_wide_for_one_integer_give_the_same_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quasi-identifiers whose codes do not fit one int64 side by side are grouped another
    way (folded pairwise, from level 0): the same optimum."""
    rng = np.random.default_rng(7)
    dimensions = [
        Dimension(
            name=f"q{d}",
            codes=rng.integers(0, 6, size=200),
            levels=(np.arange(6), np.array([0, 0, 1, 1, 2, 2]), np.array([0, 0, 0, 0, 1, 1]), np.zeros(6, dtype=np.int64)),
        )
        for d in range(3)
    ]
    sensitive = [SensitiveAttribute(name="s", codes=rng.integers(0, 3, size=200))]
    targets = Targets(k=4, l=2, max_suppression=0.05)
    narrow = Lattice(np.ones(200, dtype=np.int64), dimensions, sensitive, targets=targets).search().best
    monkeypatch.setattr(lattice_module, "_RADIX_LIMIT", 1)
    wide = Lattice(np.ones(200, dtype=np.int64), dimensions, sensitive, targets=targets)
    assert narrow is not None
    assert wide.search().best == wide.exhaustive().best == narrow


@pytest.fixture(scope="module")
def adult(duckdb_backend: Backend) -> Any:
    return duckdb_backend.materialize(ibis.memtable(adult_records()), "gen_adult")


def test_adult_shaped_k5_matches_exhaustive_discernibility(duckdb_backend: Backend, adult: Any) -> None:
    """The issue's check: Adult-shaped data, 8 QIs, 4,320 combinations, k = 5 and at most 1 %
    suppressed: the search's discernibility is that of exhaustive search, with far fewer
    nodes evaluated, and the report says what it did."""
    table = adult_table(k=5, max_suppression=0.01)
    choice = choose_levels(duckdb_backend, adult, table)
    assert table.privacy is not None
    statistics = class_statistics(duckdb_backend, adult, hierarchies_of(table), [], name="gen_adult_all")
    lattice = Lattice(statistics.counts, statistics.dimensions, targets=lattice_targets(table.privacy))
    every = lattice.exhaustive(roll_up=True)
    assert every.best is not None and lattice.size == 4320
    assert choice.best.metric == every.best.metric
    assert choice.best.levels == every.best.levels
    report = choice.report()
    assert report["nodes"] == 4320
    assert report["nodes_evaluated"] + report["nodes_pruned"] == 4320
    assert report["nodes_evaluated"] < 4320 / 2
    assert report["value"] == every.best.metric and report["metric"] == "discernibility"
    assert set(report["levels"]) == set(table.privacy.quasi_identifiers)
    assert report["records_suppressed"] <= 0.01 * 30_162

    # the chosen levels published: enforcement suppresses what the search counted
    enforced = enforce(duckdb_backend, apply_levels(adult, choice), table)
    assert enforced.report.records_suppressed == choice.best.suppressed
    assert enforced.report.k is not None and enforced.report.k >= 5
    assert enforced.report.classes == choice.best.classes


@pytest.mark.parametrize("diversity", [None, 1, 2])
@pytest.mark.parametrize("metric", METRICS)
def test_two_values_per_class_choose_what_all_values_choose(
    duckdb_backend: Backend, diversity: int | None, metric: str
) -> None:
    """k and distinct l <= 2: the class statistics of two values per class (smallest,
    largest or empty) lead to the same node, suppression and loss as all values — with
    empty values, classes of one value and of several, and a sensitive attribute of 4."""
    data = adult_records(records=4_000)
    rng = np.random.default_rng(5)
    salary = np.array(["<=50K", ">50K", "unknown", "n/a"], dtype=object)[rng.integers(0, 4, size=4_000)]
    salary[rng.random(4_000) < 0.3] = None
    qis = ["age", "education", "sex", "race"]
    data = data.select(qis).append_column("salary", pa.array(salary, pa.string()))
    expr = duckdb_backend.materialize(ibis.memtable(data), f"gen_two_values_{metric}_{diversity}")
    # with no l, salary is declared through t (then dropped): the statistics still carry it
    targets = {"l": diversity} if diversity is not None else {"t": 1.0}
    table = adult_table(k=4, max_suppression=0.05, metric=metric, quasi_identifiers=qis, **targets)
    assert table.privacy is not None
    if diversity is None:
        table = table.model_copy(update={"privacy": table.privacy.model_copy(update={"t": None})})
        assert table.privacy is not None
    hierarchies = hierarchies_of(table)
    results = {}
    for two_values in (False, True):
        statistics = class_statistics(
            duckdb_backend, expr, hierarchies, ["salary"], name=f"gen_tv_{two_values}", two_values=two_values
        )
        lattice = Lattice(
            statistics.counts, statistics.dimensions, statistics.sensitive,
            targets=lattice_targets(table.privacy), metric=metric,  # type: ignore[arg-type]
        )
        best = lattice.exhaustive().best
        searched = lattice.search().best
        assert best is not None and searched is not None
        assert (searched.levels, searched.metric) == (best.levels, best.metric)
        results[two_values] = (best.levels, best.metric, best.suppressed, best.classes, best.k, statistics.rows)
    assert results[True][:5] == results[False][:5]
    assert results[True][5] < results[False][5]  # fewer rows: at most two per class
    assert two_values_suffice(table.privacy)
    choice = choose_levels(duckdb_backend, expr, table)
    assert (choice.best.levels, choice.best.metric) == results[False][:2]
    assert choice.statistics_rows == results[True][5]


def test_entropy_and_recursive_diversity_are_enforced_as_searched(duckdb_backend: Backend, adult: Any) -> None:
    """Entropy l, recursive (c, l) diversity and t: the engine's suppression and measures
    agree with the search's, and entropy l is reported exactly, not rounded."""
    table = adult_table(
        k=3,
        max_suppression=0.05,
        metric="precision",
        quasi_identifiers=["age", "education", "sex", "race"],
        entropy_l=1.6,
        recursive=RecursiveDiversity(c=4, l=2),
        t=0.2,
    )
    choice = choose_levels(duckdb_backend, adult, table)
    enforced = enforce(duckdb_backend, apply_levels(adult, choice), table)
    assert enforced.report.records_suppressed == choice.best.suppressed
    assert choice.best.entropy_l is not None and enforced.report.entropy_l is not None
    assert math.isclose(enforced.report.entropy_l, choice.best.entropy_l, rel_tol=1e-9)
    assert enforced.report.entropy_l >= 1.6 and not float(enforced.report.entropy_l).is_integer()
    assert enforced.report.recursive_c is not None and enforced.report.recursive_c < 4
    assert enforced.report.t is not None and choice.best.t is not None
    assert math.isclose(enforced.report.t, choice.best.t, rel_tol=1e-9) and enforced.report.t <= 0.2


def test_no_combination_meeting_the_targets_fails_the_run(duckdb_backend: Backend, adult: Any) -> None:
    table = adult_table(k=40_000, max_suppression=0.0)
    with pytest.raises(PrivacyTargetNotMet, match="no combination of the quasi-identifiers' levels"):
        choose_levels(duckdb_backend, adult, table)


# --- the levels as published --------------------------------------------------------------


def test_levels_of_bands_dates_prefixes_and_hierarchies(duckdb_backend: Backend, tmp_path: Path) -> None:
    """Level 0 is the value as text, the last level '*', empty values stay empty; a CSV
    hierarchy in ARX's format reads like an inline one."""
    (tmp_path / "city.csv").write_text("Berlin;Germany;Europe;*\nParis;France;Europe;*\nLima;Peru;America;*\n")
    data = pa.table(
        {
            "age": pa.array([37, 5, None], pa.int64()),
            "born": pa.array([dt.date(1988, 5, 3), dt.date(2001, 12, 31), None], pa.date32()),
            "zip": pa.array(["10115", "75001", None]),
            "city": pa.array(["Berlin", "Lima", "Oslo"]),
        }
    )
    expr = duckdb_backend.materialize(ibis.memtable(data), "gen_levels")
    columns = {
        "age": (ColumnType.INTEGER, Levels(bands=[5, 10, 20, "*"])),
        "born": (ColumnType.DATE, Levels(granularities=["month", "year", "decade"])),
        "zip": (ColumnType.STRING, Levels(truncations=[3, 1])),
        "city": (ColumnType.STRING, Levels(hierarchy_csv="city.csv")),
    }
    published: dict[str, list[list[Any]]] = {}
    for name, (column_type, levels) in columns.items():
        hierarchy = hierarchy_of(Column(name=name, type=column_type, anonymize=levels), levels, base_dir=tmp_path)
        out = expr.select(**{f"l{j}": level(expr[name]) for j, level in enumerate(hierarchy.levels)})
        rows = duckdb_backend.rows(out)
        published[name] = [[row[f"l{j}"] for row in rows] for j in range(len(hierarchy.levels))]
    assert published["age"] == [["37", "5", None], ["35-39", "5-9", None], ["30-39", "0-9", None], ["20-39", "0-19", None], ["*", "*", None]]
    assert published["born"] == [
        ["1988-05-03", "2001-12-31", None],
        ["1988-05", "2001-12", None],
        ["1988", "2001", None],
        ["1980-1989", "2000-2009", None],
        ["*", "*", None],
    ]
    assert published["zip"] == [["10115", "75001", None], ["101", "750", None], ["1", "7", None], ["*", "*", None]]
    # a value the hierarchy does not list is generalized to '*' from level 1 on
    assert published["city"] == [["Berlin", "Lima", "Oslo"], ["Germany", "Peru", "*"], ["Europe", "America", "*"], ["*", "*", "*"]]


# --- the pipeline -------------------------------------------------------------------------


def _searched_module(tmp_path: Path) -> Path:
    """The sample module with its customers' quasi-identifiers given levels and a search."""
    path = copy_sample_module(tmp_path / "module")
    doc = json.loads(path.read_text())
    customers = next(r for r in doc["recordSet"] if r["name"] == "customers")
    levels = {
        "birth_date": {"op": "levels", "granularities": ["year", "decade"]},
        "zip": {"op": "levels", "truncations": [4, 3, 2, 1]},
        "gender": {"op": "levels", "hierarchy": [["F", "*"], ["M", "*"], ["X", "*"]]},
        "diagnosis": None,
    }
    for field in customers["field"]:
        if field["name"] in levels:
            field.pop("privetl:anonymize", None)
            if levels[field["name"]] is not None:
                field["privetl:anonymize"] = levels[field["name"]]
    customers["privetl:privacy"] = {
        "quasi_identifiers": ["birth_date", "zip", "gender"],
        "sensitive": ["diagnosis"],
        "k": 3,
        "l": 2,
        "max_suppression": 0.05,
        "search": {"metric": "discernibility"},
    }
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_a_run_publishes_the_levels_the_search_chose(tmp_path: Path) -> None:
    path = _searched_module(tmp_path)
    report = run_module(path, out=tmp_path / "out", secret=b"s", report_dir=tmp_path / "report", progress=False)
    assert report.status == "succeeded", report.error
    privacy = report.privacy["customers"]
    search = privacy.search
    assert search is not None
    assert set(search["levels"]) == {"birth_date", "zip", "gender"}
    assert search["nodes"] == 4 * 6 * 2  # (value, year, decade, *) x (value, 4..1, *) x (value, *)
    assert search["nodes_evaluated"] + search["nodes_pruned"] == search["nodes"]
    assert search["seconds"] >= search["search_seconds"] >= 0
    assert privacy.k is not None and privacy.k >= 3 and privacy.l is not None and privacy.l >= 2
    customers = read_table(tmp_path / "out", "customers").to_pylist()
    zips = {row["zip"] for row in customers}
    length = {1: 4, 2: 3, 3: 2, 4: 1}.get(search["levels"]["zip"])
    assert all(z is None or z == "*" or length is None or len(z) == length for z in zips)
    summary = json.loads((tmp_path / "report" / "report.json").read_text()) if (tmp_path / "report" / "report.json").exists() else None
    if summary is not None:
        assert summary["privacy"]["customers"]["search"]["levels"] == search["levels"]


# --- documents that cannot be searched ----------------------------------------------------


@pytest.fixture(scope="module")
def searched_document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_searched_module(tmp_path_factory.mktemp("searched")).read_text())
    return document


def _document_with(document: dict[str, Any], change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    customers = next(r for r in doc["recordSet"] if r["name"] == "customers")
    change(customers)
    return doc


def _field(record_set: dict[str, Any], name: str) -> dict[str, Any]:
    field: dict[str, Any] = next(f for f in record_set["field"] if f["name"] == name)
    return field


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: _field(c, "income").update({"privetl:anonymize": {"op": "levels", "bands": [5000, 12000]}}), "multiple"),
        (lambda c: _field(c, "zip").update({"privetl:anonymize": {"op": "levels", "truncations": [2, 3]}}), "decrease"),
        (lambda c: _field(c, "birth_date").update({"privetl:anonymize": {"op": "levels", "granularities": ["year", "month"]}}), "finer to coarser"),
        (lambda c: _field(c, "zip").update({"privetl:anonymize": {"op": "levels", "bands": [5]}}), "numeric"),
        (
            lambda c: _field(c, "gender").update(
                {"privetl:anonymize": {"op": "levels", "hierarchy": [["F", "a", "*"], ["M", "a", "x"], ["X", "b", "*"]]}}
            ),
            "generalizes to both",
        ),
        (lambda c: c["privetl:privacy"].pop("search"), "add \"search\""),
        (lambda c: c["privetl:privacy"].update({"sensitive": [], "l": None, "entropy_l": 2}), "list them in 'sensitive'"),
        (lambda c: c["privetl:privacy"].update({"quasi_identifiers": ["birth_date", "zip"]}), "add 'gender' to the privacy's quasi_identifiers"),
    ],
)
def test_documents_whose_levels_cannot_be_searched(searched_document: dict[str, Any], change: Any, message: str) -> None:
    problems = validate_document(_document_with(searched_document, change))
    assert any(message in p.message for p in problems), [p.message for p in problems]


def test_the_searched_sample_module_is_valid(searched_document: dict[str, Any]) -> None:
    assert validate_document(searched_document) == []


# --- DuckDB and Spark alike ---------------------------------------------------------------


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("t", [0.3, None], ids=["all-values", "two-values"])
def test_duckdb_and_spark_choose_the_same_levels(
    duckdb_backend: Backend, spark_backend: Backend, t: float | None
) -> None:
    """The same class statistics, labels and so the same levels, on both engines (also
    with two values per class, for k and distinct l alone)."""
    data = adult_records(records=3_000)
    qis = ["age", "education", "native_country"]
    table = adult_table(k=5, l=2, t=t, max_suppression=0.02, quasi_identifiers=qis)
    data = data.select([*qis, "salary"])
    chosen = {}
    for backend in (duckdb_backend, spark_backend):
        expr = backend.materialize(ibis.memtable(data), "gen_parity")
        choice = choose_levels(backend, expr, table)
        chosen[backend.name] = (choice.levels, choice.best.metric, choice.statistics_rows)
    assert chosen["duckdb"] == chosen["spark"]
