"""Reading and editing a verified output table before it is published (the outbox).

A run's verified table waits as one Parquet file. A Data-Manager pages through it
(``preview``), looks at its columns (``column_statistics``) and adds, edits or deletes
records by primary key (``edit_records``): DuckDB reads the file, applies the changes in its
own memory and writes a *new* file — the data never passes through Python rows, and the old
file stays until the platform has recorded the new one, so a failed or refused edit leaves
nothing half-written.

Values are checked against the output's column types (a cast DuckDB refuses is an error
naming the column and the value) and against the table's field rules in the document: a
value outside the column's ``privetl:range``, or empty where ``privetl:empty`` would have
dropped or filled it, is refused. So is a value that looks like personal data (a pattern of
``privetl.engine.personal_data``: an e-mail address, a phone number, ...) in a published
column with no anonymization rule that the module does not mark ``"privetl:public": true``:
the run's guard checked that column before it got here, and an edit would otherwise publish
what the guard keeps out. Each change reports the record before and after, for the audit log.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from privetl.engine.errors import EngineError
from privetl.engine.metadata import ColumnType, DataModule, Table
from privetl.engine.personal_data import unprotected_columns, value_patterns


class RecordChangeError(EngineError):
    """A change that cannot be applied: names the change, the key and what is wrong."""


@dataclass(frozen=True)
class RecordChange:
    """One change by primary key: ``add`` a whole record, ``edit`` some columns, ``delete``."""

    kind: str
    key: str = ""
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AppliedChange:
    """What one change did: the record before and after (None for an add / a delete)."""

    kind: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class EditResult:
    """The edited file's path, its row count and each change applied."""

    path: Path
    rows: int
    changes: list[AppliedChange]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def jsonable(value: Any) -> Any:
    """A value of a record as JSON shows it (dates ISO 8601, decimals as numbers)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.hex()
    return value


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or []]
    return [{n: jsonable(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def row_count(parquet: Path) -> int:
    """Rows of a Parquet file (from its footer)."""
    with duckdb.connect() as con:
        result = con.execute("SELECT count(*) FROM read_parquet(?)", [str(parquet)]).fetchone()
    return int(result[0]) if result else 0


def preview(
    parquet: Path, *, offset: int = 0, limit: int = 100, order_by: str | None = None
) -> list[dict[str, Any]]:
    """``limit`` records from ``offset``, in key order when ``order_by`` names the key."""
    if limit <= 0:
        return []
    order = f" ORDER BY {_quoted(order_by)}" if order_by else ""
    with duckdb.connect() as con:
        cursor = con.execute(
            f"SELECT * FROM read_parquet(?){order} LIMIT ? OFFSET ?",  # noqa: S608 - a quoted name
            [str(parquet), int(limit), int(offset)],
        )
        return _records(cursor)


def column_statistics(parquet: Path) -> list[dict[str, Any]]:
    """Per column: its type, nulls, distinct values, min and max (one scan)."""
    with duckdb.connect() as con:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(parquet)]).fetchall()
        names = [(str(row[0]), str(row[1])) for row in described]
        if not names:
            return []
        parts = []
        for name, _ in names:
            q = _quoted(name)
            parts.append(
                f"count(*) - count({q}), approx_count_distinct({q}), min({q})::VARCHAR, max({q})::VARCHAR"
            )
        row = con.execute(
            f"SELECT count(*), {', '.join(parts)} FROM read_parquet(?)",  # noqa: S608 - quoted names
            [str(parquet)],
        ).fetchone()
    assert row is not None
    stats = []
    for i, (name, type_name) in enumerate(names):
        nulls, distinct, low, high = row[1 + 4 * i : 5 + 4 * i]
        stats.append(
            {
                "column": name,
                "type": type_name,
                "rows": int(row[0]),
                "nulls": int(nulls),
                "distinct": int(distinct),
                "min": low,
                "max": high,
            }
        )
    return stats


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _check_rules(table: Table, values: dict[str, Any], *, what: str) -> None:
    """The table's field rules on the values a person gives."""
    columns = {c.name: c for c in table.columns}
    for name, value in values.items():
        column = columns.get(name)
        if column is None:
            continue
        if _empty(value) and column.empty.strategy in ("drop", "fill"):
            raise RecordChangeError(
                f"{what}: {name} may not be empty (its field rule would "
                f"{'drop the record' if column.empty.strategy == 'drop' else 'fill it'}); give a value"
            )
        if column.range is not None and not _empty(value):
            low, high = column.range.min, column.range.max
            try:
                if column.type in (ColumnType.INTEGER, ColumnType.DOUBLE):
                    number = float(value)
                    outside = (low is not None and number < float(low)) or (  # type: ignore[arg-type]
                        high is not None and number > float(high)  # type: ignore[arg-type]
                    )
                elif column.type == ColumnType.DATE:
                    day = dt.date.fromisoformat(str(value))
                    outside = (low is not None and day < low) or (high is not None and day > high)  # type: ignore[operator]
                else:
                    outside = False
            except (TypeError, ValueError):
                continue  # the cast reports it, naming the column
            if outside:
                raise RecordChangeError(
                    f"{what}: {name} = {value!r} is outside the column's range "
                    f"[{'' if low is None else low}, {'' if high is None else high}]"
                )


