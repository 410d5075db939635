"""No rows nobody published: a run killed at each phase of a publication (files, the first
table's commit, every commit before the metadata) leaves the published version readable as
it was, and the next run reverts the killed run's Delta commits, says so, and publishes a
version whose tables' latest snapshots are the published ones."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as fs
import pytest
from deltalake import DeltaTable, write_deltalake

from privetl.demo.engine_job import copy_sample_module
from privetl.engine.publish import latest_version, read_table

REPO = Path(__file__).resolve().parents[3]
PRIVETL = REPO / ".venv" / "bin" / "privetl"
TABLES = ("customers", "orders")


def _env() -> dict[str, str]:
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PRIVETL_ANONYMIZATION_SECRET": "kill-secret", "PYTHONPATH": pythonpath}


def _run(module: Path, out: Path, cwd: Path, *args: str) -> dict[str, Any]:
    report = cwd / f"report-{time.monotonic_ns()}.json"
    result = subprocess.run(
        [str(PRIVETL), "run", str(module), "--out", str(out), "--report", str(report), "--no-progress", *args],
        cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    loaded: dict[str, Any] = json.loads(report.read_text())
    return loaded


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def _published(out: Path, version: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each table as the metadata of ``version`` (latest: None) names it."""
    return {t: _sorted(read_table(out, t, version).to_pylist()) for t in TABLES}


def _named(out: Path, version: int | None = None) -> dict[str, int]:
    """Table -> the Delta version the metadata of ``version`` names."""
    path = out / "metadata.json" if version is None else out / "versions" / str(version) / "metadata.json"
    versions = json.loads(path.read_text())["prov:wasGeneratedBy"]["privetl:deltaVersions"]
    return {t: int(v) for t, v in versions.items()}


def _latest(out: Path, table: str) -> DeltaTable:
    return DeltaTable(str(out / "tables" / table))


def _arrow(path: Path, version: int | None = None) -> pa.Table:
    """A Delta table's snapshot (latest: None), read as the README says (pyarrow's own
    filesystem: the default one can abort this process at exit, see test_read_exit)."""
    filesystem = fs.SubTreeFileSystem(str(path.resolve()), fs.LocalFileSystem())
    return DeltaTable(str(path), version=version).to_pyarrow_table(filesystem=filesystem)


@pytest.mark.parametrize("phase", ["files", "first-commit", "commits"])
def test_a_run_killed_at_each_phase_publishes_no_row_and_the_next_run_reverts(
    tmp_path: Path, phase: str
) -> None:
    module = copy_sample_module(tmp_path / "module")
    out = tmp_path / "out"
    _run(module, out, tmp_path)
    before = _published(out, 2)
    named_before = _named(out, 2)

    # another seed: the killed run would publish other rows
    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.publish_pause", "--at", phase, "120", str(marker),
         "run", str(module), "--out", str(out), "--seed", "9", "--no-progress"],
        cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, f"the run never reached the phase {phase!r}"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    # the published version, read by the Delta versions its metadata names, is untouched
    assert latest_version(out) == 2
    assert not (out / "versions" / "3").exists()
    assert _named(out) == named_before
    assert _published(out) == before
    ahead = {t for t in TABLES if _latest(out, t).version() > named_before[t]}
    expected_ahead = {"files": set(), "first-commit": {"customers"}, "commits": set(TABLES)}[phase]
    assert ahead == expected_ahead  # the commits that a reader of the latest snapshot would see
    for table in ahead:
        assert _sorted(_arrow(out / "tables" / table).to_pylist()) != before[table]
    orphans = {t: _latest(out, t).version() for t in ahead}

    report = _run(module, out, tmp_path)
    reverted = [w for w in report["warnings"] if w.startswith("reverted table")]
    assert sorted(reverted) == sorted(
        f"reverted table {t!r} from Delta version {orphans[t]} to {named_before[t]},"
        f" the one the published metadata names (Delta version {orphans[t]} was committed by"
        f" a run that did not finish publishing; the restore is Delta version {orphans[t] + 1})"
        for t in ahead
    )
    assert latest_version(out) == 3
    assert _published(out, 2) == before
    named = _named(out, 3)
    published = _published(out, 3)
    for table in TABLES:  # consistent: every table's latest snapshot is the published one
        latest = _latest(out, table)
        assert latest.version() == named[table]
        assert _sorted(_arrow(out / "tables" / table).to_pylist()) == published[table]
        history = {int(h["version"]): h for h in latest.history()}
        if table in ahead:
            assert history[orphans[table] + 1]["privetl.restores"] == str(named_before[table])


def test_a_second_run_does_not_revert_again(tmp_path: Path) -> None:
    """A run that reverted and then failed leaves the restore; the next run finds nothing
    to revert (the restore's snapshot is the published one)."""
    from privetl.engine.publish import revert_unpublished
    from privetl.engine.publish.delta import Store, restore_table

    module = copy_sample_module(tmp_path / "module")
    out = tmp_path / "out"
    _run(module, out, tmp_path)
    named = _named(out)
    # a commit nobody published (its rows are beside the point)
    write_deltalake(str(out / "tables" / "customers"), _arrow(out / "tables" / "customers"), mode="overwrite")
    first = revert_unpublished(out)
    assert [(r.table, r.from_version, r.to_version) for r in first] == [
        ("customers", named["customers"] + 1, named["customers"])
    ]
    assert revert_unpublished(out) == []
    assert restore_table(Store(str(out)), "customers", named["customers"], version=2, run_id="r") is None


