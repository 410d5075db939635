"""The real console script: `privetl validate` and `privetl run`, with their exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from privetl.demo.engine_job import copy_sample_module

REPO = Path(__file__).resolve().parents[2]
PRIVETL = REPO / ".venv" / "bin" / "privetl"
EXAMPLE = REPO / "examples" / "customers"


def _privetl(
    *args: str, cwd: Path, secret: str | None = "cli-secret"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PRIVETL_ANONYMIZATION_SECRET"}
    if secret is not None:
        env["PRIVETL_ANONYMIZATION_SECRET"] = secret
    return subprocess.run(
        [str(PRIVETL), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return copy_sample_module(tmp_path / "module")


def test_validate_a_valid_module(tmp_path: Path) -> None:
    result = _privetl("validate", str(EXAMPLE / "module.json"), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "valid: 2 tables, 4 scripts\n")


def test_validate_prints_every_problem_with_its_json_path(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLE / "module.json").read_text())
    customers, orders = doc["recordSet"]
    orders["field"][1]["references"] = {"field": {"@id": "clients/id"}}  # FK to a missing table
    customers["field"][1]["privetl:range"] = {"min": 1, "on_violation": "drop"}  # range on a string
    customers["field"][3]["privetl:empty"] = {"strategy": "fill"}  # fill without a value
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = _privetl("validate", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    # Every problem, each with its JSON path (the wording belongs to privetl.engine.validate).
    assert [line.split(": ", 1)[0] for line in lines] == [
        "$.recordSet[0].field[1].privetl:range",
        "$.recordSet[0].field[3].privetl:empty",
        "$.recordSet[1].field[1].references.field.@id",
    ]
    assert "string column" in lines[0] and "'value'" in lines[1] and "'clients'" in lines[2]
    assert result.stderr == f"invalid: 3 problem(s) in {bad}\n"


def test_validate_unreadable_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    result = _privetl("validate", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("$")


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = _privetl("validate", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_run_publishes_and_prints_the_summary(sample: Path, tmp_path: Path) -> None:
    report_file = tmp_path / "report.json"
    result = _privetl(
        "run",
        str(sample),
        "--out",
        str(tmp_path / "out"),
        "--seed",
        "9",
        "--report",
        str(report_file),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": SUCCEEDED" in result.stdout.splitlines()[0]
    assert f"  version  2 published to {tmp_path / 'out'}" in result.stdout
    report = json.loads(report_file.read_text())
    assert (report["status"], report["seed"], report["published"]["version"]) == ("succeeded", 9, 2)
    assert (tmp_path / "out" / "versions" / "2" / "metadata.json").exists()
    assert "cli-secret" not in result.stdout + result.stderr + report_file.read_text()
    assert list((tmp_path / "var" / "runs").iterdir())  # the default report directory


def test_run_failing_privacy_target_exits_3_and_publishes_nothing(
    sample: Path, tmp_path: Path
) -> None:
    sample.write_text(sample.read_text().replace('"k": 3', '"k": 500'))
    result = _privetl("run", str(sample), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "FAILED" in result.stdout
    assert "nothing was published" in result.stdout
    assert not (tmp_path / "out" / "metadata.json").exists()


def test_run_invalid_module_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    result = _privetl("run", str(bad), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 1
    assert "MetadataError" in result.stdout


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = _privetl("run", str(EXAMPLE / "module.json"), "--engine", "pandas", cwd=tmp_path)
    assert result.returncode == 2
    assert "pandas" in result.stderr


def test_a_killed_run_leaves_the_previous_version_and_a_later_run_succeeds(
    sample: Path, tmp_path: Path
) -> None:
    import signal
    import time

    from privetl.engine.publish import latest_version, read_table

    out = tmp_path / "out"
    assert _privetl("run", str(sample), "--out", str(out), cwd=tmp_path).returncode == 0
    rows_v2 = read_table(out, "customers", 2).num_rows

    # the same command line, its publisher paused by the test's launcher before the version is visible
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PRIVETL_ANONYMIZATION_SECRET": "cli-secret", "PYTHONPATH": pythonpath}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.publish_pause", "120", "run", str(sample), "--out", str(out)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    logs = [
        out / "tables" / t / "_delta_log" / "00000000000000000001.json"
        for t in ("customers", "orders")
    ]
    deadline = time.monotonic() + 240
    while not all(p.exists() for p in logs):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run never reached the publish step"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert latest_version(out) == 2
    assert not (out / "versions" / "3").exists()
    assert read_table(out, "customers").num_rows == rows_v2

    again = _privetl("run", str(sample), "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert latest_version(out) == 3
    assert read_table(out, "customers", 2).num_rows == rows_v2



def test_a_run_of_parquet_sources_does_not_import_pandas_or_pyspark(tmp_path: Path) -> None:
    """Start-up is part of every run's time: pandas alone costs ~0.4 s to import, and a DuckDB
    run of Parquet sources read in place needs none of it (Arrow carries every result).
    (pyarrow itself imports pandas on ``pa.array``, which text sources are staged with.)"""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from privetl.engine.jsonld import module_to_document
    from privetl.engine.metadata import DataModule

    pq.write_table(pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}), tmp_path / "t.parquet")
    module = DataModule.model_validate({
        "id": "parquet-only", "name": "Parquet only", "version": 1,
        "tables": [{"name": "t", "primary_key": {"column": "id", "on_conflict": "drop_all"},
                    "columns": [{"name": "id", "type": "integer"},
                                {"name": "v", "type": "string", "anonymize": {"op": "permute"}}]}],
        "collection_protocol": [{"id": "t", "table": "t", "source": {
            "kind": "file", "path": str(tmp_path / "t.parquet"), "format": "parquet"}}],
    })
    path = tmp_path / "module.json"
    path.write_text(json.dumps(module_to_document(module), default=str))
    script = (
        "import sys\n"
        "from privetl.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('pandas', 'pyspark') if m in sys.modules))\n"
    )
    env = {**os.environ, "PRIVETL_ANONYMIZATION_SECRET": "cli-secret"}
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-c", script, "run", str(path),
         "--out", str(tmp_path / "out"), "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert ": SUCCEEDED" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
