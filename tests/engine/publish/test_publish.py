"""publish_version: version bump, exact file lists with sha256, time travel, protocol rewrite,
atomicity under SIGKILL, and the PostgreSQL destination."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from privetl.engine.metadata import DataModule
from privetl.engine.publish import latest_version, publish_version, read_table

MODULE: dict[str, Any] = {
    "id": "pubtest",
    "name": "Publish test",
    "version": 1,
    "tables": [
        {
            "name": "people",
            "primary_key": {"column": "id", "on_conflict": "drop_all"},
            "columns": [{"name": "id", "type": "integer"}, {"name": "name", "type": "string"}],
        },
        {
            "name": "pets",
            "columns": [{"name": "owner", "type": "integer"}, {"name": "kind", "type": "string"}],
            "foreign_keys": [
                {"column": "owner", "references_table": "people", "references_column": "id"}
            ],
        },
    ],
    "collection_protocol": [
        {
            "id": "people_src",
            "table": "people",
            "source": {"kind": "file", "path": "people.csv", "format": "csv"},
        },
        {
            "id": "pets_src",
            "table": "pets",
            "source": {"kind": "file", "path": "pets.csv", "format": "csv"},
        },
    ],
}


def _module(**changes: Any) -> tuple[DataModule, dict[str, Any]]:
    from privetl.engine.jsonld import module_to_document

    module = DataModule.model_validate({**MODULE, **changes})
    return module, module_to_document(module)


def _lineage() -> Any:
    from privetl.engine.croissant import Lineage

    module, _ = _module()
    return Lineage(
        run_id="run-1",
        seed=7,
        engine="duckdb",
        module=module,
        metadata_path="module.json",
        metadata_sha256="0" * 64,
        rows={"people_src": 3},
        reproducible=True,
        sources=[{"script": "people_src", "table": "people", "kind": "file", "path": "people.csv"}],
    )


def _tables(n: int) -> dict[str, pa.Table]:
    return {
        "people": pa.table(
            {"id": pa.array(range(n), pa.int64()), "name": [f"p{i}" for i in range(n)]}
        ),
        "pets": pa.table({"owner": pa.array([0] * n, pa.int64()), "kind": ["cat"] * n}),
    }


def _publish(root: Path, n: int, **kwargs: Any) -> Any:
    module, doc = _module(**kwargs.pop("module_changes", {}))
    return publish_version(module, doc, _tables(n), destination=root, lineage=_lineage(), **kwargs)


def _file_entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in document["distribution"] if d.get("@type") == "cr:FileObject"]


def test_first_publish_of_version_1_is_version_2_then_bumps(tmp_path: Path) -> None:
    first = _publish(tmp_path, 3)
    second = _publish(tmp_path, 5)
    assert (first.version, second.version) == (2, 3)
    assert latest_version(tmp_path) == 3
    assert json.loads((tmp_path / "metadata.json").read_text())["version"] == "3.0.0"
    assert (
        json.loads((tmp_path / "versions" / "2" / "metadata.json").read_text())["version"]
        == "2.0.0"
    )
    assert (first.tables, second.tables) == ({"people": 3, "pets": 3}, {"people": 5, "pets": 5})


def test_a_document_ahead_of_the_destination_sets_the_base(tmp_path: Path) -> None:
    _publish(tmp_path, 1)
    assert _publish(tmp_path, 1, module_changes={"version": 9}).version == 10


def test_metadata_lists_exactly_the_versions_files_with_sha256(tmp_path: Path) -> None:
    _publish(tmp_path, 3)
    second = _publish(tmp_path, 4)
    doc = json.loads((tmp_path / "versions" / "3" / "metadata.json").read_text())
    entries = _file_entries(doc)
    listed = {(tmp_path / "versions" / "3" / e["contentUrl"]).resolve() for e in entries}
    expected = {(tmp_path / f.path).resolve() for f in second.files}
    assert listed == expected
    for entry in entries:
        path = (tmp_path / "versions" / "3" / entry["contentUrl"]).resolve()
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # The root metadata lists the same files, relative to the root.
    root_doc = json.loads((tmp_path / "metadata.json").read_text())
    assert {(tmp_path / e["contentUrl"]).resolve() for e in _file_entries(root_doc)} == expected


def test_time_travel_reads_every_version_through_its_metadata(tmp_path: Path) -> None:
    _publish(tmp_path, 2)
    _publish(tmp_path, 6)
    assert read_table(tmp_path, "people", 2).sort_by("id").column("id").to_pylist() == [0, 1]
    assert read_table(tmp_path, "people", 3).num_rows == 6
    assert read_table(tmp_path, "people").num_rows == 6


def test_rewrite_protocol_points_at_the_published_parquet(tmp_path: Path) -> None:
    from privetl.engine.jsonld import parse_document

    published = _publish(tmp_path, 3)
    rewritten = parse_document(
        json.loads((tmp_path / "versions" / "2" / "metadata.json").read_text())
    )
    scripts = {s.table: s for s in rewritten.collection_protocol}
    assert {s.source.kind for s in rewritten.collection_protocol} == {"file"}
    assert {s.source.format for s in rewritten.collection_protocol} == {"parquet"}
    people = [f for f in published.files if f.table == "people"]
    assert scripts["people"].source.path == "../../" + people[0].path
    kept = _publish(tmp_path, 3, rewrite_protocol=False)
    original = parse_document(kept.document)
    assert [s.source.path for s in original.collection_protocol] == ["people.csv", "pets.csv"]


def test_published_metadata_loads_with_mlcroissant(tmp_path: Path) -> None:
    import mlcroissant as mlc

    _publish(tmp_path, 3)
    dataset = mlc.Dataset(jsonld=str(tmp_path / "versions" / "2" / "metadata.json"))
    assert dataset.metadata.version == "2.0.0"
    rows = list(dataset.records(record_set="people"))
    assert len(rows) == 3


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from privetl.engine.publish import publish_version
    from tests.engine.publish.test_publish import _lineage, _module, _tables
    from tests.engine.publish_pause import pausing
    # a second argument: seconds to pause between the tables' commits and the metadata
    publish = pausing(publish_version, float(sys.argv[2])) if len(sys.argv) > 2 else publish_version
    module, doc = _module()
    publish(module, doc, _tables(int(sys.argv[1])), destination=Path({root!r}), lineage=_lineage())
    print("published", flush=True)
    """
)


