"""One pipeline definition, two engines: the same module on DuckDB and on Spark gives the
same published rows, value by value (Spark through the real `privetl run --engine spark`)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from privetl.demo.engine_job import copy_sample_module
from privetl.engine.publish import read_table
from privetl.engine.runner import run_module

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PRIVETL = REPO / ".venv" / "bin" / "privetl"
SECRET = "parity-secret"


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample module, plus a variant whose customers are published anatomized."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java: no `java` on PATH")
    target = copy_sample_module(tmp_path_factory.mktemp("parity") / "module").parent
    doc = json.loads((target / "module.json").read_text())
    customers = next(r for r in doc["recordSet"] if r["name"] == "customers")
    customers["privetl:anatomize"] = {
        "quasi_identifiers": ["birth_date", "zip", "gender"],
        "sensitive": "diagnosis",
        "l": 2,
    }
    customers.pop("privetl:privacy", None)
    for field in customers["field"]:
        if field["name"] == "diagnosis":
            field.pop("privetl:anonymize", None)
    (target / "anatomized.json").write_text(json.dumps(doc, indent=2))
    return target


def _run_both(module: Path, tmp: Path) -> tuple[Path, Path]:
    duck = tmp / "duckdb"
    report = run_module(module, out=duck, engine="duckdb", secret=SECRET.encode(), report_dir=tmp / "r-duck", progress=False)
    assert report.status == "succeeded", report.error
    spark = tmp / "spark"
    env = {**os.environ, "PRIVETL_ANONYMIZATION_SECRET": SECRET}
    done = subprocess.run(
        [str(PRIVETL), "run", str(module), "--engine", "spark", "--out", str(spark)],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SUCCEEDED" in done.stdout and "engine   spark" in done.stdout
    return duck, spark


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _assert_identical(duck: Path, spark: Path, table: str, order: list[str]) -> int:
    left = read_table(duck, table)
    right = read_table(spark, table)
    assert left.schema.names == right.schema.names
    assert [f.type for f in left.schema] == [f.type for f in right.schema]
    rows_l = sorted(left.to_pylist(), key=lambda r: tuple(repr(r[c]) for c in order))
    rows_r = sorted(right.to_pylist(), key=lambda r: tuple(repr(r[c]) for c in order))
    assert len(rows_l) == len(rows_r) > 0
    for x, y in zip(rows_l, rows_r, strict=True):
        different = {c: (x[c], y[c]) for c in x if not _same(x[c], y[c])}
        assert not different, f"{table}: {different}"
    return len(rows_l)


def test_sample_module_gives_identical_rows_on_duckdb_and_spark(module_dir: Path, tmp_path: Path) -> None:
    duck, spark = _run_both(module_dir / "module.json", tmp_path)
    # noise (orders.amount), shuffle (customers.diagnosis), masks, bands and dates all agree
    assert _assert_identical(duck, spark, "customers", ["id"]) > 100
    assert _assert_identical(duck, spark, "orders", ["id"]) > 100


def test_anatomized_module_gives_identical_groups_on_duckdb_and_spark(module_dir: Path, tmp_path: Path) -> None:
    duck, spark = _run_both(module_dir / "anatomized.json", tmp_path)
    qit = ["group_id", "birth_date", "zip", "gender"]
    _assert_identical(duck, spark, "customers_qit", qit)
    _assert_identical(duck, spark, "customers_st", ["group_id", "diagnosis"])
    st = read_table(duck, "customers_st").to_pylist()
    groups: dict[int, list[str]] = {}
    for row in st:
        groups.setdefault(row["group_id"], []).append(row["diagnosis"])
    assert all(len(values) >= 2 and len(set(values)) == len(values) for values in groups.values())
    assert sum(r["count"] for r in st) == read_table(duck, "customers_qit").num_rows
    # records are grouped in sensitive-value order; the published row order must not show it
    for root in (duck, spark):
        published_order = read_table(root, "customers_qit").column("group_id").to_pylist()
        assert published_order == sorted(published_order)
