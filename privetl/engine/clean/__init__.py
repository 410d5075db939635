"""Cleaning (features 3-6 and the merge of feature 8): staged sources in, clean tables out.

``clean_tables`` loads every table's staged Parquet, and cleans the tables in foreign-key
dependency order. Per table the rules run in this order, each one on the result of the
previous:

1. load: the table's sources are unioned (columns aligned by name; a declared column a
   source lacks is all-null; when sources disagree on a column's type it is read as text),
   each row tagged with ``_src_id``, ``_src_priority`` (and its ``_src_row``);
2. typing (``typing.py``): a non-empty value that cannot be cast becomes null (rule
   ``cast``, quarantined) and then counts as empty — except in a key column: where the
   column is the primary key or a foreign key, the record is removed (rule
   ``primary_key_empty`` or ``foreign_key``, the message naming the column, the value
   and its failed cast), for a null there would escape the key rule (an empty foreign key
   is not checked; the empty rule could fill an empty key);
3. merge ``coalesce`` (tables with a primary key): the records of one key become one, each
   column taking the highest-priority non-empty value (rule ``merge_coalesce`` lists the
   records folded into another). ``union`` keeps them all for step 6;
4. empty values per column, in declared order: ``pass``, ``fill`` (rule ``empty_fill``) or
   ``drop`` (rule ``empty_drop``);
5. ranges per column: ``clamp`` (rule ``range_clamp``) or ``drop`` (rule ``range_drop``);
   nulls are never out of range;
6. primary key: empty keys dropped, then the conflict strategy (``keys.py``);
7. foreign keys, against the referenced tables' cleaned output (``keys.py``); an empty
   foreign key is kept unless ``ForeignKey.allow_empty`` is False (rule
   ``foreign_key_empty``).

A record dropped by an earlier rule never takes part in a later one, so e.g. a high-priority
record with an out-of-range value that is dropped lets a lower-priority record of the same
key win the primary-key conflict. Every record a rule drops or changes gets a quarantine row
and counts in the ``RuleCount`` of that (table, rule, column).

How it is computed, so that it stays fast at tens of millions of rows: the row-local rules
(steps 2, 4, 5) are projections and filters, recomputed by every pass that reads the table
(a scan is cheaper than a copy). Each rule that needs the whole table — a key conflict, a
dangling foreign key — computes *the set of records it rejects* once, narrow (the row's
``_ord`` and what its quarantine row needs), and materializes it; the table goes on as an
anti-join with that set, and the quarantine rows come from it. So no blocking operation is
computed twice, and no full-width copy of a table is kept (only a coalesce merge, itself a
full-table aggregate, is materialized). The cleaned tables are views.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from privetl.engine.backends import Backend
from privetl.engine.clean import quarantine
from privetl.engine.clean.keys import (
    ORD,
    Materializer,
    check_foreign_key,
    dependency_order,
    resolve_primary_key,
)
from privetl.engine.clean.quarantine import RuleCount
from privetl.engine.clean.typing import IBIS_TYPES, is_empty, literal, type_column
from privetl.engine.errors import EngineError
from privetl.engine.metadata import (
    SOURCE_ID,
    SOURCE_PRIORITY,
    SOURCE_ROW,
    ColumnType,
    DataModule,
    Table,
)

__all__ = ["CleanResult", "RuleCount", "clean_tables", "load_table"]

ORD_SOURCE_STRIDE = 10**12
"""``_ord = source rank * stride + _src_row``: one int64 that sorts rows by (priority desc,
source id, row); a source may stage up to 10^12 rows."""
_RUNS = itertools.count(1)


class StagedLike(Protocol):
    """What cleaning needs of ``privetl.engine.extract.StagedSource``."""

    script_id: str
    table: str
    priority: int
    paths: list[Path]
    rows: int
    native_types: bool


@dataclass(frozen=True)
class CleanResult:
    """Cleaned tables (with ``_src_id``, ``_src_priority``, ``_src_row`` kept), the
    quarantine (None when no rule fired) and the per-rule counts."""

    tables: dict[str, ir.Table]
    quarantine: ir.Table | None
    counts: list[RuleCount] = field(default_factory=list)


def clean_tables(
    backend: Backend,
    module: DataModule,
    staged: list[Any],
    *,
    quarantine_file: Path | None = None,
    run_id: str | None = None,
) -> CleanResult:
    """Load, type, merge and clean every table of ``module`` (see the module docstring).

    With ``quarantine_file`` the quarantine rows (with a ``run_id`` column) are written
    straight to that Parquet file and the result's quarantine reads it back: computed once,
    never stored in the engine (bench, 10M rows, 925k rows: ~0.3 s less than storing them
    and then writing them). Without it the quarantine is an engine table.
    """
    run = next(_RUNS)
    pieces: list[ir.Table] = []
    cleaned: dict[str, ir.Table] = {}
    new_keys: dict[str, tuple[str, ir.Table]] = {}
    for table in dependency_order(module):
        sources = [s for s in staged if s.table == table.name]
        keep = _materializer(backend, f"{run}_{table.name}")
        cleaned[table.name] = _clean_table(
            backend, table, sources, cleaned, new_keys, pieces.append, keep, run=run
        )
    if not pieces:
        return CleanResult(tables=cleaned, quarantine=None, counts=[])
    union = ibis.union(*pieces, distinct=False)
    if quarantine_file is not None:
        backend.write_parquet(union.mutate(run_id=ibis.literal(run_id, type="string")), quarantine_file)
        q = backend.read_parquet([quarantine_file], name=f"privetl_quarantine_{run}")
    else:
        q = backend.materialize(union, f"privetl_quarantine_{run}")
    tally = q.group_by(["table", "rule", "column"]).aggregate(n=q.count())
    counts = [
        RuleCount(table=r["table"], rule=r["rule"], column=r["column"], rows_affected=int(r["n"]))
        for r in backend.rows(tally)
    ]
    counts.sort(key=lambda c: (c.table, c.rule, c.column))
    return CleanResult(tables=cleaned, quarantine=q, counts=counts)


def _materializer(backend: Backend, scope: str) -> Materializer:
    """``keep(expr, what)``: materialize under a name unique to this run and table."""
    serial = itertools.count(1)

    def keep(expr: ir.Table, what: str) -> ir.Table:
        return backend.materialize(expr, f"privetl_{what}_{scope}_{next(serial)}")

    return keep


def load_table(backend: Backend, table: Table, sources: list[Any], *, run: int = 0) -> ir.Table:
    """The union of a table's staged sources: declared columns + stage columns + ``_ord``."""
    ranked = sorted(sources, key=lambda s: (-int(s.priority), s.script_id))
    parts: list[tuple[int, Any, ir.Table]] = []
    for rank, source in enumerate(ranked):
        if not source.paths:
            continue
        t = _read_source(backend, source, name=f"privetl_stage_{run}_{source.script_id}")
        parts.append((rank, source, t))
    declared = table.column_names
    types: dict[str, dt.DataType] = {}
    for name in declared:
        seen = {t[name].type() for _, _, t in parts if name in t.columns and not t[name].type().is_null()}
        types[name] = seen.pop() if len(seen) == 1 else dt.string
    if not parts:
        schema = ibis.schema(
            {**dict.fromkeys(declared, dt.string), SOURCE_ID: dt.string, SOURCE_PRIORITY: dt.int64,
             SOURCE_ROW: dt.int64, ORD: dt.int64}
        )
        return backend.empty_table(schema, name=f"privetl_empty_{run}_{table.name}")
    selects = []
    for rank, source, t in parts:
        cols = {
            name: (t[name].cast(types[name]) if name in t.columns and not t[name].type().is_null()
                   else ibis.null(types[name]))
            for name in declared
        }
        row = t[SOURCE_ROW].cast(dt.int64)
        selects.append(
            t.select(
                **cols,
                **{
                    SOURCE_ID: ibis.literal(source.script_id, type=dt.string),
                    SOURCE_PRIORITY: ibis.literal(int(source.priority), type=dt.int64),
                    SOURCE_ROW: row,
                    ORD: ibis.literal(rank * ORD_SOURCE_STRIDE, type=dt.int64) + row,
                },
            )
        )
    return selects[0] if len(selects) == 1 else ibis.union(*selects, distinct=False)


