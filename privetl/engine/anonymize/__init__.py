"""Anonymization (feature 7): per-column rules, then anatomization, on every engine alike.

``anonymize_table`` applies a table's rules in a fixed order, so that each sees what it
should:

1. the record key of every record is computed first, from the values as cleaned (so a
   rule on the key column itself does not change the randomness of the others);
2. column-local rules — generalize, suppress, perturb — in declared column order;
3. privacy enforcement (the caller's ``privacy``), when no permuted column is a
   quasi-identifier or sensitive attribute: the classes are the same before and after the
   shuffle, and measuring them then needs no shuffle;
4. permutations, after the generalizations, so that ``within: [zip]`` shuffles among
   records sharing the *published* (generalized) zip, not the raw one — and after privacy
   suppression, so a column is shuffled among the records actually published;
5. privacy enforcement here instead, when a permuted column is a privacy column;
6. pseudonyms last (``pseudonymize.py``): privacy suppression and the foreign-key checks
   that follow it see the identifiers as cleaned, and a foreign key's tokens are the same
   function of the same values as its referenced key's;
7. the technical staging columns are dropped: only declared columns are published;
8. anatomization, when declared, splits the result into ``<t>_qit`` and ``<t>_st``.

Everything seeded is keyed by ``SeedKey`` (see ``seeded.py``): the same input, metadata,
seed and secret give the same output, on DuckDB and on Spark.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis.expr.types as ir

from privetl.engine.anonymize.anatomy import anatomize, verify_anatomy
from privetl.engine.anonymize.columns import generalize, permute, perturb, perturb_hashes, suppress
from privetl.engine.anonymize.pseudonymize import PseudonymKey, check_collisions, pseudonymize
from privetl.engine.anonymize.seeded import (
    SeedKey,
    keyed_hash,
    record_key,
    uniform,
    with_keyed_hashes,
)
from privetl.engine.backends import Backend
from privetl.engine.metadata import Generalize, Permute, Perturb, Suppress, Table

__all__ = [
    "PseudonymKey",
    "SeedKey",
    "anonymize_table",
    "check_collisions",
    "keyed_hash",
    "record_key",
    "uniform",
    "verify_anatomy",
]

_RECORD = "_privetl_record"


def anonymize_table(
    backend: Backend,
    expr: ir.Table,
    table: Table,
    *,
    key: SeedKey,
    unique_records: bool = False,
    privacy: Callable[[ir.Table, str | None], ir.Table] | None = None,
    pseudonyms: PseudonymKey | None = None,
) -> dict[str, ir.Table]:
    """The published table(s) of ``table``: ``{name: expr}``, one entry, or two when anatomized.

    ``unique_records``: the caller knows each record's key is unique (a cleaned primary key
    no transformation rewrote), so a shuffle may sort only the shuffled column and join it
    back, instead of sorting whole records. ``privacy(table, record)`` enforces the table's
    privacy targets on a table (see step 3/5 of the module docstring); ``record`` is the
    column of unique record keys when ``unique_records``, else None. It is not applied to an
    anatomized table. ``pseudonyms``: the module key of the pseudonymized columns (step 6).
    """
    published = [c for c in table.column_names if c in expr.columns]
    # only what is published (and the record key) goes on: the staging columns would be
    # carried through the shuffle for nothing
    t = expr.select(*published, **{_RECORD: record_key(expr, table)})
    hashes: dict[str, tuple[str, ...]] = {}
    for column in table.columns:
        if isinstance(column.anonymize, Perturb) and column.name in t.columns:
            hashes.update(perturb_hashes(column, column.anonymize))
    t = with_keyed_hashes(t, key, _RECORD, hashes)
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
            changes[column.name] = perturb(value, column, op, hashes=t)
    if changes:
        t = t.mutate(**changes)
    t = t.drop(*hashes)
    permuted = [c for c in table.columns if isinstance(c.anonymize, Permute) and c.name in t.columns]
    enforce = privacy if table.anatomize is None else None
    unique = _RECORD if unique_records else None
    private = set(table.privacy.quasi_identifiers) | set(table.privacy.sensitive) if table.privacy else set()
    if enforce is not None and not ({c.name for c in permuted} & private):
        t, enforce = enforce(t, unique), None
    for column in permuted:
        assert isinstance(column.anonymize, Permute)
        t = permute(
            t, column.name, list(column.anonymize.within), key=key, record=t[_RECORD], narrow=unique_records
        )
    if table.anatomize is not None:
        t = pseudonymize(backend, t, table, pseudonyms)
        return anatomize(
            backend, t, table.anatomize, table_name=table.name, key=key, record=t[_RECORD]
        )
    if enforce is not None:
        t = enforce(t, unique)
    return {table.name: pseudonymize(backend, t, table, pseudonyms).select(*published)}
