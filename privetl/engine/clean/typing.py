"""Typing (feature 3's first step): cast raw staged values to the declared column type.

Text sources stage every value as a string; typed sources may stage native values. Casts
are built from ``try_cast`` guarded by a strict pattern, so DuckDB and Spark agree on what
is castable (left alone, DuckDB rounds ``'1.5'`` to an integer while Spark truncates it;
Spark accepts ``'1 '`` in places DuckDB does not). Accepted text forms:

- integer: optional sign and digits (``+12``, ``-3``); no decimals, no exponent.
- double: decimal or scientific notation (``1.5``, ``.5``, ``1e-3``).
- boolean: ``true/false/1/0/yes/no``, any case.
- date: ISO ``YYYY-MM-DD`` (impossible dates such as ``2023-02-30`` fail).
- datetime: ISO ``YYYY-MM-DD[(T| )HH:MM[:SS[.ffffff]]][Z]``, read as UTC; other offsets fail.

Surrounding whitespace is ignored for every type but string. A value that is empty (null,
or only whitespace) is *empty*, not a failed cast; the column's empty rule decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from privetl.engine.metadata import ColumnType

IBIS_TYPES: dict[ColumnType, dt.DataType] = {
    ColumnType.INTEGER: dt.int64,
    ColumnType.DOUBLE: dt.float64,
    ColumnType.STRING: dt.string,
    ColumnType.BOOLEAN: dt.boolean,
    ColumnType.DATE: dt.date,
    ColumnType.DATETIME: dt.timestamp,
}
"""The Ibis type each column type is cast to (datetimes are naive UTC timestamps)."""

INTEGER_PATTERN = r"^[+-]?[0-9]+$"
DOUBLE_PATTERN = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?)?Z?$"
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


@dataclass(frozen=True)
class Typed:
    """A column after typing: its ``value``, whether the raw value was ``empty``, and
    ``failed`` (non-empty but not castable; ``value`` is then null). ``can_fail`` is False
    when no value of the source's type can fail the cast (a typed source already of the
    column's type): cleaning then neither computes nor quarantines failures."""

    value: ir.Value
    empty: ir.BooleanValue
    failed: ir.BooleanValue
    can_fail: bool = True


BLANK_BELOW = "!"
"""Every string that is empty, or starts or ends with whitespace, has that end sort before
``"!"``: the whitespace ``strip`` removes is ASCII 0x09-0x0D and 0x20, and both engines
compare strings bytewise."""


def stripped(value: ir.StringValue) -> ir.StringValue:
    """``value.strip()``, computed only for the values that have whitespace to strip.

    Trimming every value cost ~1-1.5 s per 10M strings on DuckDB, in every query that reads
    the column; a comparison of each end with ``"!"`` costs a tenth of that, and DuckDB and
    Spark evaluate a CASE branch only for the rows that take it.
    """
    return ibis.ifelse((value < BLANK_BELOW) | (value.right(1) < BLANK_BELOW), value.strip(), value)


def is_empty(value: ir.Value) -> ir.BooleanValue:
    """Null, or for strings empty / whitespace only (``strip`` runs only where the first
    character lets it be blank: ``AND`` is evaluated lazily, as ``stripped`` explains)."""
    if value.type().is_string():
        return value.isnull() | ((value < BLANK_BELOW) & (value.strip() == ""))
    return value.isnull()


def type_column(raw: ir.Value, column_type: ColumnType) -> Typed:
    """Cast ``raw`` (string or native) to ``column_type`` by the rules of this module."""
    target = IBIS_TYPES[column_type]
    source = raw.type()
    if column_type is ColumnType.STRING:
        value = raw if source.is_string() else raw.cast(dt.string)
        return Typed(value, is_empty(value), ibis.literal(False), can_fail=False)
    if not source.is_string() and not source.is_null():
        native = _native_cast(raw, source, column_type, target)
        if native is not None:
            empty = raw.isnull()
            return Typed(native, empty, ~empty & native.isnull(), can_fail=_may_fail(source, target))
        raw = raw.cast(dt.string)
    text = stripped(raw.cast(dt.string))
    empty = raw.isnull() | (text == "")
    value = _parse_text(text, column_type, target)
    return Typed(value, empty, ~empty & value.isnull())


