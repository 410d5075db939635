"""The backend interface on both engines: read, materialize, write, stream, count, limits."""

from __future__ import annotations

from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.engine.backends import Backend, open_backend
from privetl.engine.errors import EngineError, EngineOutOfMemory


def _roundtrip(backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": list(range(2500)), "name": [f"n{i}" for i in range(2500)]}), source)
    table = backend.read_parquet([source, source], name=f"bk_in_{backend.name}")
    assert backend.count(table) == 5000
    kept = backend.materialize(table.filter(table.id < 10), f"bk_kept_{backend.name}")
    assert backend.count(kept) == 20
    out = tmp_path / "out" / "kept.parquet"
    assert backend.write_parquet(kept, out) == 20
    assert sorted(pq.read_table(out).column("id").to_pylist()) == sorted(list(range(10)) * 2)
    reader = backend.to_pyarrow_batches(table)
    assert isinstance(reader, pa.RecordBatchReader)
    assert sum(batch.num_rows for batch in reader) == 5000
    # a source read in place: rows numbered across the files, in the order given
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"id": [-1, -2, -3], "name": ["a", "b", "c"]}), other)
    indexed = backend.read_parquet([other, source], name=f"bk_indexed_{backend.name}", row_index="_row")
    got = backend.rows(indexed.filter((indexed.id < 0) | (indexed.id == 2499)).order_by("_row"))
    assert [(r["id"], r["_row"]) for r in got] == [(-1, 0), (-2, 1), (-3, 2), (2499, 2502)]
    # the publisher's writer: new, uniquely named Parquet files in a folder
    folder = tmp_path / "parts"
    files = backend.write_parquet_files(kept, folder)
    assert files and all(f.parent == folder and f.name.startswith("part-") for f in files)
    assert sum(pq.read_metadata(f).num_rows for f in files) == 20
    assert backend.write_parquet_files(kept, folder)[0] not in files


def test_duckdb_reads_materializes_writes_and_streams(duckdb_backend: Backend, tmp_path: Path) -> None:
    _roundtrip(duckdb_backend, tmp_path)


@pytest.mark.spark
def test_spark_reads_materializes_writes_and_streams(spark_backend: Backend, tmp_path: Path) -> None:
    _roundtrip(spark_backend, tmp_path)


def test_duckdb_memory_is_bounded_and_spills_under_the_work_dir(tmp_path: Path) -> None:
    backend = open_backend("duckdb", work_dir=tmp_path / "work", memory_limit="300MB", threads=1)
    try:
        settings = backend.con.con.sql(
            "SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS t"
        ).fetchall()[0]
        assert settings[0] in ("286.1 MiB", "300.0 MB") or settings[0].startswith(("286", "300"))
        assert settings[1].startswith(str(tmp_path / "work"))
        # a sort bigger than the limit completes by spilling
        big = backend.sql("SELECT i, md5(i::VARCHAR) AS h FROM range(6000000) t(i)")
        ordered = backend.materialize(big.order_by("h"), "bk_sorted")
        assert backend.count(ordered) == 6_000_000
    finally:
        backend.close()


def test_duckdb_past_its_bound_raises_the_engines_error_with_its_own_limit(tmp_path: Path) -> None:
    backend = open_backend("duckdb", work_dir=tmp_path / "work", memory_limit="1MB", threads=1)
    try:
        big = backend.sql("SELECT i, md5(i::VARCHAR) AS h FROM range(2000000) t(i)")
        with pytest.raises(EngineOutOfMemory) as raised:
            backend.materialize(big.order_by("h"), "bk_too_big")
    finally:
        backend.close()
    assert raised.value.limit == "1MB"
    assert type(raised.value.__cause__).__name__ == "OutOfMemoryException"
    assert str(raised.value).startswith("the engine ran out of memory (limit 1MB): ")
    assert "--memory-limit" in raised.value.hint


def test_duckdb_states_its_default_bound_when_none_is_given(tmp_path: Path) -> None:
    from privetl.engine.backends.duckdb import DEFAULT_MEMORY_LIMIT, DuckDBBackend

    backend = DuckDBBackend(work_dir=tmp_path / "work", threads=1)
    try:
        assert backend.memory_limit == DEFAULT_MEMORY_LIMIT
    finally:
        backend.close()


def test_an_unknown_engine_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="unknown engine 'polars': choose 'duckdb' or 'spark'"):
        open_backend("polars", work_dir=tmp_path)


def test_empty_table_keeps_its_schema(duckdb_backend: Backend) -> None:
    schema = ibis.schema({"id": "int64", "name": "string"})
    empty = duckdb_backend.empty_table(schema, name="bk_empty")
    assert duckdb_backend.count(empty) == 0
    assert empty.schema() == schema
