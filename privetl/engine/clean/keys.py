"""Primary keys (feature 5), foreign keys (feature 6) and the order tables are cleaned in.

Every strategy is deterministic, using the staged rows' order ``_ord`` (see
``privetl.engine.clean``): highest ``_src_priority`` first, ties broken by the lowest
``_src_id``, then the lowest ``_src_row``. Group-by + semi/anti joins are used instead of
window functions over the whole table (the issue's bench: 1.5x faster); the one window left
numbers only the duplicates of ``regenerate``.

Each strategy computes the one full-table aggregate it needs (which keys occur more than
once) a single time, and materializes only the records it rejects or renames — usually a
small set. The table goes on as an anti-join with that set (on ``_ord``, unique per staged
row), and the quarantine rows are read from it.

Regenerated keys and foreign keys: the first record of a duplicated key (by ``_ord``) keeps
the original key and the duplicates get new ones, so a foreign key elsewhere holding that
value resolves to the record that kept it — the one from the highest-priority source. A new
key did not exist in any source, so no foreign key can mean it: a foreign-key value that
equals a new key is dangling, like any value that matches no original key, and its record
is dropped (``validate`` also refuses a range maximum on a regenerated key, which the new
keys would exceed).

Foreign keys: a record is dropped when its value is not in the referenced column of the
referenced table *after that table's cleaning* (tables are cleaned in dependency order); a
null foreign-key value is kept, as in SQL, unless the foreign key says ``allow_empty: False``
(rule ``foreign_key_empty``). A value that failed its cast never gets here as a null: its
record was removed right after typing (``privetl.engine.clean``, rule ``foreign_key``).
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from privetl.engine.clean import quarantine
from privetl.engine.clean.typing import is_empty
from privetl.engine.errors import EngineError
from privetl.engine.metadata import SOURCE_ID, SOURCE_ROW, DataModule, ForeignKey, Table

ORD = "_ord"
QuarantineSink = Callable[[ir.Table], None]
Materializer = Callable[[ir.Table, str], ir.Table]
"""``keep(expr, what)``: compute ``expr`` once and return the stored result."""
NEW_KEY = "_new"


def dependency_order(module: DataModule) -> list[Table]:
    """Tables with referenced tables first; ties keep declared order; a cycle is an error."""
    names = [t.name for t in module.tables]
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for table in module.tables:
        refs = []
        for fk in table.foreign_keys:
            if fk.references_table not in names:
                raise EngineError(
                    f"table {table.name!r}: foreign key {fk.column!r} references missing table {fk.references_table!r}"
                )
            if fk.references_table != table.name:  # a self reference is checked after own cleaning
                refs.append(fk.references_table)
        sorter.add(table.name, *refs)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise EngineError(f"foreign keys form a cycle: {cycle}") from exc
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=names.index)
        ordered.extend(ready)
        sorter.done(*ready)
    return [module.table(n) for n in ordered]


def resolve_primary_key(
    t: ir.Table, table: Table, sink: QuarantineSink, keep: Materializer
) -> tuple[ir.Table, ir.Table | None]:
    """Records with an empty key are dropped; then the conflict strategy makes keys unique.

    Returns the table and, for ``regenerate``, the new keys (one column ``_new``) so that
    foreign keys can tell them from original ones.
    """
    assert table.primary_key is not None
    pk = table.primary_key.column
    name = table.name
    sink(
        quarantine.rows(
            t.filter(t[pk].isnull()),
            table=name, pk=pk, column=pk, rule="primary_key_empty", value=None,
            message="empty primary key: record dropped",
        )
    )
    t = t.filter(t[pk].notnull())
    strategy = table.primary_key.on_conflict
    counts = t.group_by(pk).aggregate(_n=t.count())
    # the one full-table aggregate of this step; every later use reads the stored keys
    conflicting = keep(counts.filter(counts._n > 1).select(pk), "conflicts")
    if strategy == "drop_all":
        dropped = t.semi_join(conflicting, pk)
        sink(
            quarantine.rows(
                dropped, table=name, pk=pk, column=pk, rule="primary_key_drop_all", value=dropped[pk],
                message=ibis.literal("conflicting key: every record of it dropped; this one from ")
                + quarantine.source_key(dropped),
            )
        )
        return t.anti_join(conflicting, pk), None
    # the records of a conflicting key after its first one (by _ord)
    dups = t.semi_join(conflicting, pk)
    if strategy == "source_priority":
        # read twice below: stored once, narrow (each read would rescan every source)
        dups = keep(dups.select(pk, ORD, SOURCE_ID, SOURCE_ROW), "duplicates")
    # a window per key, not min(_ord) joined back: DuckDB groups an integer key of a bounded
    # range into an array of the whole range (perfect_ht_threshold), which a few conflicting
    # keys spread over it make slow (bench, 10M rows: 0.43 s -> ~0.1 s)
    extra = dups.filter(ibis.row_number().over(group_by=dups[pk], order_by=dups[ORD]) > 0)
    if strategy == "source_priority":
        losers = keep(extra.select(pk, ORD, SOURCE_ID, SOURCE_ROW), "losers")
        sink(
            quarantine.rows(
                losers, table=name, pk=pk, column=pk, rule="primary_key_source_priority",
                value=losers[pk],
                message=ibis.literal("duplicate key: a record from a higher-priority source was kept; dropped record from ")
                + quarantine.source_key(losers),
            )
        )
        return t.anti_join(losers, ORD), None
    return _regenerate(t, table, extra, sink, keep)


def _regenerate(
    t: ir.Table, table: Table, extra: ir.Table, sink: QuarantineSink, keep: Materializer
) -> tuple[ir.Table, ir.Table]:
    """Keep all records; duplicates (all but the first of a key) get new keys.

    Integer keys: ``max(key) + n`` with ``n`` numbering the duplicates of the whole table
    from 1 in ``_ord`` order. String keys: ``key~n`` with ``n`` numbering the duplicates of
    that key from 1.
    """
    assert table.primary_key is not None
    pk = table.primary_key.column
    key_type = t[pk].type()
    if key_type.is_integer():
        top = t[pk].max().as_scalar()
        numbered = extra.mutate(**{NEW_KEY: top + ibis.row_number().over(order_by=extra[ORD]) + 1})
    else:
        n = ibis.row_number().over(group_by=extra[pk], order_by=extra[ORD]) + 1
        numbered = extra.mutate(**{NEW_KEY: extra[pk].cast("string") + "~" + n.cast("string")})
    renamed = keep(numbered.mutate(**{NEW_KEY: numbered[NEW_KEY].cast(key_type)}), "renamed")
    sink(
        quarantine.rows(
            renamed, table=table.name, pk=pk, column=pk, rule="primary_key_regenerate",
            value=renamed[pk],
            message=ibis.literal("duplicate key: given the new key ") + renamed[NEW_KEY].cast("string"),
        )
    )
    kept = t.anti_join(renamed, ORD)
    moved = renamed.mutate(**{pk: renamed[NEW_KEY]}).drop(NEW_KEY)
    # a stored table may come back with narrower types (Spark reads an int64 literal column
    # as int32): the union needs the table's own
    aligned = moved.select(**{c: moved[c].cast(kept[c].type()) for c in kept.columns})
    return kept.union(aligned, distinct=False), renamed.select(NEW_KEY)


def check_foreign_key(
    t: ir.Table,
    table: Table,
    fk: ForeignKey,
    referenced: ir.Table,
    sink: QuarantineSink,
    keep: Materializer,
    *,
    new_keys: ir.Table | None = None,
) -> ir.Table:
    """Drop records whose non-null ``fk.column`` is not in the referenced column.

    ``new_keys`` are the referenced table's regenerated keys (when ``fk`` references its
    primary key): they are not valid targets (see the module docstring).
    """
    pk = table.primary_key.column if table.primary_key else None
    if not fk.allow_empty:
        empty = is_empty(t[fk.column])
        sink(
            quarantine.rows(
                t.filter(empty), table=table.name, pk=pk, column=fk.column, rule="foreign_key_empty",
                value=None,
                message=f"foreign key is empty (no {fk.references_table}.{fk.references_column}), "
                "and it does not allow empty values: record dropped",
            )
        )
        t = t.filter(~empty)
    left = t[fk.column]
    right = referenced[fk.references_column]
    if left.type() != right.type():
        left_key, right_key = left.cast("string"), right.cast("string")
    else:
        left_key, right_key = left, right
    keys = referenced.select(_ref=right_key)
    if new_keys is not None:
        keys = keys.anti_join(new_keys, keys._ref == new_keys[NEW_KEY].cast(right_key.type()))
    probe = t.mutate(_fk=left_key).filter(lambda p: p._fk.notnull())
    wanted = list(dict.fromkeys([*([pk] if pk else []), fk.column, ORD, SOURCE_ID, SOURCE_ROW]))
    dangling = keep(probe.anti_join(keys, probe._fk == keys._ref).select(*wanted), "dangling")
    sink(
        quarantine.rows(
            dangling, table=table.name, pk=pk, column=fk.column, rule="foreign_key",
            value=dangling[fk.column],
            message=f"no such {fk.references_table}.{fk.references_column}: record dropped",
        )
    )
    return t.anti_join(dangling, ORD)
