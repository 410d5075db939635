"""The backend interface every pipeline stage talks to.

A ``Backend`` wraps one Ibis connection. The stages build Ibis expressions (one pipeline
definition); only the few operations whose best implementation differs per engine —
reading staged Parquet, materializing an intermediate result, writing Parquet — are
methods here, so that ``duckdb`` / ``pyspark`` specifics stay in this package.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq


class Backend(ABC):
    """One engine behind an Ibis connection (``con``); ``name`` is 'duckdb' or 'spark'."""

    name: str
    con: Any
    sql_dialect: str
    """The sqlglot dialect of the engine (transformations are written in DuckDB SQL and
    transpiled to it)."""

    def compile(self, expr: ir.Table) -> str:
        """The engine's SQL for ``expr``, after registering any in-memory tables it uses."""
        self.con._run_pre_execute_hooks(expr)
        return str(self.con.compile(expr))

    @abstractmethod
    def read_parquet(self, paths: list[Path], *, name: str, row_index: str | None = None) -> ir.Table:
        """All ``paths`` (same columns) as one table registered under ``name``.

        ``row_index`` names an extra int64 column holding each row's ordinal across the
        files, in the order given (from 0): how a source's own Parquet files are read in
        place, without copying them, and still give every row a stable identity.
        """

    @abstractmethod
    def materialize(self, expr: ir.Table, name: str) -> ir.Table:
        """Compute ``expr`` once and keep the result, so later uses do not recompute it."""

    def reuse(self, expr: ir.Table, name: str) -> ir.Table:
        """A table that later stages read several times: kept as a view where recomputing it
        is cheaper than storing it (DuckDB: scans and joins with small stored sets), stored
        where every read is a job of its own (Spark)."""
        return expr

    def write_parquet(self, expr: ir.Table, path: Path) -> int:
        """Write ``expr`` to one Parquet file at ``path``; return the rows written.

        The default streams Arrow batches into a single file (bounded memory, one file for
        every engine); engines with a native single-file writer override it.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        reader = self.to_pyarrow_batches(expr)
        with pq.ParquetWriter(path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        return rows

    def write_parquet_files(self, expr: ir.Table, directory: Path) -> list[Path]:
        """Write ``expr`` as new Parquet files (``part-<uuid>.parquet``) into ``directory``.

        The publisher commits them to a Delta table; engines with a parallel writer of their
        own override this (the default streams into one file).
        """
        path = Path(directory) / f"part-{uuid.uuid4()}.parquet"
        self.write_parquet(expr, path)
        return [path]

    def to_pyarrow_batches(self, expr: ir.Table) -> pa.RecordBatchReader:
        """Stream ``expr`` as Arrow record batches (never the whole table in Python objects)."""
        return self.con.to_pyarrow_batches(expr)

    def count(self, expr: ir.Table) -> int:
        """Number of rows of ``expr``."""
        return int(self.con.execute(expr.count()))

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        """The rows of a small result (an aggregate, a tally) as dicts."""
        rows: list[dict[str, Any]] = self.con.to_pyarrow(expr).to_pylist()
        return rows

    def sql(self, query: str, *, dialect: str | None = None) -> ir.Table:
        """A table from a SQL query over the tables and views registered on ``con``.

        ``dialect`` names the query's dialect when it is not the engine's own; Ibis
        transpiles it with sqlglot.
        """
        return self.con.sql(query, dialect=dialect)

    def create_view(self, name: str, expr: ir.Table) -> None:
        """Register ``expr`` as view ``name`` (replacing one of that name), for ``sql``."""
        self.con.create_view(name, expr, overwrite=True)

    def empty_table(self, schema: ibis.Schema, *, name: str) -> ir.Table:
        """An empty table with ``schema`` (a table whose sources staged no rows)."""
        return self.materialize(ibis.memtable(schema.to_pyarrow().empty_table()), name)

    def file_row_offsets(self, paths: list[Path]) -> list[int]:
        """The ordinal of each file's first row when ``paths`` are read in this order."""
        offsets, total = [], 0
        for path in paths:
            offsets.append(total)
            total += int(pq.read_metadata(path).num_rows)
        return offsets

    def sha256_hex(self, prefix: ir.BinaryValue, data: ir.Value) -> ir.StringValue:
        """Lower-case hex SHA-256 of ``prefix`` followed by ``data``'s bytes (a text's UTF-8
        bytes, or binary): the step HMAC is made of, computed by the engine (see
        ``anonymize/pseudonymize.py``). The default is Spark SQL's: ``CAST(text AS BINARY)`` is
        UTF-8, ``concat`` joins binaries; engines whose cast or concat differ override it."""
        body = data.cast(dt.binary) if data.type().is_string() else data
        return ops.HexDigest(_binary_concat(prefix, body), "sha256").to_expr()

    def smallest(self, value: ir.IntegerValue, n: int) -> ir.ArrayValue | None:
        """An aggregate: the ``n`` smallest values of ``value`` in each group, ascending (all
        of them in a group of at most ``n``); None where the engine has no such aggregate that
        keeps only ``n`` values per group. Privacy keeps the record keys of each class with it
        so that the records of classes that fail k need no second pass (``privacy.enforce``);
        without it that pass runs, with the same result."""
        return None

    @abstractmethod
    def interrupt(self) -> None:
        """Stop the engine's running work soon, from any thread (a worker cancelling a run).

        Thread-safe and idempotent. The call running on the engine (or the next one) then
        fails — with ``EngineInterrupted`` where the engine tells an interruption apart — and
        the backend is good only for ``close``. Calling it while nothing runs is harmless.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the engine (temporary tables, spill files, the JVM for Spark)."""


@ibis.udf.scalar.builtin(name="concat")  # type: ignore[untyped-decorator]
def _binary_concat(head: dt.binary, tail: dt.binary) -> dt.binary:
    """Two binaries joined (Spark's ``concat``; DuckDB's returns text, see its backend)."""
