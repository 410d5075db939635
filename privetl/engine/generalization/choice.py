"""The engine side of the search: one class-statistics pass, the choice, applying it."""


from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privetl.engine.backends import Backend
from privetl.engine.errors import EngineError, PrivacyTargetNotMet
from privetl.engine.generalization.hierarchy import Hierarchy, fixed, hierarchy_of
from privetl.engine.generalization.lattice import (
    Dimension,
    Evaluation,
    Lattice,
    SearchResult,
    SensitiveAttribute,
    Targets,
)
from privetl.engine.metadata import Levels, PrivacyTargets, Table

__all__ = [
    "ClassStatistics",
    "Dimension",
    "Lattice",
    "LevelChoice",
    "SearchResult",
    "SensitiveAttribute",
    "Targets",
    "apply_levels",
    "choose_levels",
    "class_statistics",
    "hierarchies_of",
    "lattice_targets",
    "two_values_suffice",
]

_COUNT = "_privetl_n"
_LOW = "_privetl_low"
_HIGH = "_privetl_high"
_VALUES = "_privetl_values"


@dataclass(frozen=True)
class ClassStatistics:
    """The level-0 class statistics in memory: what every node is evaluated from."""

    counts: np.ndarray[Any, np.dtype[np.int64]]
    dimensions: list[Dimension]
    sensitive: list[SensitiveAttribute]
    seconds: float
    """Time of the GROUP BY pass and bringing its rows into memory."""

    @property
    def rows(self) -> int:
        """Distinct (QI values, sensitive values) at level 0."""
        return len(self.counts)


@dataclass(frozen=True)
class LevelChoice:
    """The levels the search chose, and what it reports."""

    hierarchies: list[Hierarchy]
    result: SearchResult
    statistics_seconds: float
    statistics_rows: int
    """Rows of the level-0 class statistics (distinct QI and sensitive values)."""

    @property
    def best(self) -> Evaluation:
        assert self.result.best is not None
        return self.result.best

    @property
    def levels(self) -> dict[str, int]:
        """QI -> chosen level (0: the value itself)."""
        return {h.column: level for h, level in zip(self.hierarchies, self.best.levels, strict=True)}

    def report(self) -> dict[str, Any]:
        """What the run report records of the search (JSON-ready)."""
        best = self.best
        return {
            "metric": self.result.metric,
            "value": best.metric,
            "levels": self.levels,
            "level_names": {
                h.column: h.names[level] for h, level in zip(self.hierarchies, best.levels, strict=True)
            },
            "records_suppressed": best.suppressed,
            "nodes": self.result.nodes,
            "nodes_evaluated": self.result.evaluated,
            "nodes_pruned": self.result.pruned,
            "class_statistics_rows": self.statistics_rows,
            "seconds": round(self.result.seconds + self.statistics_seconds, 4),
            "search_seconds": round(self.result.seconds, 4),
            "statistics_seconds": round(self.statistics_seconds, 4),
        }


def hierarchies_of(table: Table, *, base_dir: Path | None = None) -> list[Hierarchy]:
    """Each QI's hierarchy, in the targets' order (one fixed level for a QI without levels)."""
    assert table.privacy is not None
    found = []
    for name in table.privacy.quasi_identifiers:
        column = table.column(name)
        op = column.anonymize
        found.append(hierarchy_of(column, op, base_dir=base_dir) if isinstance(op, Levels) else fixed(name))
    return found


def lattice_targets(targets: PrivacyTargets) -> Targets:
    """The in-memory form of a table's targets."""
    return Targets(
        k=targets.k,
        l=targets.l,
        entropy_l=targets.entropy_l,
        recursive=None if targets.recursive is None else (targets.recursive.c, targets.recursive.l),
        t=targets.t,
        max_suppression=targets.max_suppression,
    )


def two_values_suffice(targets: PrivacyTargets) -> bool:
    """Whether the search needs no more than two sensitive values per class: k and distinct
    l <= 2 on one sensitive attribute, no entropy, recursive or t target (a class is 2-diverse
    exactly when its smallest and largest value differ, an empty value counting as one)."""
    return (
        len(targets.sensitive) == 1
        and (targets.l or 1) <= 2
        and targets.entropy_l is None
        and targets.recursive is None
        and targets.t is None
    )


