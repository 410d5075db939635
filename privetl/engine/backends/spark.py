"""Apache Spark through Ibis, for data beyond one machine (local mode in tests).

One SparkSession per process: starting the JVM costs seconds, so an already running
session is reused (and then left running on ``close``; only a session this backend
started is stopped).
"""

from __future__ import annotations

import os
from pathlib import Path

import ibis
import ibis.expr.types as ir

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
        )
        if memory_limit:
            builder = builder.config("spark.driver.memory", memory_limit.replace("GB", "g").replace("MB", "m"))
        self.session = builder.getOrCreate()
        self.session.sparkContext.setLogLevel("ERROR")
        self.con = ibis.pyspark.connect(self.session)

    def read_parquet(self, paths: list[Path], *, name: str) -> ir.Table:
        """All files as one DataFrame, registered as temp view ``name``."""
        df = self.session.read.parquet(*[str(p) for p in paths])
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def materialize(self, expr: ir.Table, name: str) -> ir.Table:
        """Compute once (eager local checkpoint: cached blocks, lineage cut) as temp view ``name``."""
        df = self.session.sql(self.compile(expr))
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def to_pyarrow_batches(self, expr: ir.Table):  # type: ignore[no-untyped-def]
        """Arrow batches of the result (Spark collects them through Arrow)."""
        import pyarrow as pa

        table = self.con.to_pyarrow(expr)
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())

    def close(self) -> None:
        """Stop the session if this backend started it (a shared test session stays up)."""
        if self._owns_session:
            self.session.stop()
