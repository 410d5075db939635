"""StagedRun: stage by stage with Parquet checkpoints, resumed by a new process, a killed
stage redone, cancel() from another thread, publishing edited outputs; measure_privacy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.demo.engine_job import copy_sample_module
from privetl.engine import pipeline
from privetl.engine.errors import EngineError, PrivacyTargetNotMet
from privetl.engine.jsonld import module_to_document
from privetl.engine.metadata import DataModule
from privetl.engine.publish import read_table
from privetl.engine.runner import run_module
from privetl.engine.stages import STAGES, StageCancelled, StagedRun, measure_privacy

SECRET = b"staged-secret"
REPO = Path(__file__).resolve().parents[2]


def _write_module(tmp_path: Path, module: dict[str, Any]) -> Path:
    path = tmp_path / "module.json"
    path.write_text(json.dumps(module_to_document(DataModule.model_validate(module)), default=str))
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """Customers in zips A (3), B (2), C (1) with k = 2 (C suppressed), and their orders."""
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(
        pa.table({"id": [1, 2, 3, 4, 5, 6], "zip": ["A1", "A2", "A3", "B1", "B2", "C1"], "name": list("uvwxyz")}),
        data / "customers.parquet",
    )
    pq.write_table(
        pa.table({"id": [10, 11, 12, 16, 17, 18], "customer_id": [1, 2, 4, 6, 6, 99], "amount": [1.0, 2, 3, 4, 5, 6]}),
        data / "orders.parquet",
    )
    return _write_module(
        tmp_path,
        {
            "id": "staged",
            "name": "staged",
            "seed": 3,
            "tables": [
                {
                    "name": "customers",
                    "primary_key": {"column": "id", "on_conflict": "source_priority"},
                    "columns": [
                        {"name": "id", "type": "integer"},
                        {"name": "zip", "type": "string", "anonymize": {"op": "generalize", "truncate": 1}},
                        {"name": "name", "type": "string", "anonymize": {"op": "permute"}},
                    ],
                    "privacy": {"quasi_identifiers": ["zip"], "k": 2, "max_suppression": 0.5},
                },
                {
                    "name": "orders",
                    "primary_key": {"column": "id", "on_conflict": "drop_all"},
                    "foreign_keys": [{"column": "customer_id", "references_table": "customers", "references_column": "id"}],
                    "columns": [
                        {"name": "id", "type": "integer"},
                        {"name": "customer_id", "type": "integer"},
                        {"name": "amount", "type": "double", "anonymize": {"op": "perturb", "distribution": "laplace", "scale": 1.0, "round": 2}},
                    ],
                },
            ],
            "collection_protocol": [
                {"id": "c", "table": "customers", "source": {"kind": "file", "path": "data/customers.parquet", "format": "parquet"}},
                {"id": "o", "table": "orders", "source": {"kind": "file", "path": "data/orders.parquet", "format": "parquet"}},
            ],
        },
    )


def _staged(document: Path, tmp_path: Path, **kwargs: Any) -> StagedRun:
    kwargs.setdefault("secret", SECRET)
    kwargs.setdefault("out", tmp_path / "out")
    return StagedRun(document, tmp_path / "work", run_id="run-1", **kwargs)


def _run_all(run: StagedRun) -> None:
    while (stage := run.next_stage()) is not None:
        run.run_stage(stage)


def _rows(root: Path, table: str) -> list[dict[str, Any]]:
    return sorted(read_table(root, table).to_pylist(), key=lambda r: r["id"])


@pytest.mark.slow
def test_all_stages_then_publish_give_what_run_module_publishes(tmp_path: Path) -> None:
    sample = copy_sample_module(tmp_path / "module")
    run = _staged(sample, tmp_path, out=tmp_path / "staged", seed=5)
    results = [run.run_stage(stage) for stage in STAGES]
    assert [r.stage for r in results] == list(STAGES)
    assert results[0].rows_in == results[0].rows_out == 720
    assert all(later.rows_in == earlier.rows_out for earlier, later in zip(results, results[1:], strict=False))
    published = run.publish()
    report = run_module(sample, out=tmp_path / "direct", seed=5, secret=SECRET, report_dir=tmp_path / "r", progress=False)
    assert report.status == "succeeded", report.error
    assert published.version == report.version_published == 2
    assert published.tables == report.published.tables  # type: ignore[union-attr]
    for table in ("customers", "orders"):
        assert _rows(tmp_path / "staged", table) == _rows(tmp_path / "direct", table)
    staged_report = run.report()
    assert staged_report.status == "succeeded"
    assert list(staged_report.timings) == [*STAGES, "publish"]
    assert {(r.table, r.rule, r.column): r.rows_affected for r in staged_report.rules} == {
        (r.table, r.rule, r.column): r.rows_affected for r in report.rules
    }
    assert staged_report.quarantine.rows == report.quarantine.rows
    assert staged_report.privacy["customers"]["k"] == report.privacy["customers"].k
    assert staged_report.privacy["customers"]["verified"]["k"] >= 3


def test_small_module_staged_equals_run_module(small: Path, tmp_path: Path) -> None:
    run = _staged(small, tmp_path, out=tmp_path / "staged")
    _run_all(run)
    assert set(run.outputs()) == {"customers", "orders"}
    run.publish()
    report = run_module(small, out=tmp_path / "direct", secret=SECRET, report_dir=tmp_path / "r", progress=False)
    assert report.status == "succeeded", report.error
    for table in ("customers", "orders"):
        assert _rows(tmp_path / "staged", table) == _rows(tmp_path / "direct", table)
    assert [r["id"] for r in _rows(tmp_path / "staged", "customers")] == [1, 2, 3, 4, 5]


def test_a_new_staged_run_continues_after_two_stages(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _staged(small, tmp_path)
    first.run_stage("extract")
    first.run_stage("clean")
    state = json.loads((tmp_path / "work" / "state.json").read_text())
    del first

    def not_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a finished stage ran again")

    monkeypatch.setattr(pipeline, "extract_sources", not_again)
    monkeypatch.setattr(pipeline, "clean_sources", not_again)
    second = _staged(small, tmp_path)
    assert second.finished_stages() == ["extract", "clean"]
    assert second.next_stage() == "transform"
    with pytest.raises(EngineError, match="the next stage is 'transform'"):
        second.run_stage("anonymize")
    result = second.run_stage("transform")
    assert result.stage == "transform" and result.rows_in == state["finished"][1]["rows_out"]
    _run_all(second)
    after = json.loads((tmp_path / "work" / "state.json").read_text())
    assert after["finished"][:2] == state["finished"]  # the first two were not redone
    assert [e["stage"] for e in after["finished"]] == list(STAGES)
    assert second.next_stage() is None
    with pytest.raises(EngineError, match="every stage is finished"):
        second.run_stage("verify")
    second.publish()
    assert [r["id"] for r in _rows(tmp_path / "out", "customers")] == [1, 2, 3, 4, 5]
    with pytest.raises(EngineError, match="already published version"):
        second.publish()


def test_the_fields_json_and_sql_records_named_survive_the_state_file(tmp_path: Path) -> None:
    sample = copy_sample_module(tmp_path / "module")
    web = sample.parent / "orders_web.jsonl"
    web.write_text(web.read_text().replace('"id": 2,', '"coupon": "X", "id": 2,', 1))
    _staged(sample, tmp_path).run_stage("extract")
    state = json.loads((tmp_path / "work" / "state.json").read_text())
    saved = {r["script_id"]: r for r in state["staged"]}
    web_fields = ["id", "customer_id", "amount", "ordered_at", "coupon"]
    assert saved["orders_web"]["record_fields"] == web_fields
    assert saved["customers_crm"]["record_fields"] is None  # a CSV names its fields in fields_found
    resumed = {s.script_id: s for s in _staged(sample, tmp_path)._staged()}
    assert resumed["orders_web"].record_fields == tuple(web_fields)
    legacy = resumed["customers_legacy"].record_fields
    assert legacy and legacy == tuple(saved["customers_legacy"]["record_fields"])
    assert resumed["customers_crm"].record_fields is None
    sources = _staged(sample, tmp_path).report().sources
    assert {s.script_id: s.undeclared_fields for s in sources}["orders_web"] == ["coupon"]


def test_a_publication_not_recorded_is_not_repeated(small: Path, tmp_path: Path) -> None:
    run = _staged(small, tmp_path)
    _run_all(run)
    version = run.publish().version
    # as if the process had been killed after the version became visible, before recording it
    state_file = tmp_path / "work" / "state.json"
    state = json.loads(state_file.read_text())
    state["report"]["published"] = None
    state_file.write_text(json.dumps(state))
    with pytest.raises(EngineError, match=f"already published version {version} at the destination"):
        _staged(small, tmp_path).publish()


def test_a_work_dir_belongs_to_one_run(small: Path, tmp_path: Path) -> None:
    _staged(small, tmp_path).run_stage("extract")
    with pytest.raises(EngineError, match="belongs to run run-1"):
        StagedRun(small, tmp_path / "work", run_id="other", secret=SECRET, out=tmp_path / "out")
    with pytest.raises(EngineError, match="seed"):
        _staged(small, tmp_path, seed=99)


def test_publish_with_an_edited_output_publishes_the_edit(small: Path, tmp_path: Path) -> None:
    run = _staged(small, tmp_path)
    _run_all(run)
    orders = pq.read_table(run.outputs()["orders"])
    edited = orders.filter(pa.compute.not_equal(orders["id"], 11))
    pq.write_table(edited, tmp_path / "orders-edited.parquet")
    info = run.publish({"orders": tmp_path / "orders-edited.parquet"}, lineage_note={"outbox_edits": 1})
    assert info.tables["orders"] == orders.num_rows - 1
    assert sorted(r["id"] for r in _rows(tmp_path / "out", "orders")) == sorted(
        i for i in orders["id"].to_pylist() if i != 11
    )
    metadata = json.loads(Path(info.metadata).read_text())
    assert metadata["prov:wasGeneratedBy"]["privetl:notes"] == {"outbox_edits": 1}


def test_publish_refuses_an_edit_that_breaks_k_or_the_columns(small: Path, tmp_path: Path) -> None:
    run = _staged(small, tmp_path)
    _run_all(run)
    customers = pq.read_table(run.outputs()["customers"])
    pq.write_table(customers.filter(pa.compute.not_equal(customers["id"], 4)), tmp_path / "c.parquet")
    with pytest.raises(PrivacyTargetNotMet, match=r"'customers'.*k = 1 is below the target k = 2"):
        run.publish({"customers": tmp_path / "c.parquet"})
    pq.write_table(customers.drop_columns(["name"]), tmp_path / "narrow.parquet")
    with pytest.raises(EngineError, match="columns and types"):
        run.publish({"customers": tmp_path / "narrow.parquet"})
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("versions/*"))
    assert run.report().status == "failed"
    run.publish()  # the verified outputs still publish
    assert run.report().status == "succeeded"


def test_measure_privacy_reports_a_broken_k(small: Path, tmp_path: Path) -> None:
    run = _staged(small, tmp_path)
    _run_all(run)
    output = run.outputs()["customers"]
    measured = measure_privacy(small, "customers", output)
    assert measured["holds"] and measured["k"] == 2 and measured["shortfalls"] == []
    customers = pq.read_table(output)
    pq.write_table(customers.filter(pa.compute.not_equal(customers["id"], 4)), tmp_path / "c.parquet")
    broken = measure_privacy(small, "customers", tmp_path / "c.parquet")
    assert broken["holds"] is False
    assert broken["k"] == 1
    assert broken["shortfalls"] == ["k = 1 is below the target k = 2"]
    with pytest.raises(EngineError, match="no privacy targets"):
        measure_privacy(small, "orders", run.outputs()["orders"])


def test_verify_fails_naming_the_table_and_measured_k(small: Path, tmp_path: Path) -> None:
    run = _staged(small, tmp_path)
    for stage in STAGES[:-1]:
        run.run_stage(stage)
    # the anonymized output tampered with, as if anonymize had let a class of one through
    path = tmp_path / "work" / "anonymize" / "customers.parquet"
    customers = pq.read_table(path)
    pq.write_table(customers.filter(pa.compute.not_equal(customers["id"], 4)), path)
    with pytest.raises(PrivacyTargetNotMet, match=r"table 'customers'.*measured k = 1"):
        run.run_stage("verify")
    assert run.next_stage() == "verify"
    assert run.report().status == "failed"
    assert not (tmp_path / "work" / "verify").exists()


# -- long stages: killed, cancelled ---------------------------------------------------------

BIG_ROWS = 3_000_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module of one table of 3M people in a Parquet file written by DuckDB (read in
    place): its clean stage takes seconds (~15 s on 2 cores)."""
    return _big_module(tmp_path_factory.mktemp("big"))