def test_a_run_killed_while_publishing_leaves_the_previous_version(tmp_path: Path) -> None:
    repo = str(Path(__file__).resolve().parents[3])
    root = tmp_path / "dest"
    script = tmp_path / "publish.py"
    script.write_text(KILL_SCRIPT.format(repo=repo, root=str(root)))
    subprocess.run([sys.executable, str(script), "2"], check=True, cwd=repo, timeout=120)
    assert latest_version(root) == 2

    proc = subprocess.Popen([sys.executable, str(script), "5", "60"], cwd=repo)
    # Wait until both tables have their new Delta commit: the run is now between data and metadata.
    logs = [
        root / "tables" / t / "_delta_log" / "00000000000000000001.json" for t in ("people", "pets")
    ]
    deadline = time.monotonic() + 90
    while not all(p.exists() for p in logs):
        assert proc.poll() is None, "the publishing subprocess ended before it could be killed"
        assert time.monotonic() < deadline, "the new Delta commits never appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert latest_version(root) == 2
    assert not (root / "versions" / "3").exists()
    assert read_table(root, "people").num_rows == 2  # the previous version, intact
    assert read_table(root, "people", 2).num_rows == 2
    for entry in _file_entries(json.loads((root / "metadata.json").read_text())):
        assert (root / entry["contentUrl"]).exists()

    subprocess.run([sys.executable, str(script), "4"], check=True, cwd=repo, timeout=120)
    assert latest_version(root) == 3
    assert read_table(root, "people").num_rows == 4
    assert read_table(root, "people", 2).num_rows == 2


