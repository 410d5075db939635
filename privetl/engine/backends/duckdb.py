"""DuckDB, the embedded default: in-process, bounded memory, spills to ``work_dir``."""

from __future__ import annotations

import os
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from privetl.engine.backends.base import Backend

BATCH_ROWS = 1_000_000
"""Rows per Arrow batch handed to the publisher."""
DEFAULT_MEMORY_LIMIT = "1GB"
"""DuckDB's own bound; the process adds Python, Arrow buffers and the publisher on top
(bench, 10M rows: peak 1.85 GB at 1GB, 2.6 GB at 2GB). DuckDB spills past it."""


class DuckDBBackend(Backend):
    """An in-memory DuckDB database whose operators and temp tables spill to disk."""

    name = "duckdb"
    sql_dialect = "duckdb"

    def __init__(self, *, work_dir: Path, memory_limit: str | None = None, threads: int | None = None) -> None:
        self.work_dir = Path(work_dir)
        spill = self.work_dir / "duckdb-spill"
        spill.mkdir(parents=True, exist_ok=True)
        self.con = ibis.duckdb.connect(
            ":memory:",
            memory_limit=memory_limit or DEFAULT_MEMORY_LIMIT,
            temp_directory=str(spill),
            threads=threads or os.cpu_count() or 1,
            # Insertion order is not a promise of the pipeline; dropping it saves memory.
            preserve_insertion_order=False,
        )
        self._views = 0

    def read_parquet(self, paths: list[Path], *, name: str) -> ir.Table:
        """A view over the Parquet files (read lazily, in parallel)."""
        return self.con.read_parquet([str(p) for p in paths], table_name=name)

    def materialize(self, expr: ir.Table, name: str) -> ir.Table:
        """A temporary table: computed once, spilled by DuckDB's buffer manager if large.

        One ``CREATE OR REPLACE TEMP TABLE ... AS`` statement: Ibis' ``create_table`` with
        ``overwrite`` copies the data twice (and its DROP statement does not parse with the
        installed sqlglot/DuckDB pair).
        """
        query = self.compile(expr)
        self.con.raw_sql(f"CREATE OR REPLACE TEMP TABLE {_quote(name)} AS {query}")
        return self.con.table(name)

    def sql(self, query: str, *, dialect: str | None = None) -> ir.Table:
        """The query as a temporary view (Ibis' own ``sql`` asks the installed DuckDB for
        a result method it no longer has, so the schema is read from the view instead)."""
        import sqlglot

        if dialect and dialect != self.sql_dialect:
            query = sqlglot.transpile(query, read=dialect, write=self.sql_dialect)[0]
        self._views += 1
        name = f"privetl_query_{self._views}"
        self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS {query}")
        return self.con.table(name)

    def create_view(self, name: str, expr: ir.Table) -> None:
        """Register ``expr`` under ``name`` for SQL (transformations)."""
        self.con.raw_sql(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS {self.compile(expr)}")

    def to_pyarrow_batches(self, expr: ir.Table) -> pa.RecordBatchReader:
        """A streaming Arrow reader straight from DuckDB (batches of ~1M rows)."""
        relation = self.con.con.sql(self.compile(expr))
        return relation.to_arrow_reader(BATCH_ROWS)

    def write_parquet(self, expr: ir.Table, path: Path) -> int:
        """DuckDB's own COPY writer: one file, parallel, no round trip through Python."""
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con.to_parquet(expr, str(path))
        return int(pq.read_metadata(path).num_rows)

    def close(self) -> None:
        """Close the connection; temporary tables and spill files go with it."""
        self.con.disconnect()


def _quote(identifier: str) -> str:
    """A DuckDB quoted identifier (names come from the pipeline, but quote them anyway)."""
    return '"' + identifier.replace('"', '""') + '"'