def _check_personal(table: Table, values: dict[str, Any], *, what: str) -> None:
    """Refuse a value that looks personal in a published column no rule protects.

    The columns are those the run's guard scans (``unprotected_columns``: published, no
    anonymization rule, of a type some pattern is looked for in), less those marked public.
    The message names the column and the pattern, never the value (it is personal data);
    it starts with the column's name, so the UI shows it at that column's input.
    """
    for column in unprotected_columns(table, values):
        value = values[column.name]
        if column.public or _empty(value):
            continue
        matched = value_patterns(str(value), column.type)
        if matched:
            raise RecordChangeError(
                f"{what}: {column.name} is given a value matching the pattern {matched[0]!r} "
                f"(personal data), and {table.name}.{column.name} has no anonymization rule, so "
                "it would be published as written. Give a value that is not personal data, or "
                "give the column a rule (privetl:anonymize) in the data module, or mark it "
                '"privetl:public": true if such values are public, and run the task again'
            )


def edit_records(
    module: DataModule,
    table_name: str,
    parquet: Path,
    out: Path,
    changes: Iterable[RecordChange],
) -> EditResult:
    """Apply ``changes`` to the table in ``parquet``, writing the result to ``out``.

    All or nothing: the first change that cannot be applied raises ``RecordChangeError``
    (naming it) and ``out`` is not written: a value the column's type or field rules refuse,
    or one that looks like personal data in a column no rule protects (``_check_personal``).
    ``out`` appears atomically (written beside, then renamed).
    """
    table = module.table(table_name)
    if table.primary_key is None:
        raise RecordChangeError(
            f"table {table_name!r} has no primary key, so its records cannot be addressed; "
            "edit the source and run the task again"
        )
    key = table.primary_key.column
    qkey = _quoted(key)
    applied: list[AppliedChange] = []
    temporary = out.with_name(out.name + ".tmp")
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?)", [str(parquet)])
        types = {str(r[0]): str(r[1]) for r in con.execute("DESCRIBE t").fetchall()}

        def find(key_value: str, what: str = "") -> dict[str, Any] | None:
            query = f"SELECT * FROM t WHERE {qkey} = ?::{types[key]}"  # noqa: S608 - quoted names
            try:
                rows = _records(con.execute(query, [key_value]))
            except duckdb.Error:
                raise RecordChangeError(
                    f"{what}: no record has {key} = {key_value!r} (the key is of type {types[key]})"
                ) from None
            return rows[0] if rows else None

        def cast_error(exc: Exception, what: str) -> RecordChangeError:
            return RecordChangeError(f"{what}: {str(exc).splitlines()[0]}")

        for number, change in enumerate(changes, start=1):
            what = f"change {number} ({change.kind} {change.key or change.values.get(key)!r})"
            unknown = sorted(set(change.values) - set(types))
            if unknown:
                raise RecordChangeError(
                    f"{what}: {unknown[0]!r} is not a column of {table_name}; its columns are "
                    + ", ".join(types)
                )
            if change.kind == "delete":
                before = find(change.key, what)
                if before is None:
                    raise RecordChangeError(f"{what}: no record has {key} = {change.key!r}")
                con.execute(f"DELETE FROM t WHERE {qkey} = ?::{types[key]}", [change.key])  # noqa: S608
                applied.append(AppliedChange("delete", change.key, before, None))
            elif change.kind == "edit":
                if key in change.values and str(change.values[key]) != change.key:
                    raise RecordChangeError(
                        f"{what}: the key {key} cannot be edited; delete and add instead"
                    )
                before = find(change.key, what)
                if before is None:
                    raise RecordChangeError(f"{what}: no record has {key} = {change.key!r}")
                _check_rules(table, change.values, what=what)
                _check_personal(table, change.values, what=what)
                if change.values:
                    sets = ", ".join(f"{_quoted(c)} = ?::{types[c]}" for c in change.values)
                    try:
                        con.execute(
                            f"UPDATE t SET {sets} WHERE {qkey} = ?::{types[key]}",  # noqa: S608
                            [
                                *(None if v is None else str(v) for v in change.values.values()),
                                change.key,
                            ],
                        )
                    except duckdb.Error as exc:
                        raise cast_error(exc, what) from None
                applied.append(AppliedChange("edit", change.key, before, find(change.key)))
            elif change.kind == "add":
                missing = [c for c in types if c not in change.values]
                if missing:
                    raise RecordChangeError(
                        f"{what}: an added record needs every column; missing {', '.join(missing)}"
                    )
                key_value = change.values[key]
                if _empty(key_value):
                    raise RecordChangeError(f"{what}: the key {key} may not be empty")
                if find(str(key_value), what) is not None:
                    raise RecordChangeError(
                        f"{what}: a record with {key} = {key_value!r} exists; edit it instead"
                    )
                _check_rules(table, change.values, what=what)
                _check_personal(table, change.values, what=what)
                columns = list(types)
                placeholders = ", ".join(f"?::{types[c]}" for c in columns)
                try:
                    con.execute(
                        f"INSERT INTO t ({', '.join(_quoted(c) for c in columns)}) VALUES ({placeholders})",  # noqa: S608
                        [
                            None if change.values[c] is None else str(change.values[c])
                            for c in columns
                        ],
                    )
                except duckdb.Error as exc:
                    raise cast_error(exc, what) from None
                applied.append(AppliedChange("add", str(key_value), None, find(str(key_value))))
            else:
                raise RecordChangeError(
                    f"{what}: unknown kind {change.kind!r}; use add, edit or delete"
                )
        result = con.execute("SELECT count(*) FROM t").fetchone()
        rows = int(result[0]) if result else 0
        # In the table's own order (the run shuffled it; a key order would undo that), with
        # the verified output's exact Arrow schema (types, nullability), through Arrow.
        schema = pq.read_schema(parquet).remove_metadata()
        edited = con.execute("SELECT * FROM t").to_arrow_table()
        assert edited is not None
        try:
            edited = edited.select(schema.names).cast(schema)
        except (pa.ArrowInvalid, ValueError) as exc:
            raise RecordChangeError(
                f"the edited {table_name} does not fit its columns: {exc}"
            ) from None
        pq.write_table(edited, temporary)
    os.replace(temporary, out)
    return EditResult(path=out, rows=rows, changes=applied)