STREAM_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from privetl.engine.publish import publish_version
from tests.engine.publish.test_publish import _lineage, _module, _tables
from tests.engine.publish_pause import pause_at
pause_at(sys.argv[2], 120, Path(sys.argv[3]))
import privetl.engine.publish as publish_module
module, doc = _module()
publish_module.publish_version(module, doc, _tables(int(sys.argv[1])), destination=Path({root!r}), lineage=_lineage())
"""


@pytest.mark.parametrize("phase", ["files", "first-commit", "commits"])
def test_arrow_tables_killed_at_each_phase(tmp_path: Path, phase: str) -> None:
    """The same through ``publish_version`` with Arrow data (the publisher writes the files)."""
    from privetl.engine.publish import publish_version
    from tests.engine.publish.test_publish import _lineage, _module, _tables

    root = tmp_path / "dest"
    module, doc = _module()
    publish_version(module, doc, _tables(2), destination=root, lineage=_lineage())
    script = tmp_path / "publish.py"
    script.write_text(STREAM_SCRIPT.format(repo=str(REPO), root=str(root)))
    marker = tmp_path / "paused"
    proc = subprocess.Popen([sys.executable, str(script), "5", phase, str(marker)], cwd=REPO)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, "the publishing subprocess ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert latest_version(root) == 2
    assert {t: read_table(root, t).num_rows for t in ("people", "pets")} == {"people": 2, "pets": 2}
    ahead = {t for t in ("people", "pets") if DeltaTable(str(root / "tables" / t)).version() > 0}
    assert ahead == {"files": set(), "first-commit": {"people"}, "commits": {"people", "pets"}}[phase]
    # the killed run's files are on disk, in no snapshot
    assert len(list((root / "tables" / "people").glob("*.parquet"))) == 2

    published = publish_version(module, doc, _tables(4), destination=root, lineage=_lineage())
    assert sorted((r.table, r.from_version, r.to_version) for r in published.reverted) == [
        (t, 1, 0) for t in sorted(ahead)
    ]
    for table in ("people", "pets"):
        latest = DeltaTable(str(root / "tables" / table))
        assert latest.version() == published.delta_versions[table]
        assert _arrow(root / "tables" / table).num_rows == 4
        assert read_table(root, table, 2).num_rows == 2


def test_a_failure_after_the_commits_restores_them_at_once(tmp_path: Path) -> None:
    """Raising before the version becomes visible (a source changed during the run) leaves
    no commit ahead of the published version: the publisher restores its own."""
    from privetl.engine.errors import EngineError
    from privetl.engine.publish import publish_version
    from tests.engine.publish.test_publish import _lineage, _module, _tables

    root = tmp_path / "dest"
    module, doc = _module()
    publish_version(module, doc, _tables(2), destination=root, lineage=_lineage())

    def changed() -> None:
        raise EngineError("source file people.csv changed during the run")

    with pytest.raises(EngineError, match="changed during the run"):
        publish_version(module, doc, _tables(5), destination=root, lineage=_lineage(), before_visible=changed)
    assert latest_version(root) == 2
    for table in ("people", "pets"):
        assert _arrow(root / "tables" / table).num_rows == 2
    again = publish_version(module, doc, _tables(3), destination=root, lineage=_lineage())
    assert again.reverted == ()


def test_the_metadata_names_each_tables_delta_version_and_how_to_load_it(tmp_path: Path) -> None:
    """Top-level ``privetl:deltaVersions`` and each record set's description; mlcroissant
    still loads the version, and its rows are that Delta version's."""
    import mlcroissant as mlc

    from privetl.engine.publish import publish_version
    from tests.engine.publish.test_publish import _lineage, _module, _tables

    root = tmp_path / "dest"
    module, doc = _module()
    publish_version(module, doc, _tables(2), destination=root, lineage=_lineage())
    third = publish_version(module, doc, _tables(5), destination=root, lineage=_lineage())
    for version, rows in ((2, 2), (3, 5)):
        document = json.loads((root / "versions" / str(version) / "metadata.json").read_text())
        named = document["privetl:deltaVersions"]
        assert named == document["prov:wasGeneratedBy"]["privetl:deltaVersions"]
        people = next(r for r in document["recordSet"] if r["name"] == "people")
        n = named["people"]
        assert f"../../tables/people (relative to this file) at Delta version {n}" in people["description"]
        assert f"DeltaTable(path, version={n})" in people["description"]
        assert f'spark.read.format("delta").option("versionAsOf", {n}).load(path)' in people["description"]
        dataset = mlc.Dataset(jsonld=str(root / "versions" / str(version) / "metadata.json"))
        assert dataset.metadata.version == f"{version}.0.0"
        loaded = sorted(int(r["people/id"]) for r in dataset.records(record_set="people"))
        delta_rows = _arrow(root / "tables" / "people", n)
        assert loaded == sorted(delta_rows.column("id").to_pylist()) == list(range(rows))
    assert third.delta_versions == {"people": 1, "pets": 1}
    # a published document published again keeps one note per record set, the new one
    from privetl.engine.jsonld import parse_document

    republished = parse_document(json.loads((root / "metadata.json").read_text()))
    fourth = publish_version(republished, third.document, _tables(1), destination=root, lineage=_lineage())
    people = next(r for r in fourth.document["recordSet"] if r["name"] == "people")
    assert people["description"].count("This version of the table is the Delta table") == 1
    assert "Delta version 2;" in people["description"]