def class_statistics(
    backend: Backend,
    expr: ir.Table,
    hierarchies: list[Hierarchy],
    sensitive: list[str],
    *,
    name: str,
    two_values: bool = False,
) -> ClassStatistics:
    """One GROUP BY pass over ``expr`` (the QIs at level 0 and the sensitive attributes),
    stored on the engine; its rows and every QI level's labels as codes in memory.

    With ``two_values`` (one sensitive attribute; see ``two_values_suffice``) the pass groups
    by the QIs alone and keeps each class's records, smallest and largest sensitive value
    and non-empty values: at most two rows per class come into memory (its smallest value,
    and its largest or an empty one where it has another), the class's records on the first
    but one. Classes, their sizes and whether they are 2-diverse are exactly those of the
    full table, so the search chooses the same levels on fewer rows, from a cheaper pass
    (10M bench records, 8 diagnoses: 0.9M groups instead of 3.3M); only the distinct l it
    measures is at most 2.
    """
    start = time.perf_counter()
    qis = [h.column for h in hierarchies]
    second: np.ndarray[Any, np.dtype[np.int64]] | None = None
    if two_values:
        rows = _two_value_rows(backend, expr, qis, sensitive[0], name=name)
        data, values_of, counts, second = rows.classes, {sensitive[0]: rows.values}, rows.counts, rows.second
    else:
        keys = qis + sensitive
        grouped = expr.group_by([expr[c] for c in keys]).aggregate(**{_COUNT: expr.count()})
        stored = backend.materialize(grouped, f"privetl_generalization_{name}")
        data = backend.to_pyarrow_batches(stored).read_all()
        values_of = {s: data[s] for s in sensitive}
        counts = _numpy(data[_COUNT])
    dimensions = []
    for h in hierarchies:
        codes, values = _encode(data[h.column])
        if second is not None:
            codes = np.concatenate([codes, codes[second]])  # the classes' second rows
        if codes.max(initial=-1) >= len(values):
            values = pa.concat_arrays([values, pa.nulls(1, type=values.type)])
        levels = _level_codes(backend, h, values)
        dimensions.append(Dimension(name=h.column, codes=codes, levels=levels, names=h.names))
    attributes = []
    for s in sensitive:
        codes, dictionary = _encode(values_of[s])
        rank = None
        if pa.types.is_integer(dictionary.type) or pa.types.is_floating(dictionary.type) or pa.types.is_decimal(dictionary.type) or pa.types.is_temporal(dictionary.type):
            order = _numpy(pc.sort_indices(dictionary))
            rank = np.zeros(len(dictionary) + 1, dtype=np.int64)
            rank[order] = np.arange(1, len(dictionary) + 1)
        attributes.append(SensitiveAttribute(name=s, codes=codes, rank=rank))
    return ClassStatistics(
        counts=counts, dimensions=dimensions, sensitive=attributes, seconds=time.perf_counter() - start
    )


@dataclass(frozen=True)
class _TwoValueRows:
    """The classes as at most two rows each: the first rows are the classes, in order, then
    come the second rows of the classes ``second``, whose QIs are those of their class (so
    the QIs' codes are computed once per class and repeated)."""

    classes: pa.Table
    """One row per class: its QIs."""
    values: pa.ChunkedArray
    """The sensitive value of every row, first rows then second rows."""
    counts: np.ndarray[Any, np.dtype[np.int64]]
    """The records of every row (a class's all on its first row, but one on its second)."""
    second: np.ndarray[Any, np.dtype[np.int64]]


def _two_value_rows(
    backend: Backend, expr: ir.Table, qis: list[str], sensitive: str, *, name: str
) -> _TwoValueRows:
    """The classes from one GROUP BY over the QIs, as at most two rows each (see
    ``class_statistics``)."""
    value = expr[sensitive]
    grouped = expr.group_by([expr[c] for c in qis]).aggregate(
        **{_COUNT: expr.count(), _LOW: value.min(), _HIGH: value.max(), _VALUES: value.count()}
    )
    stored = backend.materialize(grouped, f"privetl_generalization_{name}")
    classes = backend.to_pyarrow_batches(stored).read_all()
    low, high = classes[_LOW].combine_chunks(), classes[_HIGH].combine_chunks()
    records, values = _numpy(classes[_COUNT]), _numpy(classes[_VALUES])
    differ = pc.fill_null(pc.not_equal(low, high), False).to_numpy(zero_copy_only=False)
    empty_too = (values > 0) & (values < records)  # a non-empty value and an empty one
    second = np.flatnonzero(differ | empty_too)
    taken = pa.array(second)
    empty = pa.nulls(len(second), high.type)
    second_value = pc.if_else(pa.array(differ[second]), high.take(taken), empty)
    first_count = records.copy()
    first_count[second] -= 1  # a class with two values has two records or more
    return _TwoValueRows(
        classes=classes.select(qis),
        values=pa.chunked_array([low, second_value]),
        counts=np.concatenate([first_count, np.ones(len(second), dtype=np.int64)]),
        second=second.astype(np.int64),
    )


