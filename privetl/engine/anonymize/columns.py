"""Per-column anonymization: generalization, suppression (masking), perturbation, permutation.

Each operation is an Ibis expression, so one definition runs on every engine. Nulls stay
null everywhere (an unknown value is not made up). The published type of each column follows
``privetl.engine.croissant.published_type``: bands, truncation and hierarchies publish text;
noise on an integer publishes a double unless rounded to 0 decimals.
"""

from __future__ import annotations

import math

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from privetl.engine.anonymize.seeded import SeedKey, _f, uniform_of, with_keyed_hashes
from privetl.engine.metadata import Column, ColumnType, Generalize, Perturb, Suppress

_UNITS = {"year": "Y", "month": "M", "day": "D", "hour": "h"}


def generalize(value: ir.Value, column: Column, op: Generalize) -> ir.Value:
    """A coarser value: numeric band, date granularity, string prefix or category hierarchy."""
    if op.band is not None:
        return _band(value, column, op.band)
    if op.granularity is not None:
        unit = _UNITS[op.granularity]
        if column.type is ColumnType.DATE and unit == "h":
            return value
        if column.type is ColumnType.DATE:
            # DuckDB's DATE_TRUNC of a DATE returns a TIMESTAMP while Ibis types it DATE and
            # elides a plain cast: go through TIMESTAMP so the published type stays DATE.
            return value.truncate(unit).cast(dt.timestamp).cast(dt.date)
        return value.truncate(unit)
    if op.truncate is not None:
        return value.cast(dt.string).substr(0, op.truncate)
    assert op.hierarchy is not None
    text = value.cast(dt.string)
    mapped = text.cases(*[(k, v) for k, v in op.hierarchy.items()], else_=op.other)
    return ibis.ifelse(text.isnull(), ibis.null(dt.string), mapped)


def _band(value: ir.Value, column: Column, band: float) -> ir.StringValue:
    """``37`` with band 10 is ``'30-39'`` (integers: inclusive bounds); doubles: ``'30-40'``
    read as [30, 40). Integral bounds are printed as integers on every engine."""
    integral = float(band).is_integer()
    x = value.cast(dt.float64)
    if column.type is ColumnType.DOUBLE:
        # infinity and NaN (typed sources may hold them) have no band: published empty
        x = ibis.ifelse(x.isinf() | x.isnan(), ibis.null(dt.float64), x)
    # rounding the quotient first keeps 0.3 / 0.1 = 2.9999999999999996 in band 3
    start = (x / _f(float(band))).round(9).floor().cast(dt.int64)
    if integral:
        width = int(band)
        low = start * width
        high = low + (width - 1 if column.type is ColumnType.INTEGER else width)
        return ibis.ifelse(
            start.isnull(), ibis.null(dt.string), low.cast(dt.string) + "-" + high.cast(dt.string)
        )
    decimals = max(0, -math.floor(math.log10(band)) + 2)
    low_f = (start.cast(dt.float64) * _f(float(band))).round(decimals)
    high_f = ((start + 1).cast(dt.float64) * _f(float(band))).round(decimals)
    return ibis.ifelse(
        start.isnull(),
        ibis.null(dt.string),
        low_f.cast(dt.string) + "-" + high_f.cast(dt.string),
    )


def suppress(value: ir.Value, column: Column, op: Suppress) -> ir.Value:
    """Mask a value: strings keep ``keep`` leading characters then the mask; other types
    become null (there is no mask of a number or date that is not a lie)."""
    if column.type is not ColumnType.STRING:
        return ibis.null(value.type())
    masked = ibis.literal(op.mask, type=dt.string)
    if op.keep:
        masked = value.substr(0, op.keep) + masked
    return ibis.ifelse(value.isnull(), ibis.null(dt.string), masked)


def _uniform_column(column: Column, draw: str) -> str:
    """Name of the hash column holding ``column``'s uniform draw ``draw`` (u1, u2)."""
    return f"_privetl_{draw}_{column.name}"


