"""Anonymization (feature 7): per-column rules, then anatomization, on every engine alike.

``anonymize_table`` applies a table's rules in a fixed order, so that each sees what it
should:

1. the record key of every record is computed first, from the values as cleaned (so a
   rule on the key column itself does not change the randomness of the others);
2. column-local rules — generalize, suppress, perturb — in declared column order;
3. permutations, after the generalizations, so that ``within: [zip]`` shuffles among
   records sharing the *published* (generalized) zip, not the raw one;
4. the technical staging columns are dropped: only declared columns are published;
5. anatomization, when declared, splits the result into ``<t>_qit`` and ``<t>_st``.

Everything seeded is keyed by ``SeedKey`` (see ``seeded.py``): the same input, metadata,
seed and secret give the same output, on DuckDB and on Spark.
"""

from __future__ import annotations

import ibis.expr.types as ir

from privetl.engine.anonymize.anatomy import anatomize, verify_anatomy
from privetl.engine.anonymize.columns import generalize, permute, perturb, suppress
from privetl.engine.anonymize.seeded import SeedKey, keyed_hash, record_key, uniform
from privetl.engine.backends import Backend
from privetl.engine.metadata import Generalize, Permute, Perturb, Suppress, Table

__all__ = ["SeedKey", "anonymize_table", "keyed_hash", "record_key", "uniform", "verify_anatomy"]

_RECORD = "_privetl_record"


def anonymize_table(backend: Backend, expr: ir.Table, table: Table, *, key: SeedKey) -> dict[str, ir.Table]:
    """The published table(s) of ``table``: ``{name: expr}``, one entry, or two when anatomized."""
    published = [c for c in table.column_names if c in expr.columns]
    t = expr.mutate(**{_RECORD: record_key(expr, table)})
    record = t[_RECORD]
    changes = {}
    for column in table.columns:
        op = column.anonymize
        if column.name not in t.columns or op is None:
            continue
        value = t[column.name]
        if isinstance(op, Generalize):
            changes[column.name] = generalize(value, column, op)
        elif isinstance(op, Suppress):
            changes[column.name] = suppress(value, column, op)
        elif isinstance(op, Perturb):
            changes[column.name] = perturb(value, column, op, key=key, record=record)
    if changes:
        t = t.mutate(**changes)
    for column in table.columns:
        if isinstance(column.anonymize, Permute) and column.name in t.columns:
            t = permute(t, column.name, list(column.anonymize.within), key=key, record=t[_RECORD])
    if table.anatomize is not None:
        return anatomize(
            backend, t, table.anatomize, table_name=table.name, key=key, record=t[_RECORD]
        )
    return {table.name: t.select(*published)}
