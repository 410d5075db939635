"""The bench's Polars trial: privetl's one pipeline definition run on Ibis' Polars backend.

    .venv/bin/python bench/ibis_polars.py MODULE --out DIR --report-dir DIR [--seed N]

The issue asks to choose the embedded engine, DuckDB or Polars, by what the bench shows,
through the one Ibis pipeline. Ibis' own Polars compiler (Ibis 12) cannot run that pipeline
as it is; this module adds, for the bench only, the rules it lacks or gets wrong for it:

- ``row_number``, ``lead``, ``lag``, ``first`` and cumulative ``sum`` over a window, as
  Polars window expressions (``.over(partition_by, order_by=...)``): Ibis translates no
  window function (ibis-project/ibis#10513, open);
- ``round`` with halves away from zero, as SQL (Ibis' rule rounds them to even);
- ``x >> k`` (Ibis' rule computes ``2 ** k`` as a null column);
- ``a.identical_to(b)`` in a join (the privacy stage's joins on quasi-identifiers, where an
  empty value is a class of its own) as two equalities: on ``is_null`` and on the value
  with nulls replaced by a constant of its type;

and a ``Backend`` for Polars (lazy scans of the staged Parquet; ``materialize`` collects into
a DataFrame, Polars keeps every stored table in memory; the published Parquet is written by
Polars' streaming sink). It then runs ``run_module`` with it, writing the run's
``report.json`` like ``privetl run``. ``engine_bench.py --engine polars``
times it against the floor and pandas and compares its output with pandas' value by value.

It is not an engine of privetl: it patches ``open_backend`` in this process only, and the
translation rules cover what the bench module uses; anything else is refused with Ibis' own
``UnsupportedOperationError``, naming what the trial does not translate.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path
from typing import Any

import ibis
import ibis.backends.polars.rewrites as polars_rewrites
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import polars as pl
from ibis.backends.polars.compiler import translate
from ibis.common.exceptions import UnsupportedOperationError
from ibis.formats.polars import PolarsType

from privetl.engine.backends.base import Backend

# --- what Ibis' Polars compiler lacks ------------------------------------------------------


@translate.register(ops.WindowFunction)
def _window_function(op: ops.WindowFunction, **kw: Any) -> pl.Expr:
    """A window function as a Polars window expression (rows frames from the start only)."""
    func = op.func
    if isinstance(func, ops.RowNumber):
        expr = pl.int_range(pl.len(), dtype=pl.Int64)
    elif isinstance(func, ops.Lead | ops.Lag):
        offset = 1 if func.offset is None else int(func.offset.value)
        expr = translate(func.arg, **kw).shift(-offset if isinstance(func, ops.Lead) else offset)
    elif isinstance(func, ops.First):
        expr = translate(func.arg, **kw).first(ignore_nulls=not func.include_null)
    elif isinstance(func, ops.Sum) and op.order_by:
        if op.start is not None or op.end is None or op.end.value.value != 0:
            raise UnsupportedOperationError("the Polars trial sums over cumulative windows only")
        expr = translate(func.arg, **kw).cum_sum()
    elif isinstance(func, ops.Sum | ops.CountStar | ops.Count | ops.Max | ops.Min) and not op.order_by:
        expr = translate(func, **kw)
    else:
        raise UnsupportedOperationError(f"the Polars trial has no rule for {type(func).__name__} over a window")
    partition = [translate(g, **kw) for g in op.group_by] or None
    if not op.order_by:
        return expr.over(partition) if partition else expr
    descending = {not k.ascending for k in op.order_by}
    if len(descending) > 1:  # Polars' window takes one direction: negate the descending keys
        if not all(k.arg.dtype.is_numeric() for k in op.order_by if not k.ascending):
            raise UnsupportedOperationError("the Polars trial orders a window by descending numbers only")
        order = [translate(k.arg, **kw) * (1 if k.ascending else -1) for k in op.order_by]
        descending = {False}
    else:
        order = [translate(k.arg, **kw) for k in op.order_by]
    return expr.over(partition, order_by=order, descending=descending.pop(), nulls_last=False)


@translate.register(ops.BitwiseRightShift)
def _right_shift(op: ops.BitwiseRightShift, **kw: Any) -> pl.Expr:
    """``x >> k`` as floor division by 2^k (Ibis computes ``2 ** k`` as a column, null here)."""
    if not isinstance(op.right, ops.Literal):
        raise UnsupportedOperationError("the Polars trial shifts by constants only")
    return translate(op.left, **kw).cast(pl.Int64) // pl.lit(2 ** int(op.right.value), dtype=pl.Int64)


@translate.register(ops.Round)
def _round(op: ops.Round, **kw: Any) -> pl.Expr:
    """Halves away from zero, as SQL's ROUND (Ibis' rule keeps Polars' halves to even)."""
    digits = 0 if op.digits is None else int(op.digits.value)
    rounded = translate(op.arg, **kw).round(digits, mode="half_away_from_zero")
    return rounded.cast(PolarsType.from_ibis(op.dtype))


