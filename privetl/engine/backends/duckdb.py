"""DuckDB, the embedded default: in-process, bounded memory, spills to ``work_dir``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa

from privetl.engine.backends.base import Backend
from privetl.engine.errors import EngineInterrupted, EngineOutOfMemory

BATCH_ROWS = 1_000_000
"""Rows per Arrow batch handed to the publisher."""
DEFAULT_MEMORY_LIMIT = "1536MB"
"""DuckDB's own bound; the process adds Python and the publisher on top (bench, 10M rows:
whole-run peak RSS 1.75-1.8 GB at 1536MB, 1.24 GB at 1GB, 0.75 GB at 512MB; each limit
completes, spilling past it, and 1536MB was ~8% faster than 1GB)."""

OUT_OF_MEMORY_HINT = (
    "Give it more with --memory-limit, or fewer threads; it spills to the work directory "
    "(PRIVETL_WORK_DIR), which needs free disk space"
)
"""What loosens DuckDB's bound: more memory, fewer threads (each holds its own buffers), or
disk space for the spill files under the run's work directory."""

PERFECT_HASH_BITS = 24
"""Largest key range (in bits) DuckDB aggregates into a directly indexed array (default 12)."""


class DuckDBBackend(Backend):
    """An in-memory DuckDB database whose operators and temp tables spill to disk."""

    name = "duckdb"
    sql_dialect = "duckdb"

    def __init__(self, *, work_dir: Path, memory_limit: str | None = None, threads: int | None = None) -> None:
        self.work_dir = Path(work_dir)
        self._interrupted = False
        self.memory_limit = memory_limit or DEFAULT_MEMORY_LIMIT
        """The bound DuckDB was given (this backend's default when none was asked for)."""
        spill = self.work_dir / "duckdb-spill"
        spill.mkdir(parents=True, exist_ok=True)
        with self._bounded():
            self.con = ibis.duckdb.connect(
                ":memory:",
                memory_limit=self.memory_limit,
                temp_directory=str(spill),
                threads=threads or os.cpu_count() or 1,
                # Insertion order is not a promise of the pipeline; dropping it saves memory.
                preserve_insertion_order=False,
            )
            # Grouping by an integer key whose range the Parquet statistics bound to 2^24 values
            # (the key conflicts of up to ~16M records) uses an array instead of a hash table:
            # bench, 10M rows, 2.0 s -> 1.4 s. Wider ranges keep the hash aggregate.
            self.con.raw_sql(f"SET perfect_ht_threshold = {PERFECT_HASH_BITS}")
        self._views = 0

    @contextmanager
    def _bounded(self) -> Iterator[None]:
        """Run DuckDB work, turning its out-of-memory error into the engine's own.

        DuckDB raises ``OutOfMemoryException`` (not Python's ``MemoryError``) when an
        operator cannot stay within ``memory_limit`` even by spilling; Arrow raises a
        ``MemoryError`` when a result handed to Python does not fit. Either way the run
        failed on this backend's bound, which only this backend can name.

        After ``interrupt`` every call fails with ``EngineInterrupted``, also one that starts
        after it (an interrupt between two queries would otherwise be lost).
        """
        if self._interrupted:
            raise EngineInterrupted("the engine was interrupted")
        try:
            yield
        except duckdb.InterruptException as exc:
            raise EngineInterrupted("the engine was interrupted") from exc
        except (duckdb.OutOfMemoryException, MemoryError) as exc:
            cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise EngineOutOfMemory(limit=self.memory_limit, cause=cause, hint=OUT_OF_MEMORY_HINT) from exc

    def compile(self, expr: ir.Table) -> str:
        """DuckDB SQL for ``expr``, its common subexpressions inlined (``NOT MATERIALIZED``).

        Ibis writes a subexpression used twice as a CTE, and DuckDB then stores it whole
        before the query goes on. The pipeline's views are chains of scans, projections and
        joins with small stored sets — recomputing one is cheaper than storing it (a
        full-width copy spills past the memory bound) — and what is costly to recompute is
        materialized explicitly.
        """
        import sqlglot.expressions as sge

        self.con._run_pre_execute_hooks(expr)
        query = self.con.compiler.to_sqlglot(expr)
        for cte in query.find_all(sge.CTE):
            cte.set("materialized", False)
        sql: str = query.sql(dialect=self.con.dialect)
        return sql

    def read_parquet(self, paths: list[Path], *, name: str, row_index: str | None = None) -> ir.Table:
        """A view over the Parquet files (read lazily, in parallel).

        The row index is DuckDB's ``file_row_number`` plus the file's offset (a CASE on
        ``filename`` when there are several files).
        """
        files = [str(p) for p in paths]
        if row_index is None:
            with self._bounded():
                return self.con.read_parquet(files, table_name=name)
        listing = "[" + ", ".join(_string(f) for f in files) + "]"
        if len(files) == 1:
            index = "file_row_number"
            scan = f"read_parquet({listing}, file_row_number = true)"
            hidden = "file_row_number"
        else:
            offsets = self.file_row_offsets([Path(f) for f in files])
            cases = " ".join(f"WHEN {_string(f)} THEN {o}" for f, o in zip(files, offsets, strict=True))
            index = f"(CASE filename {cases} END + file_row_number)"
            scan = f"read_parquet({listing}, file_row_number = true, filename = true)"
            hidden = "file_row_number, filename"
        # every path and name in the statement is quoted by _string / _quote
        select = f"SELECT * EXCLUDE ({hidden}), CAST({index} AS BIGINT) AS {_quote(row_index)} FROM {scan}"  # noqa: S608
        with self._bounded():
            self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS {select}")
            return self.con.table(name)

    def materialize(self, expr: ir.Table, name: str) -> ir.Table:
        """A temporary table: computed once, spilled by DuckDB's buffer manager if large.

        One ``CREATE OR REPLACE TEMP TABLE ... AS`` statement: Ibis' ``create_table`` with
        ``overwrite`` copies the data twice (and its DROP statement does not parse with the
        installed sqlglot/DuckDB pair).
        """
        with self._bounded():
            query = self.compile(expr)
            self.con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {_quote(name)} AS {query}")
            return _typed_as(self.con.table(name), expr)

    def reuse(self, expr: ir.Table, name: str) -> ir.Table:
        """A named temporary view of ``expr``: DuckDB still recomputes it where it is read
        (inlined like any view: a full-width copy would spill past the memory bound), but
        every later query names the view instead of repeating its whole definition, so Ibis
        compiles each of them from a small graph (bench, 1M rows, alternating runs: the
        run's compiling 0.46 -> 0.36 s, the whole run 3.16 -> 2.93 s)."""
        with self._bounded():
            self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS {self.compile(expr)}")
            return _typed_as(self.con.table(name), expr)

    def sql(self, query: str, *, dialect: str | None = None) -> ir.Table:
        """The query as a temporary view (Ibis' own ``sql`` asks the installed DuckDB for
        a result method it no longer has, so the schema is read from the view instead)."""
        import sqlglot

        if dialect and dialect != self.sql_dialect:
            query = sqlglot.transpile(query, read=dialect, write=self.sql_dialect)[0]
        self._views += 1
        name = f"privetl_query_{self._views}"
        with self._bounded():
            self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS {query}")
            return self.con.table(name)

    def create_view(self, name: str, expr: ir.Table) -> None:
        """Register ``expr`` under ``name`` for SQL (transformations)."""
        with self._bounded():
            self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS {self.compile(expr)}")

    def count(self, expr: ir.Table) -> int:
        """Number of rows, asked of DuckDB directly (Ibis' ``execute`` goes through pandas,
        whose import alone costs seconds)."""
        with self._bounded():
            rows = self.con.con.sql(f"SELECT count(*) FROM ({self.compile(expr)})").fetchall()  # noqa: S608 - compiled by Ibis
        return int(rows[0][0])

    def rows(self, expr: ir.Table) -> list[dict[str, Any]]:
        """A small result as dicts, through Arrow (no pandas)."""
        with self._bounded():
            rows: list[dict[str, Any]] = self.con.con.sql(self.compile(expr)).to_arrow_table().to_pylist()
        return rows

    def to_pyarrow_batches(self, expr: ir.Table) -> pa.RecordBatchReader:
        """A streaming Arrow reader straight from DuckDB (batches of ~1M rows).

        Opening it is bounded like every other call here; the batches are then read by the
        publisher's writer through the Arrow C stream, which reports a failure in its own terms.
        """
        with self._bounded():
            relation = self.con.con.sql(self.compile(expr))
            return relation.to_arrow_reader(BATCH_ROWS)

    def write_parquet(self, expr: ir.Table, path: Path) -> int:
        """DuckDB's own COPY writer: one file, parallel, no round trip through Python."""
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._bounded():
            self.con.raw_sql(f"COPY ({self.compile(expr)}) TO {_string(str(path))} (FORMAT parquet)")
        return int(pq.read_metadata(path).num_rows)

    def sha256_hex(self, prefix: ir.BinaryValue, data: ir.Value) -> ir.StringValue:
        """DuckDB's: a text's UTF-8 bytes are ``encode(text)`` (its cast to BLOB reads escapes
        and refuses other non-ASCII text), and blobs join with the ``||`` operator (``concat``
        returns text): three times faster than going through ``hex`` and ``unhex`` (measured on
        1M rows; bench/pseudonymize_bench.py times the result)."""
        body = _utf8(data) if data.type().is_string() else data
        joined = _blob_concat(prefix, body)
        return ops.HexDigest(joined, "sha256").to_expr()

    def smallest(self, value: ir.IntegerValue, n: int) -> ir.ArrayValue | None:
        """DuckDB's ``min(value, n)``: a bounded heap per group (bench, 10M rows, 5,694
        classes: +0.4 CPU-seconds on the class statistics, against 1.3-1.7 for the second
        pass it saves)."""
        return _smallest(value.cast(dt.int64), ibis.literal(int(n), type=dt.int64))

    def interrupt(self) -> None:
        """Interrupt the running query (DuckDB's ``interrupt``, safe from another thread);
        every later call of this backend fails with ``EngineInterrupted``."""
        self._interrupted = True
        self.con.con.interrupt()

    def close(self) -> None:
        """Close the connection; temporary tables and spill files go with it."""
        self.con.disconnect()