def _big_module(tmp_path: Path, rows: int = BIG_ROWS) -> Path:
    data = tmp_path / "people.parquet"
    duckdb.sql(
        "COPY (SELECT i AS id, 'Name ' || i AS name, lpad(CAST(i % 997 AS VARCHAR), 5, '0') AS zip, "
        "CAST(i % 90 AS VARCHAR) AS age, CASE i % 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END AS diagnosis "
        f"FROM range({rows}) t(i)) TO '{data}' (FORMAT parquet)"
    )
    return _write_module(
        tmp_path,
        {
            "id": "big",
            "name": "big",
            "tables": [
                {
                    "name": "people",
                    "primary_key": {"column": "id", "on_conflict": "drop_all"},
                    "columns": [
                        {"name": "id", "type": "integer"},
                        {"name": "name", "type": "string", "anonymize": {"op": "suppress", "mask": "***"}},
                        {"name": "zip", "type": "string", "anonymize": {"op": "generalize", "truncate": 3}},
                        {"name": "age", "type": "integer", "range": {"min": 0, "max": 120, "on_violation": "drop"}},
                        {"name": "diagnosis", "type": "string"},
                    ],
                    "privacy": {"quasi_identifiers": ["zip"], "sensitive": ["diagnosis"], "k": 2, "l": 2, "max_suppression": 0.1},
                }
            ],
            "collection_protocol": [
                {"id": "p", "table": "people", "source": {"kind": "file", "path": str(data), "format": "parquet"}}
            ],
        },
    )