_split_join_predicates = polars_rewrites.split_join_predicates


def _null_stand_in(dtype: dt.DataType) -> ops.Literal:
    """A constant of ``dtype`` for a null join key (paired with an ``is_null`` key)."""
    if dtype.is_string():
        return ops.Literal("", dtype)
    if dtype.is_boolean():
        return ops.Literal(False, dtype)
    if dtype.is_date():
        return ops.Literal(datetime.date(1970, 1, 1), dtype)
    if dtype.is_timestamp():
        return ops.Literal(datetime.datetime(1970, 1, 1), dtype)
    return ops.Literal(0, dtype)


def _null_safe_split(left: ops.Relation, right: ops.Relation, predicates: list, only_equality: bool = True):
    """``identical_to`` join predicates as equalities Polars can hash-join on."""
    plain = []
    for pred in predicates:
        if not isinstance(pred, ops.IdenticalTo):
            plain.append(pred)
            continue
        a, b = pred.left, pred.right
        plain.append(ops.Equals(ops.IsNull(a), ops.IsNull(b)))
        plain.append(ops.Equals(ops.Coalesce((a, _null_stand_in(a.dtype))), ops.Coalesce((b, _null_stand_in(b.dtype)))))
    return _split_join_predicates(left, right, plain, only_equality)


polars_rewrites.split_join_predicates = _null_safe_split


# --- the backend ---------------------------------------------------------------------------


class PolarsBackend(Backend):
    """Ibis' Polars backend behind privetl's interface: lazy scans, in-memory stored tables."""

    name = "polars"
    sql_dialect = "duckdb"

    def __init__(self, *, work_dir: Path, memory_limit: str | None = None, threads: int | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.con = ibis.polars.connect()

    def read_parquet(self, paths: list[Path], *, name: str, row_index: str | None = None) -> ir.Table:
        files = [str(p) for p in paths]
        frame = pl.scan_parquet(files, row_index_name=row_index)
        if row_index:
            frame = frame.with_columns(pl.col(row_index).cast(pl.Int64))
        self.con.create_table(name, frame, overwrite=True)
        return self.con.table(name)

    def materialize(self, expr: ir.Table, name: str) -> ir.Table:
        self.con.create_table(name, self.con.to_polars(expr), overwrite=True)
        return self.con.table(name)

    def sql(self, query: str, *, dialect: str | None = None) -> ir.Table:
        return self.con.sql(query, dialect=dialect or "duckdb")

    def count(self, expr: ir.Table) -> int:
        return int(self.con.compile(expr).select(pl.len()).collect().item())

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        return self.con.to_polars(expr).to_dicts()

    def to_pyarrow_batches(self, expr: ir.Table):
        return self.con.to_pyarrow(expr).to_reader()

    def write_parquet(self, expr: ir.Table, path: Path) -> int:
        """Polars' streaming sink (at 10M rows 5 s faster than collecting, then writing)."""
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con.compile(expr).sink_parquet(path)
        return int(pq.read_metadata(path).num_rows)

    def interrupt(self) -> None:
        """Polars cannot be interrupted from another thread; the bench never cancels."""

    def close(self) -> None:
        self.con.disconnect()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("module", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--report-dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    import privetl.engine.backends as backends
    from privetl.engine.runner import run_module

    opened = backends.open_backend

    def open_backend(name: str, **kwargs: Any) -> Backend:
        return PolarsBackend(**kwargs) if name == "polars" else opened(name, **kwargs)

    backends.open_backend = open_backend
    secret = os.environ["PRIVETL_ANONYMIZATION_SECRET"].encode()
    report = run_module(args.module, out=args.out, engine="polars", seed=args.seed, secret=secret,
                        report_dir=args.report_dir, progress=False)
    print(f"polars trial: {report.status}")
    return 0 if report.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