def _native_cast(raw: ir.Value, source: dt.DataType, column_type: ColumnType, target: dt.DataType) -> ir.Value | None:
    """Cast between native types where the meaning is clear; None means 'go through text'."""
    if source == target:
        return raw
    if column_type.is_numeric and source.is_numeric():
        return raw.try_cast(target)
    if column_type is ColumnType.BOOLEAN and source.is_boolean():
        return raw
    if column_type.is_temporal and (source.is_date() or source.is_timestamp()):
        return raw.cast(target)
    return None


def _may_fail(source: dt.DataType, target: dt.DataType) -> bool:
    """Whether a native cast of ``source`` to ``target`` can fail for some value."""
    if source == target or target.is_boolean() or target.is_temporal():
        return False
    if target.is_integer():  # int64: only a uint64 above 2^63 - 1, or a fraction/NaN, fails
        if source.is_unsigned_integer():
            return int(source.nbytes) >= 8
        return not source.is_integer()
    return not (target.is_floating() and (source.is_integer() or source.is_floating() or source.is_decimal()))


def _parse_text(text: ir.StringValue, column_type: ColumnType, target: dt.DataType) -> ir.Value:
    """Text to ``target``: a strict pattern check, then ``try_cast``."""
    null = ibis.null(target)
    if column_type is ColumnType.INTEGER:
        return ibis.ifelse(text.re_search(INTEGER_PATTERN), text.try_cast(target), null)
    if column_type is ColumnType.DOUBLE:
        parsed = text.try_cast(target)
        # '1e400' matches the pattern but overflows to infinity: not a value, a failed cast
        return ibis.ifelse(text.re_search(DOUBLE_PATTERN) & ~parsed.isinf(), parsed, null)
    if column_type is ColumnType.BOOLEAN:
        lowered = text.lower()
        return ibis.cases(
            (lowered.isin(TRUE_WORDS), ibis.literal(True)),
            (lowered.isin(FALSE_WORDS), ibis.literal(False)),
            else_=ibis.null(dt.boolean),
        )
    if column_type is ColumnType.DATE:
        return ibis.ifelse(text.re_search(DATE_PATTERN), text.try_cast(target), null)
    normalized = text.re_replace("Z$", "").replace("T", " ")
    return ibis.ifelse(text.re_search(DATETIME_PATTERN), normalized.try_cast(target), null)


def python_value(column_type: ColumnType, value: Any) -> object:
    """A metadata value (fill value, range bound) as the Python value of the column type.

    ``value`` is as the document gave it (``EmptyRule.value`` is any JSON value), so the
    conversions below may raise; the validation reports such values first.
    """
    import datetime as pydt

    if value is None:
        return None
    if column_type is ColumnType.INTEGER:
        return int(value)
    if column_type is ColumnType.DOUBLE:
        return float(value)
    if column_type is ColumnType.BOOLEAN:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError(f"{value!r} is not a boolean")
    if column_type is ColumnType.DATE:
        if isinstance(value, pydt.datetime):
            return value.date()
        if isinstance(value, pydt.date):
            return value
        return pydt.date.fromisoformat(str(value))
    if column_type is ColumnType.DATETIME:
        if isinstance(value, pydt.datetime):
            return value.replace(tzinfo=None)
        if isinstance(value, pydt.date):
            return pydt.datetime(value.year, value.month, value.day)  # noqa: DTZ001 - naive UTC
        return pydt.datetime.fromisoformat(str(value).replace("Z", "")).replace(tzinfo=None)
    return str(value)


def literal(column_type: ColumnType, value: object) -> ir.Scalar:
    """A typed literal; doubles are cast explicitly (Spark reads ``0.5`` as DECIMAL)."""
    lit = ibis.literal(python_value(column_type, value), type=IBIS_TYPES[column_type])
    return lit.cast(dt.float64) if column_type is ColumnType.DOUBLE else lit