def perturb_hashes(column: Column, op: Perturb) -> dict[str, tuple[str, ...]]:
    """The keyed hashes ``perturb`` reads (column name -> purpose): one uniform, two for Gaussian."""
    draws = ("u1", "u2") if op.distribution == "gaussian" else ("u1",)
    return {_uniform_column(column, d): (column.name, "perturb", d) for d in draws}


def perturb(value: ir.Value, column: Column, op: Perturb, *, hashes: ir.Table) -> ir.Value:
    """Add seeded Laplace or Gaussian noise (keyed by record and column), then round.

    ``hashes`` holds the columns named by ``perturb_hashes`` (the table being anonymized).
    Laplace by inverse transform of one uniform; Gaussian by Box-Muller from two. The
    arithmetic is float64 throughout (see ``seeded.uniform``).
    """
    x = value.cast(dt.float64)
    u = uniform_of(hashes[_uniform_column(column, "u1")])
    scale = _f(float(op.scale))
    if op.distribution == "laplace":
        centred = u - _f(0.5)
        magnitude = (_f(1.0) - _f(2.0) * centred.abs()).ln()
        sign = ibis.ifelse(centred < _f(0.0), _f(-1.0), _f(1.0))
        noise = -scale * sign * magnitude
    else:
        u2 = uniform_of(hashes[_uniform_column(column, "u2")])
        noise = scale * (_f(-2.0) * u.ln()).sqrt() * (_f(2.0 * math.pi) * u2).cos()
    noisy = x + noise
    if op.round is not None:
        noisy = noisy.round(op.round).cast(dt.float64)
    if column.type is ColumnType.INTEGER and op.round is not None and op.round <= 0:
        # rounded to units (or tens, ...): still an integer, as the published metadata says
        return ibis.ifelse(value.isnull(), ibis.null(dt.int64), noisy.cast(dt.int64))
    return ibis.ifelse(value.isnull(), ibis.null(dt.float64), noisy)


def permute(
    expr: ir.Table,
    column: str,
    within: list[str],
    *,
    key: SeedKey,
    record: ir.IntegerValue,
    narrow: bool = False,
) -> ir.Table:
    """Shuffle ``column``'s values among records sharing ``within`` (or all records).

    Records are ordered by a keyed hash within their group; each record takes the value of
    the next record in that order, the last the first's: a seeded random cyclic shift, so
    every value leaves its record (in groups of two or more) and no value is lost or
    duplicated. One window (three functions over the same ordering: DuckDB and Spark compute
    them in one sort) — the shuffle is the costliest step of a run.

    ``narrow`` (only when ``record`` is unique): sort just (record, order, value, groups)
    and join the shifted values back by record, instead of carrying whole records through
    the sort — the same result, several times faster on wide tables (a sort's cost grows
    with its rows' width, and its output order is the random one, which every later step
    then pays for).
    """
    order_key = "_privetl_perm_order"
    rec_key = "_privetl_perm_record"
    value_key = "_privetl_perm_value"
    base = expr.mutate(**{rec_key: record})
    source = base.select(rec_key, column, *within) if narrow else base
    source = with_keyed_hashes(source, key, rec_key, {order_key: (column, "permute")})
    source = source.mutate(**{order_key: source[order_key].fill_null(-1)})
    window = ibis.window(
        group_by=[source[c] for c in within] or None, order_by=[source[order_key], source[rec_key]]
    )
    nxt = source[column].lead().over(window)
    first = source[column].first(include_null=True).over(window)
    is_last = source[order_key].lead().over(window).isnull()
    shifted = ibis.ifelse(is_last, first, nxt)
    if not narrow:
        return source.mutate(**{column: shifted}).drop(order_key, rec_key)
    moved = source.select(**{rec_key: source[rec_key], value_key: shifted})
    joined = base.drop(column).join(moved, rec_key)
    return joined.select(*[joined[value_key].name(c) if c == column else joined[c] for c in expr.columns])