def _typed_as(stored: ir.Table, expr: ir.Table) -> ir.Table:
    """The stored table with ``expr``'s column types: DuckDB types a literal such as an int64
    ``1`` as INTEGER when it stores it, and set operations need equal schemas."""
    wanted = expr.schema()
    if stored.schema() == wanted:
        return stored
    return stored.cast(wanted)


def _string(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def _quote(identifier: str) -> str:
    """A DuckDB quoted identifier (names come from the pipeline, but quote them anyway)."""
    return '"' + identifier.replace('"', '""') + '"'


@ibis.udf.scalar.builtin(name="encode")  # type: ignore[untyped-decorator]
def _utf8(text: str) -> dt.binary:
    """A text's UTF-8 bytes (DuckDB's ``encode``)."""


@ibis.udf.scalar.builtin(name="||")  # type: ignore[untyped-decorator]
def _blob_concat(head: dt.binary, tail: dt.binary) -> dt.binary:
    """Two blobs joined: DuckDB's ``||`` operator, called as the function it is."""


@ibis.udf.agg.builtin(name="min")  # type: ignore[untyped-decorator]
def _smallest(value: dt.int64, n: dt.int64) -> dt.Array(dt.int64):  # type: ignore[valid-type]
    """The ``n`` smallest values of a group, ascending (DuckDB's ``min(x, n)``)."""