def _level_codes(backend: Backend, hierarchy: Hierarchy, values: pa.Array) -> tuple[np.ndarray[Any, np.dtype[np.int64]], ...]:
    """Every level's code of each distinct level-0 value: the labels computed on the engine
    (a small table of the distinct values, labelled by the expressions that publish them),
    then encoded; ``codes[j][v]`` for value ``v``."""
    if hierarchy.height == 0:
        return (np.arange(len(values), dtype=np.int64),)
    column = hierarchy.column
    table = ibis.memtable(pa.table({column: values, "_privetl_i": pa.array(np.arange(len(values), dtype=np.int64))}))
    labelled = table.select(
        table._privetl_i, **{f"_privetl_l{j}": level(table[column]) for j, level in enumerate(hierarchy.levels)}
    )
    labels = backend.to_pyarrow_batches(labelled).read_all()
    order = np.argsort(_numpy(labels["_privetl_i"]))
    return tuple(_encode(labels[f"_privetl_l{j}"])[0][order] for j in range(len(hierarchy.levels)))


def choose_levels(backend: Backend, expr: ir.Table, table: Table, *, base_dir: Path | None = None) -> LevelChoice:
    """Search the levels of ``table``'s QIs on ``expr`` (the table as its other rules made
    it, the QIs with levels still at level 0); ``PrivacyTargetNotMet`` when no combination
    meets the targets within ``max_suppression``."""
    targets = table.privacy
    if targets is None or targets.search is None:
        raise EngineError(f"table {table.name!r} asks for no generalization search")
    missing = [c for c in [*targets.quasi_identifiers, *targets.sensitive] if c not in expr.columns]
    if missing:
        raise PrivacyTargetNotMet(f"table {table.name!r}: privacy columns {missing} are not in the published table")
    hierarchies = hierarchies_of(table, base_dir=base_dir)
    statistics = class_statistics(
        backend,
        expr,
        hierarchies,
        list(targets.sensitive),
        name=table.name,
        two_values=two_values_suffice(targets),
    )
    try:
        lattice = Lattice(
            statistics.counts,
            statistics.dimensions,
            statistics.sensitive,
            targets=lattice_targets(targets),
            metric=targets.search.metric,
        )
    except ValueError as exc:
        raise EngineError(f"table {table.name!r}: {exc}") from None
    result = lattice.search()
    if result.best is None:
        raise PrivacyTargetNotMet(
            f"table {table.name!r}: no combination of the quasi-identifiers' levels meets the targets within "
            f"max_suppression {targets.max_suppression:.2%} ({result.nodes} combination(s) searched, "
            f"{statistics.rows} level-0 class row(s)). Add coarser levels, or raise max_suppression"
        )
    return LevelChoice(
        hierarchies=hierarchies,
        result=result,
        statistics_seconds=statistics.seconds,
        statistics_rows=statistics.rows,
    )


def apply_levels(expr: ir.Table, choice: LevelChoice) -> ir.Table:
    """``expr`` with every QI that has levels generalized to its chosen level."""
    changes = {
        h.column: h.levels[level](expr[h.column])
        for h, level in zip(choice.hierarchies, choice.best.levels, strict=True)
        if h.height > 0
    }
    return expr.mutate(**changes) if changes else expr


def _numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Integer Arrow values as an int64 NumPy array (no nulls)."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.int64)


def _encode(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray[Any, np.dtype[np.int64]], pa.Array]:
    """Dense codes of ``values`` (an empty value: the code after the others) and the
    distinct non-empty values."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    encoded = array.dictionary_encode()
    dictionary = encoded.dictionary
    indices = encoded.indices.fill_null(len(dictionary))
    return np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64), dictionary