def test_postgres_destination_publishes_versions_and_swaps_the_view() -> None:
    import psycopg

    from tests.engine.publish.pgdb import database_url, reset_schema

    url = database_url()
    reset_schema(url, "pubtest_pg")
    upload = {"destination": {"kind": "postgres", "connection": url, "schema_name": "pubtest_pg"}}
    module, doc = _module(upload=upload)
    first = publish_version(
        module, doc, _tables(3), destination=module.upload.destination, lineage=_lineage()
    )
    second = publish_version(
        module, doc, _tables(5), destination=module.upload.destination, lineage=_lineage()
    )
    assert (first.version, second.version) == (2, 3)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM pubtest_pg.people").fetchone()[0] == 5
        assert conn.execute("SELECT count(*) FROM pubtest_pg.people_v2").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM pubtest_pg.pets_v3").fetchone()[0] == 5
    from privetl.engine.jsonld import parse_document

    rewritten = parse_document(second.document)
    queries = sorted(s.source.query for s in rewritten.collection_protocol)
    assert queries == [
        'SELECT * FROM "pubtest_pg"."people_v3"',
        'SELECT * FROM "pubtest_pg"."pets_v3"',
    ]
    assert latest_version(module.upload.destination, module_id="pubtest") == 3


PG_KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {repo!r})
    from privetl.engine.publish import publish_version
    from tests.engine.publish.test_publish import _lineage, _module, _tables
    from tests.engine.publish_pause import pausing
    # a second argument: seconds to pause with the transaction open, before it commits
    publish = pausing(publish_version, float(sys.argv[2])) if len(sys.argv) > 2 else publish_version
    upload = {{"destination": {{"kind": "postgres", "connection": {url!r}, "schema_name": "pubtest_kill"}}}}
    module, doc = _module(upload=upload)
    publish(module, doc, _tables(int(sys.argv[1])), destination=module.upload.destination, lineage=_lineage())
    """
)


def test_postgres_run_killed_before_commit_leaves_the_previous_version(tmp_path: Path) -> None:
    import psycopg

    from tests.engine.publish.pgdb import DATABASE, database_url, reset_schema

    url = database_url()
    reset_schema(url, "pubtest_kill")
    repo = str(Path(__file__).resolve().parents[3])
    script = tmp_path / "publish_pg.py"
    script.write_text(PG_KILL_SCRIPT.format(repo=repo, url=url))
    subprocess.run([sys.executable, str(script), "2"], check=True, cwd=repo, timeout=120)

    proc = subprocess.Popen([sys.executable, str(script), "7", "60"], cwd=repo)
    deadline = time.monotonic() + 90
    with psycopg.connect(url, autocommit=True) as conn:
        # The publisher holds its transaction open (tables written, view swapped) while it pauses.
        while not conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND state = 'idle in transaction'"
            " AND query ILIKE 'INSERT INTO%%_privetl_versions%%'",
            (DATABASE,),
        ).fetchone():
            assert proc.poll() is None, "the publishing subprocess ended before it could be killed"
            assert time.monotonic() < deadline, "the publisher never reached its pause"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # The server notices the dead client and rolls its transaction back.
        while conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND state = 'idle in transaction'",
            (DATABASE,),
        ).fetchone():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert conn.execute("SELECT count(*) FROM pubtest_kill.people").fetchone()[0] == 2
        assert conn.execute("SELECT to_regclass('pubtest_kill.people_v3')").fetchone()[0] is None
        assert (
            conn.execute("SELECT max(version) FROM pubtest_kill._privetl_versions").fetchone()[0]
            == 2
        )
    subprocess.run([sys.executable, str(script), "4"], check=True, cwd=repo, timeout=120)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM pubtest_kill.people").fetchone()[0] == 4
        assert (
            conn.execute("SELECT max(version) FROM pubtest_kill._privetl_versions").fetchone()[0]
            == 3
        )
