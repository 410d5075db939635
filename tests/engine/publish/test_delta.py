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
