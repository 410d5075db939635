"""What makes a quasi-identifier's ``levels`` a hierarchy the search can use (pure Python,
so that ``validate`` checks documents without loading an engine).

The search prunes the lattice on monotonicity, which holds only when every level merges
whole classes of the level before: band widths that are multiples of the one before,
granularities finer to coarser, shorter prefixes, user hierarchies whose every level is a
function of the level before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from privetl.engine.metadata import ColumnType, Levels

T = TypeVar("T")

STAR = "*"
"""The last level of every hierarchy: the value fully generalized."""

GRANULARITY_ORDER = ("hour", "day", "month", "year", "decade")
"""Date granularities, finer to coarser."""


def hierarchy_problem(rows: list[list[str]]) -> str | None:
    """What is wrong with an ARX hierarchy table (None: nothing): rows of one length, at
    least two columns, each value once, and each level a function of the one before."""
    if not rows:
        return "it has no rows"
    width = len(rows[0])
    if width < 2:
        return "each row needs the value and at least one level (the last one usually '*')"
    for i, row in enumerate(rows):
        if len(row) != width:
            return f"row {i + 1} has {len(row)} level(s), the first row {width}: every row needs the same levels"
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row[0] in seen:
            return f"value {row[0]!r} is on rows {seen[row[0]] + 1} and {i + 1}; list each value once"
        seen[row[0]] = i
    for j in range(1, width - 1):
        parent: dict[str, str] = {}
        for row in rows:
            if parent.setdefault(row[j], row[j + 1]) != row[j + 1]:
                return (
                    f"level {j} value {row[j]!r} generalizes to both {parent[row[j]]!r} and {row[j + 1]!r} at level {j + 1}; "
                    "each level must only merge groups of the level before"
                )
    return None


def levels_problems(column_type: ColumnType, op: Levels) -> list[tuple[str, str]]:
    """(option, message) for a ``levels`` rule that does not fit its column or is not a
    hierarchy (each level only merging the classes of the level before)."""
    problems: list[tuple[str, str]] = []
    if op.bands is not None:
        if not column_type.is_numeric:
            problems.append(("bands", f"bands apply to numeric (integer, double) columns, not {column_type}"))
        widths = _steps(op.bands, "bands", problems)
        for a, b in zip(widths, widths[1:], strict=False):
            ratio = float(b) / float(a)
            if float(a) <= 0 or ratio < 1 or abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 2:
                problems.append(
                    ("bands", f"each band width must be a multiple (2x or more) of the one before, so that every band lies inside one band of the next level: {b} after {a}")
                )
    elif op.truncations is not None:
        if column_type is not ColumnType.STRING:
            problems.append(("truncations", f"truncations apply to string columns, not {column_type}"))
        lengths = _steps(op.truncations, "truncations", problems)
        if any(int(b) >= int(a) for a, b in zip(lengths, lengths[1:], strict=False)) or any(int(x) < 0 for x in lengths):
            problems.append(("truncations", "prefix lengths must be 0 or more and decrease, e.g. [4, 3, 2, 1]"))
    elif op.granularities is not None:
        if not column_type.is_temporal:
            problems.append(("granularities", f"granularities apply to date and datetime columns, not {column_type}"))
        units = _steps(op.granularities, "granularities", problems)
        ranks = [GRANULARITY_ORDER.index(str(u)) for u in units]
        if any(b <= a for a, b in zip(ranks, ranks[1:], strict=False)):
            problems.append(("granularities", f"granularities go from finer to coarser: {', '.join(GRANULARITY_ORDER)}"))
        if "hour" in units and column_type is not ColumnType.DATETIME:
            problems.append(("granularities", "hour applies to datetime columns only"))
    elif op.hierarchy is not None:
        problem = hierarchy_problem(op.hierarchy)
        if problem:
            problems.append(("hierarchy", problem))
    return problems


def _steps(values: Sequence[T], option: str, problems: list[tuple[str, str]]) -> list[T]:
    """The steps before an optional last ``*`` (a ``*`` elsewhere is a problem)."""
    if STAR in values[:-1]:
        problems.append((option, "'*' can only be the last level"))
    return [v for v in values if v != STAR]
