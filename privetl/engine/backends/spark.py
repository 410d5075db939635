"""Apache Spark through Ibis, for data beyond one machine (local mode in tests).

One SparkSession per process: starting the JVM costs seconds, so an already running
session is reused (and then left running on ``close``; only a session this backend
started is stopped).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from privetl.engine.backends.base import Backend

DEFAULT_MASTER = "local[2]"
MASTER_ENV = "PRIVETL_SPARK_MASTER"
"""Spark master URL (default ``local[2]``); a cluster URL runs the same pipeline there."""


class SparkBackend(Backend):
    """A SparkSession behind Ibis; materialized tables are eagerly checkpointed temp views."""

    name = "spark"
    sql_dialect = "spark"

    def __init__(self, *, work_dir: Path, memory_limit: str | None = None, threads: int | None = None) -> None:
        from pyspark.sql import SparkSession

        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._owns_session = SparkSession.getActiveSession() is None
        master = os.environ.get(MASTER_ENV) or (f"local[{threads}]" if threads else DEFAULT_MASTER)
        builder = (
            SparkSession.builder.master(master)
            .appName("privetl")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.local.dir", str(self.work_dir / "spark-local"))
            .config("spark.sql.warehouse.dir", str(self.work_dir / "spark-warehouse"))
            # Parquet as every other reader expects it: microsecond timestamps, no INT96
            .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        )
        if memory_limit:
            builder = builder.config("spark.driver.memory", memory_limit.replace("GB", "g").replace("MB", "m"))
        self.session = builder.getOrCreate()
        self.session.sparkContext.setLogLevel("ERROR")
        self.con = ibis.pyspark.connect(self.session)

    def read_parquet(self, paths: list[Path], *, name: str, row_index: str | None = None) -> ir.Table:
        """All files as one DataFrame, registered as temp view ``name``.

        The row index is Spark's hidden ``_metadata.row_index`` plus the file's offset: one
        read per file, unioned (a source has few files).
        """
        if row_index is None:
            df = self.session.read.parquet(*[str(p) for p in paths])
        else:
            from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

            offsets = self.file_row_offsets(list(paths))
            parts = [
                self.session.read.parquet(str(path)).select(
                    "*", (F.col("_metadata.row_index") + F.lit(offset)).cast("bigint").alias(row_index)
                )
                for path, offset in zip(paths, offsets, strict=True)
            ]
            df = parts[0]
            for part in parts[1:]:
                df = df.unionByName(part)
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def materialize(self, expr: ir.Table, name: str) -> ir.Table:
        """Compute once (eager local checkpoint: cached blocks, lineage cut) as temp view ``name``."""
        df = self.session.sql(self.compile(expr))
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def reuse(self, expr: ir.Table, name: str) -> ir.Table:
        """Stored (checkpointed): on Spark each read of a view re-plans and reruns it."""
        return self.materialize(expr, name)

    def write_parquet(self, expr: ir.Table, path: Path) -> int:
        """One Parquet file: Spark's writer into a scratch folder, its part files then
        merged into ``path`` batch by batch (the driver never holds the whole table)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.parent / f".{path.name}.parts"
        parts = self.write_parquet_files(expr, scratch)
        rows = 0
        schema = expr.schema().to_pyarrow()
        try:
            if parts:
                schema = pq.read_schema(parts[0])
            with pq.ParquetWriter(path, schema) as writer:
                for part in parts:
                    for batch in pq.ParquetFile(part).iter_batches():
                        writer.write_batch(batch)
                        rows += batch.num_rows
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return rows

    def write_parquet_files(self, expr: ir.Table, directory: Path) -> list[Path]:
        """Spark's own parallel writer (each task writes its part), the parts then moved
        into ``directory`` under unique names; no data goes through the driver."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        scratch = directory / f".spark-{uuid.uuid4()}"
        df = self.session.sql(self.compile(expr))
        # Ibis' naive timestamps are Spark's session-zone TIMESTAMP (UTC here); written as
        # such they would read back zoned. TIMESTAMP_NTZ writes what the schema says.
        naive = [n for n, t in expr.schema().items() if t.is_timestamp() and t.timezone is None]
        for name in naive:
            df = df.withColumn(name, df[name].cast("timestamp_ntz"))
        df.write.mode("error").parquet(str(scratch))
        moved = []
        try:
            for part in sorted(scratch.glob("part-*.parquet")):
                target = directory / f"part-{uuid.uuid4()}.parquet"
                part.rename(target)
                moved.append(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return moved

    def to_pyarrow_batches(self, expr: ir.Table) -> pa.RecordBatchReader:
        """Arrow batches of the result, one Spark partition at a time (``toLocalIterator``
        over Arrow would need the whole result; this streams through a Parquet scratch)."""
        import tempfile

        scratch = Path(tempfile.mkdtemp(prefix="privetl-spark-stream-", dir=self.work_dir))
        parts = self.write_parquet_files(expr, scratch)
        schema = pq.read_schema(parts[0]) if parts else expr.schema().to_pyarrow()

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for part in parts:
                    yield from pq.ParquetFile(part).iter_batches()
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

        return pa.RecordBatchReader.from_batches(schema, batches())

    def interrupt(self) -> None:
        """Cancel every running Spark job of the session (``cancelAllJobs``, safe from
        another thread); the action waiting on one fails with Spark's own error."""
        self.session.sparkContext.cancelAllJobs()

    def close(self) -> None:
        """Stop the session if this backend started it (a shared test session stays up)."""
        if self._owns_session:
            self.session.stop()
