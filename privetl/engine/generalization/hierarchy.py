"""A quasi-identifier's levels as Ibis expressions, one definition for every engine.

Level 0 publishes the value itself as text; the declared steps follow (``metadata.Levels``);
the last level is ``*``. Empty values stay empty at every level. The search computes each
level's labels of the level-0 values with these very expressions on the engine, and the
pipeline publishes the chosen level with them, so what the search counted is what is
published.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from privetl.engine.anonymize.columns import generalize
from privetl.engine.errors import EngineError
from privetl.engine.generalization.rules import STAR, hierarchy_problem
from privetl.engine.metadata import Column, Generalize, Levels

Level = Callable[[ir.Value], ir.Value]

@dataclass(frozen=True)
class Hierarchy:
    """The levels of one quasi-identifier: ``levels[j](value)`` is its level-``j`` value."""

    column: str
    levels: tuple[Level, ...]
    names: tuple[str, ...]

    @property
    def height(self) -> int:
        """Levels above level 0."""
        return len(self.levels) - 1


def fixed(column: str) -> Hierarchy:
    """A quasi-identifier without levels: one level, its value as the table has it."""
    return Hierarchy(column=column, levels=(lambda v: v,), names=("as published",))


def hierarchy_of(column: Column, op: Levels, *, base_dir: Path | None = None) -> Hierarchy:
    """The levels ``op`` declares for ``column`` (a CSV hierarchy is read from ``base_dir``)."""
    steps: list[tuple[str, Level]] = [("value", _as_text)]
    if op.bands is not None:
        for width in op.bands:
            if width != STAR:
                rule = Generalize(band=float(width))
                steps.append((f"band {_number(float(width))}", _bound(column, rule)))
    elif op.truncations is not None:
        for length in op.truncations:
            if length != STAR:
                rule = Generalize(truncate=int(length))
                steps.append((f"first {length} characters", _bound(column, rule)))
    elif op.granularities is not None:
        for unit in op.granularities:
            if unit != STAR:
                steps.append((unit, _granularity(unit)))
    else:
        rows = op.hierarchy if op.hierarchy is not None else read_csv_hierarchy(op.hierarchy_csv or "", base_dir)
        steps = [("value", _as_text)]
        height = len(rows[0]) - 1
        for j in range(1, height + 1):
            if all(row[j] == STAR for row in rows):
                break
            steps.append((f"level {j}", _lookup({row[0]: row[j] for row in rows})))
    steps.append((STAR, _star))
    names, levels = zip(*steps, strict=True)
    return Hierarchy(column=column.name, levels=tuple(levels), names=tuple(names))


def read_csv_hierarchy(path: str, base_dir: Path | None) -> list[list[str]]:
    """An ARX hierarchy file: one row per value, one column per level (';' or ',')."""
    where = Path(path) if base_dir is None else base_dir / path
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as exc:
        raise EngineError(f"hierarchy file {path!r} cannot be read ({exc.strerror}): give a file beside the module document") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    rows = [[cell.strip() for cell in row] for row in csv.reader(text.splitlines(), delimiter=delimiter) if row]
    problem = hierarchy_problem(rows)
    if problem:
        raise EngineError(f"hierarchy file {path!r}: {problem}")
    return rows


def _as_text(value: ir.Value) -> ir.Value:
    return value.cast(dt.string)


def _star(value: ir.Value) -> ir.Value:
    return ibis.ifelse(value.isnull(), ibis.null(dt.string), ibis.literal(STAR, type=dt.string))


def _bound(column: Column, rule: Generalize) -> Level:
    def level(value: ir.Value) -> ir.Value:
        return generalize(value, column, rule)

    return level


def _lookup(mapping: dict[str, str]) -> Level:
    def level(value: ir.Value) -> ir.Value:
        text = value.cast(dt.string)
        mapped = text.cases(*mapping.items(), else_=STAR)
        return ibis.ifelse(text.isnull(), ibis.null(dt.string), mapped)

    return level


def _granularity(unit: str) -> Level:
    """Dates as text at one granularity: ``1988-05-03 14``, ``1988-05-03``, ``1988-05``,
    ``1988``, ``1980-1989`` (built from the date's parts, which every engine formats alike)."""

    def level(value: ir.Value) -> ir.Value:
        assert isinstance(value, ir.DateValue | ir.TimestampValue)
        year = value.year().cast(dt.int64)
        month = value.month().cast(dt.int64).cast(dt.string).lpad(2, "0")
        day = value.day().cast(dt.int64).cast(dt.string).lpad(2, "0")
        ymd = year.cast(dt.string) + "-" + month + "-" + day
        if unit == "hour":
            assert isinstance(value, ir.TimestampValue)
            text: ir.Value = ymd + " " + value.hour().cast(dt.int64).cast(dt.string).lpad(2, "0")
        elif unit == "day":
            text = ymd
        elif unit == "month":
            text = year.cast(dt.string) + "-" + month
        elif unit == "year":
            text = year.cast(dt.string)
        else:
            start = (year // 10) * 10
            text = start.cast(dt.string) + "-" + (start + 9).cast(dt.string)
        return ibis.ifelse(value.isnull(), ibis.null(dt.string), text)

    return level


def _number(width: float) -> str:
    return str(int(width)) if width.is_integer() else str(width)
