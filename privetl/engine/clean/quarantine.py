"""Quarantine rows and rule counts: every record a rule drops or changes leaves a trace.

Quarantine columns are all strings (``QUARANTINE_COLUMNS`` minus the runner's ``run_id``):
``record_key`` (the primary-key value, or ``<source id>:<source row>`` for tables without
one or a record whose key is empty), ``table``, ``column``, ``rule``, ``value`` (the value
before the rule, as text; null when it was empty) and ``message``. The quarantine holds raw
rejected values: it is private, written beside the report and never published.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir

from privetl.engine.metadata import SOURCE_ID, SOURCE_ROW

COLUMNS = ("record_key", "table", "column", "rule", "value", "message")


@dataclass(frozen=True)
class RuleCount:
    """How many records one rule dropped or changed in one column of one table."""

    table: str
    rule: str
    column: str
    rows_affected: int


def source_key(t: ir.Table) -> ir.StringValue:
    """``<source id>:<source row>``: the identity of a staged row."""
    return t[SOURCE_ID] + ":" + t[SOURCE_ROW].cast("string")


def record_key(t: ir.Table, pk: str | None) -> ir.StringValue:
    """The primary-key value as text, falling back to the staged row's identity."""
    if pk is None:
        return source_key(t)
    return t[pk].cast("string").fill_null(source_key(t))


def rows(
    t: ir.Table,
    *,
    table: str,
    pk: str | None,
    column: str,
    rule: str,
    value: ir.Value | None,
    message: str | ir.StringValue,
) -> ir.Table:
    """Quarantine rows for every record of ``t`` (already filtered to the affected ones)."""
    message_value = ibis.literal(message) if isinstance(message, str) else message
    return t.select(
        record_key=record_key(t, pk),
        table=ibis.literal(table),
        column=ibis.literal(column),
        rule=ibis.literal(rule),
        value=(value.cast("string") if value is not None else ibis.null("string")),
        message=message_value.cast("string"),
    )


_PAGE = """
    SELECT file_row_number, record_key, "table", "column", rule, value, message
    FROM read_parquet($path, file_row_number = true)
    WHERE file_row_number > $after
      AND contains(lower(concat_ws(' ', record_key, "table", "column", rule, value, message)),
                   lower($search))
    ORDER BY file_row_number LIMIT $limit
"""
_COUNT = """
    SELECT count(*) FROM read_parquet($path)
    WHERE contains(lower(concat_ws(' ', record_key, "table", "column", rule, value, message)),
                   lower($search))
"""


def quarantine_page(
    path: Path, *, after: int, search: str, limit: int
) -> tuple[list[tuple[Any, ...]], int]:
    """Up to ``limit`` rows of a written quarantine after file row ``after`` that contain
    ``search`` in any column (any case, no wildcards: the text is bound, never spliced in),
    each as ``(file row, *COLUMNS)``, and how many rows match in all. DuckDB reads the file:
    only the page reaches Python, however many records were rejected."""
    with duckdb.connect() as con:
        rows = con.execute(
            _PAGE, {"path": str(path), "after": after, "search": search, "limit": limit}
        ).fetchall()
        counted = con.execute(_COUNT, {"path": str(path), "search": search}).fetchone()
    return [tuple(r) for r in rows], int(counted[0]) if counted else 0