@pytest.mark.slow
def test_a_stage_killed_mid_way_is_redone_cleanly(big: Path, tmp_path: Path) -> None:
    document = big
    # the child says when clean has built its tables and starts writing them
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from privetl.engine import pipeline
        from privetl.engine.stages import StagedRun
        clean_sources = pipeline.clean_sources
        def announced(*args, **kwargs):
            tables = clean_sources(*args, **kwargs)
            print("clean", flush=True)
            return tables
        pipeline.clean_sources = announced
        run = StagedRun(Path({str(document)!r}), Path({str(tmp_path / "work")!r}), run_id="run-1",
                        secret=b"s", out=Path({str(tmp_path / "out")!r}))
        run.run_stage("extract")
        run.run_stage("clean")
        print("finished", flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        lines = iter(child.stdout.readline, "")
        assert "clean" in (line.strip() for line in lines), child.stderr.read() if child.stderr else ""
        time.sleep(0.5)  # the clean stage is writing its 3M rows
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    work = tmp_path / "work"
    assert (work / "clean").is_dir()  # the killed attempt left its partial directory
    (work / "clean" / "stale.parquet").write_bytes(b"partial")

    run = StagedRun(document, work, run_id="run-1", secret=b"s", out=tmp_path / "out")
    assert run.finished_stages() == ["extract"]
    assert run.next_stage() == "clean"
    result = run.run_stage("clean")
    assert result.rows_in == result.rows_out == BIG_ROWS
    assert sorted(p.name for p in (work / "clean").iterdir()) == ["people.parquet", "quarantine.parquet"]
    assert pq.read_metadata(work / "clean" / "people.parquet").num_rows == BIG_ROWS
    assert run.finished_stages() == ["extract", "clean"]


@pytest.mark.slow
def test_cancel_from_another_thread_stops_a_long_stage(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = big
    run = StagedRun(document, tmp_path / "work", run_id="run-1", secret=b"s", out=tmp_path / "out")
    run.run_stage("extract")
    writing = threading.Event()
    clean_sources = pipeline.clean_sources

    def announced(*args: Any, **kwargs: Any) -> Any:
        tables = clean_sources(*args, **kwargs)
        writing.set()  # the tables are built: their 3M rows are written next
        return tables

    monkeypatch.setattr(pipeline, "clean_sources", announced)
    cancelled_at: list[float] = []

    def cancel_soon() -> None:
        assert writing.wait(timeout=120)
        time.sleep(0.3)
        cancelled_at.append(time.perf_counter())
        run.cancel()

    canceller = threading.Thread(target=cancel_soon)
    canceller.start()
    with pytest.raises(StageCancelled, match="clean was cancelled"):
        run.run_stage("clean")
    raised_at = time.perf_counter()
    canceller.join()
    assert cancelled_at and raised_at - cancelled_at[0] < 5.0
    assert run.finished_stages() == ["extract"]
    assert not (tmp_path / "work" / "clean").exists()
    with pytest.raises(StageCancelled):
        run.run_stage("clean")  # a cancelled run stays cancelled
    again = StagedRun(document, tmp_path / "work", run_id="run-1", secret=b"s", out=tmp_path / "out")
    assert again.next_stage() == "clean"