def _read_source(backend: Backend, source: Any, *, name: str) -> ir.Table:
    """A staged source as a table of declared columns (those it has) plus ``_src_row``.

    A source read in place (``StagedSource.in_place``) keeps its own field names and has no
    row ordinal: the backend numbers its rows, and ``mapping`` is applied here.
    """
    in_place = getattr(source, "in_place", None)
    if in_place is None:
        return backend.read_parquet(list(source.paths), name=name)
    t = backend.read_parquet(list(source.paths), name=name, row_index=SOURCE_ROW)
    present = {column: t[field] for column, field in in_place.fields.items() if field is not None}
    return t.select(**present, **{SOURCE_ROW: t[SOURCE_ROW]})


def _bad(name: str) -> str:
    return f"_bad_{name}"


def _clean_table(
    backend: Backend,
    table: Table,
    sources: list[Any],
    cleaned: dict[str, ir.Table],
    new_keys: dict[str, tuple[str, ir.Table]],
    sink: Any,
    keep: Materializer,
    *,
    run: int,
) -> ir.Table:
    """Steps 1-7 of the module docstring for one table."""
    name = table.name
    pk = table.primary_key.column if table.primary_key else None
    raw = load_table(backend, table, sources, run=run)

    # 2. typing; the raw text of a failed cast is kept in _bad_<col> until quarantined
    values: dict[str, ir.Value] = {}
    castable = []
    for column in table.columns:
        typed = type_column(raw[column.name], column.type)
        values[column.name] = typed.value
        if typed.can_fail:
            castable.append(column)
            values[_bad(column.name)] = ibis.ifelse(typed.failed, raw[column.name].cast(dt.string), ibis.null(dt.string))
    stage = {c: raw[c] for c in (SOURCE_ID, SOURCE_PRIORITY, SOURCE_ROW, ORD)}
    t = raw.select(**values, **stage)
    keys = _key_rules(table)
    for column in castable:
        bad = t[_bad(column.name)]
        failed = t.filter(bad.notnull())
        key_rule = keys.get(column.name)
        sink(
            quarantine.rows(
                failed, table=name, pk=pk, column=column.name, rule="cast", value=failed[_bad(column.name)],
                message=f"not a valid {column.type.value}: "
                + ("set to empty" if key_rule is None else f"record dropped by rule {key_rule[0]}"),
            )
        )
    # 2b. a key value that failed its cast removes its record: set to empty, it would escape
    # the key rules (an empty foreign key is not checked, an empty key may be filled)
    for column in castable:
        if column.name not in keys:
            continue
        key_rule_name, what = keys[column.name]
        bad = t[_bad(column.name)]
        failed = t.filter(bad.notnull())
        sink(
            quarantine.rows(
                failed, table=name, pk=pk, column=column.name, rule=key_rule_name, value=failed[_bad(column.name)],
                message=ibis.literal(f"{column.name} ") + failed[_bad(column.name)]
                + f" is not a valid {column.type.value} (failed cast), so {what}: record dropped",
            )
        )
        t = t.filter(bad.isnull())
    t = t.drop(*[_bad(c.name) for c in castable])

    # 3. merge
    if table.merge == "coalesce" and pk is not None:
        t = _coalesce(t, table, sink, keep)

    # 4. empty values
    for column in table.columns:
        rule = column.empty
        if rule.strategy == "pass":
            continue
        col = t[column.name]
        empty = is_empty(col)
        affected = t.filter(empty)
        if rule.strategy == "fill":
            try:
                fill = literal(column.type, rule.value)
            except (TypeError, ValueError) as exc:
                raise EngineError(f"table {name!r} column {column.name!r}: fill value {rule.value!r}: {exc}") from exc
            sink(
                quarantine.rows(
                    affected, table=name, pk=pk, column=column.name, rule="empty_fill",
                    value=affected[column.name], message=f"empty: filled with {rule.value}",
                )
            )
            t = t.mutate(**{column.name: ibis.ifelse(empty, fill, col)})
        else:
            sink(
                quarantine.rows(
                    affected, table=name, pk=pk, column=column.name, rule="empty_drop",
                    value=affected[column.name], message="empty: record dropped",
                )
            )
            t = t.filter(~empty)

    # 5. ranges
    for column in table.columns:
        rng = column.range
        if rng is None or column.type not in (ColumnType.INTEGER, ColumnType.DOUBLE, ColumnType.DATE, ColumnType.DATETIME):
            continue
        col = t[column.name]
        low = literal(column.type, rng.min) if rng.min is not None else None
        high = literal(column.type, rng.max) if rng.max is not None else None
        below = (col < low) if low is not None else ibis.literal(False)
        above = (col > high) if high is not None else ibis.literal(False)
        outside = col.notnull() & (below | above)
        affected = t.filter(outside)
        bounds = f"[{'' if rng.min is None else rng.min}, {'' if rng.max is None else rng.max}]"
        if rng.on_violation == "clamp":
            sink(
                quarantine.rows(
                    affected, table=name, pk=pk, column=column.name, rule="range_clamp",
                    value=affected[column.name], message=f"outside {bounds}: clamped to the nearest bound",
                )
            )
            clamped = col
            if low is not None:
                clamped = ibis.ifelse(col < low, low, clamped)
            if high is not None:
                clamped = ibis.ifelse(col > high, high, clamped)
            t = t.mutate(**{column.name: clamped.cast(IBIS_TYPES[column.type])})
        else:
            sink(
                quarantine.rows(
                    affected, table=name, pk=pk, column=column.name, rule="range_drop",
                    value=affected[column.name], message=f"outside {bounds}: record dropped",
                )
            )
            t = t.filter(~outside)

    # 6. primary key
    if table.primary_key is not None:
        t, regenerated = resolve_primary_key(t, table, sink, keep)
        if regenerated is not None:
            new_keys[name] = (table.primary_key.column, regenerated)

    # 7. foreign keys, each against the referenced table's cleaned output (a self-reference:
    # this table's own records after steps 1-6)
    own = t
    for fk in table.foreign_keys:
        referenced = own if fk.references_table == name else cleaned[fk.references_table]
        t = check_foreign_key(t, table, fk, referenced, sink, keep, new_keys=_new_keys_of(new_keys, fk))

    ordered = [*table.column_names, SOURCE_ID, SOURCE_PRIORITY, SOURCE_ROW]
    return backend.reuse(t.select(*ordered), f"privetl_clean_{run}_{name}")


