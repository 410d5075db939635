"""Foreign keys re-checked after privacy: the cheap check against the records removed since
cleaning gives the same published rows as the full check against the published table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privetl.engine.jsonld import module_to_document
from privetl.engine.metadata import DataModule
from privetl.engine.publish import read_table
from privetl.engine.runner import run_module


def _module(tmp_path: Path, *, transformations: list[dict[str, Any]]) -> Path:
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    # customers in zips A (3 records), B (2) and C (1): with k = 2, C's customer 6 is
    # suppressed; orders 16 and 17 point at it, order 18 at nobody, order 19 has no customer
    pq.write_table(
        pa.table({"id": [1, 2, 3, 4, 5, 6], "zip": ["A", "A", "A", "B", "B", "C"]}), data / "customers.parquet"
    )
    pq.write_table(
        pa.table({"id": [10, 11, 12, 16, 17, 18, 19], "customer_id": [1, 2, 4, 6, 6, 99, None]}),
        data / "orders.parquet",
    )
    module = DataModule.model_validate(
        {
            "id": "orphans",
            "name": "orphans",
            "tables": [
                {
                    "name": "orders",
                    "primary_key": {"column": "id", "on_conflict": "drop_all"},
                    "foreign_keys": [{"column": "customer_id", "references_table": "customers", "references_column": "id"}],
                    "columns": [{"name": "id", "type": "integer"}, {"name": "customer_id", "type": "integer"}],
                },
                {
                    "name": "customers",
                    "primary_key": {"column": "id", "on_conflict": "source_priority"},
                    "columns": [{"name": "id", "type": "integer"}, {"name": "zip", "type": "string"}],
                    "privacy": {"quasi_identifiers": ["zip"], "k": 2, "max_suppression": 0.5},
                },
            ],
            "collection_protocol": [
                {"id": "c", "table": "customers", "source": {"kind": "file", "path": "data/customers.parquet", "format": "parquet"}},
                {"id": "o", "table": "orders", "source": {"kind": "file", "path": "data/orders.parquet", "format": "parquet"}},
            ],
            "transformations": transformations,
        }
    )
    path = tmp_path / "module.json"
    path.write_text(json.dumps(module_to_document(module), default=str))
    return path


@pytest.mark.parametrize(
    "transformations",
    [[], [{"name": "same", "type": "update", "target": "orders", "sql": "SELECT * FROM orders"}]],
    ids=["removed-records-check", "full-check-after-a-transformation"],
)
def test_orders_of_a_suppressed_customer_are_dropped(tmp_path: Path, transformations: list[dict[str, Any]]) -> None:
    module = _module(tmp_path, transformations=transformations)
    report = run_module(module, out=tmp_path / "out", report_dir=tmp_path / "report", secret=b"s", progress=False)
    assert report.status == "succeeded", report.error
    assert report.privacy["customers"].records_suppressed == 1
    orders = sorted((r["id"], r["customer_id"]) for r in read_table(tmp_path / "out", "orders").to_pylist())
    assert orders == [(10, 1), (11, 2), (12, 4), (19, None)]
    tallies = {(t.rule, t.column): t.rows_affected for t in report.rules if t.table == "orders"}
    assert tallies[("foreign_key", "customer_id")] == 1  # order 18, at cleaning
    assert tallies[("foreign_key_after_privacy", "customer_id")] == 2  # orders 16 and 17
    assert report.table("orders").rows_out == 4


def test_a_source_rewritten_while_the_run_computes_publishes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The customers file is rewritten after the tables were written, before the version
    would become visible: the run fails and the destination has no version."""
    import privetl.engine.publish as publish_module
    from tests.engine.publish_pause import before_visible_runs_first

    module = _module(tmp_path, transformations=[])
    source = tmp_path / "data" / "customers.parquet"

    def rewrite_source() -> None:
        pq.write_table(pa.table({"id": [1], "zip": ["A"]}), source)

    publish = before_visible_runs_first(publish_module.publish_version, rewrite_source)
    monkeypatch.setattr(publish_module, "publish_version", publish)
    report = run_module(module, out=tmp_path / "out", report_dir=tmp_path / "report", secret=b"s", progress=False)
    assert report.status == "failed"
    assert "customers.parquet changed during the run" in (report.error or "")
    assert not (tmp_path / "out" / "metadata.json").exists()
