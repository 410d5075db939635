"""The Delta Lake layer of the directory destination: commits, exact file lists, time travel."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privetl.engine.publish import delta


def _reader(ids: list[int], names: list[str | None]) -> pa.RecordBatchReader:
    table = pa.table({"id": pa.array(ids, pa.int64()), "name": pa.array(names, pa.string())})
    return table.to_reader(max_chunksize=2)


def test_each_write_is_a_new_commit_and_old_snapshots_stay_readable(tmp_path: Path) -> None:
    store = delta.Store(str(tmp_path))
    first = delta.write_table(
        store, "people", _reader([1, 2, 3], ["a", "b", None]), version=2, run_id="r1"
    )
    second = delta.write_table(store, "people", _reader([7], ["z"]), version=3, run_id="r2")

    assert (first.delta_version, first.rows) == (0, 3)
    assert (second.delta_version, second.rows) == (1, 1)
    # The second snapshot lists only its own files; the first one's files are still on disk.
    assert {f.path for f in first.files}.isdisjoint({f.path for f in second.files})
    for f in first.files:
        assert (tmp_path / f.path).exists()
    old = delta.read_snapshot(str(tmp_path), "people", first.delta_version)
    assert old.sort_by("id").to_pydict() == {"id": [1, 2, 3], "name": ["a", "b", None]}
    new = delta.read_snapshot(str(tmp_path), "people", second.delta_version)
    assert new.to_pydict() == {"id": [7], "name": ["z"]}


def test_listed_files_have_the_right_sha256_size_and_rows(tmp_path: Path) -> None:
    store = delta.Store(str(tmp_path))
    snap = delta.write_table(
        store, "t", _reader(list(range(10)), [str(i) for i in range(10)]), version=2, run_id="r"
    )
    assert snap.rows == 10
    assert sum(f.rows for f in snap.files) == 10
    for f in snap.files:
        data = (tmp_path / f.path).read_bytes()
        assert f.sha256 == hashlib.sha256(data).hexdigest()
        assert f.size == len(data)
        assert pq.read_metadata(tmp_path / f.path).num_rows == f.rows
        assert f.path.startswith("tables/t/") and f.path.endswith(".parquet")


def test_a_version_may_change_a_column_type(tmp_path: Path) -> None:
    store = delta.Store(str(tmp_path))
    delta.write_table(store, "t", pa.table({"x": [1, 2]}), version=2, run_id="r")
    snap = delta.write_table(store, "t", pa.table({"x": ["1-9", "10-19"]}), version=3, run_id="r")
    assert delta.read_snapshot(str(tmp_path), "t", snap.delta_version).column("x").to_pylist() == [
        "1-9",
        "10-19",
    ]
    assert delta.read_snapshot(str(tmp_path), "t", 0).column("x").to_pylist() == [1, 2]


def test_commit_records_the_published_version_and_run(tmp_path: Path) -> None:
    from deltalake import DeltaTable

    store = delta.Store(str(tmp_path))
    delta.write_table(store, "t", pa.table({"x": [1]}), version=5, run_id="run-abc")
    history = DeltaTable(str(tmp_path / "tables" / "t")).history()
    assert history[0]["privetl.version"] == "5"
    assert history[0]["privetl.run_id"] == "run-abc"


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    store = delta.Store(str(tmp_path))
    store.write_atomic("a/metadata.json", b'{"version": "2.0.0"}')
    store.write_atomic("a/metadata.json", b'{"version": "3.0.0"}')
    assert (tmp_path / "a" / "metadata.json").read_bytes() == b'{"version": "3.0.0"}'
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["metadata.json"]


@pytest.mark.parametrize(("raw", "expected"), [("2.0.0", 2), ("13.0.0", 13), (4, 4), ("7", 7)])
def test_version_number(raw: object, expected: int) -> None:
    assert delta.version_number({"version": raw}) == expected


def test_unreadable_version_is_an_error() -> None:
    from privetl.engine.errors import PublishError

    with pytest.raises(PublishError, match="unreadable version 'v-two'"):
        delta.version_number({"version": "v-two"})


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-(2**40), 2**40), st.text(max_size=8) | st.none()), max_size=40)
)
def test_round_trip_keeps_every_row(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, str | None]]
) -> None:
    root = tmp_path_factory.mktemp("rt")
    store = delta.Store(str(root))
    snap = delta.write_table(
        store, "t", _reader([r[0] for r in rows], [r[1] for r in rows]), version=2, run_id="r"
    )
    back = delta.read_snapshot(str(root), "t", snap.delta_version)
    assert snap.rows == len(rows)
    assert sorted(
        zip(back.column("id").to_pylist(), back.column("name").to_pylist(), strict=True), key=repr
    ) == sorted(rows, key=repr)


# --- tables the engine writes itself ------------------------------------------------------------


def _engine_table(backend, rows: dict[str, list], schema: dict[str, str]) -> delta.EngineTable:
    import ibis

    expr = backend.materialize(ibis.memtable(rows, schema=schema), f"delta_engine_{len(rows)}_{next(_SERIAL)}")
    return delta.EngineTable(
        write=lambda folder: backend.write_parquet_files(expr, folder),
        stream=lambda: backend.to_pyarrow_batches(expr),
        schema=expr.schema().to_pyarrow(),
    )


_SERIAL = iter(range(10**6))


def test_engine_written_files_are_committed_with_their_statistics(tmp_path: Path, duckdb_backend) -> None:
    import datetime as dt
    import json

    from deltalake import DeltaTable

    store = delta.Store(str(tmp_path))
    data = {
        "id": [3, 1, 2],
        "score": [0.5, None, 2.5],
        "day": [dt.date(2024, 1, 2), dt.date(2023, 5, 1), None],
        "name": ["c", "a", None],
    }
    first = delta.commit_engine_table(
        store, "t", _engine_table(duckdb_backend, data, {"id": "int64", "score": "float64", "day": "date", "name": "string"}),
        version=2, run_id="r1",
    )
    assert (first.delta_version, first.rows) == (0, 3)
    assert delta.read_snapshot(str(tmp_path), "t", 0).sort_by("id").to_pydict() == {
        "id": [1, 2, 3], "score": [None, 2.5, 0.5],
        "day": [dt.date(2023, 5, 1), None, dt.date(2024, 1, 2)], "name": ["a", None, "c"],
    }
    for f in first.files:
        assert f.sha256 == hashlib.sha256((tmp_path / f.path).read_bytes()).hexdigest()
    log = [json.loads(line) for line in (tmp_path / "tables/t/_delta_log/00000000000000000000.json").read_text().splitlines()]
    adds = [entry["add"] for entry in log if "add" in entry]
    commit = next(entry["commitInfo"] for entry in log if "commitInfo" in entry)
    assert commit["privetl.version"] == "2" and commit["privetl.run_id"] == "r1"
    stats = json.loads(adds[0]["stats"])
    assert stats["numRecords"] == 3
    assert stats["nullCount"] == {"id": 0, "score": 1, "day": 1, "name": 1}
    assert stats["minValues"] == {"id": 1, "score": 0.5, "day": "2023-05-01"}
    assert stats["maxValues"] == {"id": 3, "score": 2.5, "day": "2024-01-02"}
    # the next version overwrites (here with another schema); the old one stays readable
    second = delta.commit_engine_table(
        store, "t", _engine_table(duckdb_backend, {"id": ["x"]}, {"id": "string"}), version=3, run_id="r2"
    )
    assert second.delta_version == 1 and DeltaTable(str(tmp_path / "tables/t")).version() == 1
    assert delta.read_snapshot(str(tmp_path), "t", 1).to_pydict() == {"id": ["x"]}
    assert delta.read_snapshot(str(tmp_path), "t", 0).num_rows == 3


def test_an_engine_table_without_rows_is_committed_with_its_schema(tmp_path: Path, duckdb_backend) -> None:
    store = delta.Store(str(tmp_path))
    snap = delta.commit_engine_table(
        store, "empty", _engine_table(duckdb_backend, {"id": []}, {"id": "int64"}), version=2, run_id="r"
    )
    table = delta.read_snapshot(str(tmp_path), "empty", snap.delta_version)
    assert (snap.rows, table.num_rows, table.schema.names) == (0, 0, ["id"])