def _key_rules(table: Table) -> dict[str, tuple[str, str]]:
    """Key columns -> (the rule that removes a record whose value there failed its cast,
    what that value would have escaped), for the quarantine's message."""
    rules: dict[str, tuple[str, str]] = {}
    for fk in table.foreign_keys:
        refs = f"{fk.references_table}.{fk.references_column}"
        rules.setdefault(fk.column, ("foreign_key", f"the foreign key {fk.column} -> {refs} cannot be checked"))
    if table.primary_key is not None:
        column = table.primary_key.column
        rules[column] = ("primary_key_empty", f"the primary key {column} would be empty")
    return rules


def _new_keys_of(new_keys: dict[str, tuple[str, ir.Table]], fk: Any) -> ir.Table | None:
    """The referenced table's regenerated keys, when ``fk`` references that key column."""
    column, regenerated = new_keys.get(fk.references_table, (None, None))
    return regenerated if column == fk.references_column else None


def _coalesce(t: ir.Table, table: Table, sink: Any, keep: Materializer) -> ir.Table:
    """One record per primary key; each column its highest-priority non-empty value.

    A full-table aggregate: its result is materialized, and the records folded into
    another are the staged ones that are not in it."""
    assert table.primary_key is not None
    pk = table.primary_key.column
    keyed = t.filter(t[pk].notnull())
    aggs: dict[str, ir.Value] = {}
    for column in table.columns:
        if column.name == pk:
            continue
        col = keyed[column.name]
        aggs[column.name] = col.argmin(keyed[ORD], where=~is_empty(col))
    for stage in (SOURCE_ID, SOURCE_PRIORITY, SOURCE_ROW):
        aggs[stage] = keyed[stage].argmin(keyed[ORD])
    aggs[ORD] = keyed[ORD].min()
    merged = keyed.group_by(pk).aggregate(**aggs)
    # records without a key are left for the primary-key step (which drops them, quarantined)
    rest = t.filter(t[pk].isnull())
    result = keep(merged.select(*t.columns).union(rest.select(*t.columns), distinct=False), "merged")
    folded = keyed.anti_join(result, ORD)
    sink(
        quarantine.rows(
            folded, table=table.name, pk=pk, column=pk, rule="merge_coalesce", value=folded[pk],
            message=ibis.literal("merged into the record of its key from a higher-priority source; this one from ")
            + quarantine.source_key(folded),
        )
    )
    return result
