"""SQL transformations: Merge and Update over the current tables, and the sandbox that keeps
a document's SQL away from files, the network, settings and the environment."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import ibis
import pytest

from privetl.engine.backends import Backend
from privetl.engine.errors import TransformationError
from privetl.engine.metadata import (
    Column,
    DataModule,
    FileSource,
    SourceScript,
    Table,
    Transformation,
)
from privetl.engine.transform import apply_transformations

_RUN = itertools.count()


def _module(*transformations: Transformation) -> DataModule:
    return DataModule(
        id="tx",
        name="tx",
        tables=[Table(name="customers", columns=[Column(name="id", type="integer")])],
        collection_protocol=[
            SourceScript(id="s", table="customers", source=FileSource(path="c.csv", format="csv"))
        ],
        transformations=list(transformations),
    )


def _tables(backend: Backend) -> dict[str, Any]:
    n = next(_RUN)
    customers = backend.materialize(
        ibis.memtable({"id": [1, 2, 3], "country": ["DE", "FR", "DE"]}), f"tx_customers_{n}"
    )
    orders = backend.materialize(
        ibis.memtable({"id": [10, 11, 12, 13], "customer_id": [1, 1, 2, 3], "amount": [5.0, 7.5, 1.0, 2.0]}),
        f"tx_orders_{n}",
    )
    return {"customers": customers, "orders": orders}


def _rows(backend: Backend, expr: Any, key: str) -> list[dict[str, Any]]:
    return sorted(backend.con.to_pyarrow(expr).to_pylist(), key=lambda r: r[key])


MERGE = Transformation(
    name="spend",
    type="merge",
    target="spend_by_country",
    sql=(
        "WITH totals AS (SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id) "
        "SELECT c.country, sum(t.total) AS total FROM customers c JOIN totals t ON t.customer_id = c.id "
        "GROUP BY c.country"
    ),
)
UPDATE = Transformation(
    name="big_orders",
    type="update",
    target="orders",
    sql="SELECT id, customer_id, round(amount * 2, 1) AS amount FROM orders WHERE amount > 1.5",
)


def _check_results(backend: Backend) -> None:
    out = apply_transformations(backend, _module(MERGE, UPDATE), _tables(backend))
    assert set(out) == {"customers", "orders", "spend_by_country"}
    assert _rows(backend, out["spend_by_country"], "country") == [
        {"country": "DE", "total": 14.5},
        {"country": "FR", "total": 1.0},
    ]
    assert _rows(backend, out["orders"], "id") == [
        {"id": 10, "customer_id": 1, "amount": 10.0},
        {"id": 11, "customer_id": 1, "amount": 15.0},
        {"id": 13, "customer_id": 3, "amount": 4.0},
    ]


def test_merge_creates_a_table_and_update_rewrites_one(duckdb_backend: Backend) -> None:
    _check_results(duckdb_backend)


@pytest.mark.spark
def test_the_same_duckdb_sql_runs_on_spark(spark_backend: Backend) -> None:
    _check_results(spark_backend)


def test_transformations_see_the_results_of_earlier_ones(duckdb_backend: Backend) -> None:
    second = Transformation(name="top", type="merge", target="top", sql="SELECT max(total) AS best FROM spend_by_country")
    out = apply_transformations(duckdb_backend, _module(MERGE, second), _tables(duckdb_backend))
    assert _rows(duckdb_backend, out["top"], "best") == [{"best": 14.5}]


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT * FROM '/etc/passwd'", "unknown table '/etc/passwd'"),
        ("SELECT * FROM read_csv_auto('/etc/passwd')", "not allowed"),
        ("SELECT * FROM read_parquet('s3://bucket/x.parquet')", "not allowed"),
        ("SELECT getenv('HOME') AS h FROM customers", "getenv"),
        ("SELECT current_setting('temp_directory') AS s FROM customers", "current_setting"),
        ("SELECT * FROM duckdb_settings()", "not allowed"),
        ("SELECT * FROM glob('/etc/*')", "not allowed"),
        ("SELECT * FROM information_schema.tables", "qualified"),
        ("SELECT * FROM main.customers", "qualified"),
        ("SELECT * FROM secrets", "unknown table 'secrets'"),
        ("COPY customers TO '/tmp/x.csv'", "only a query (SELECT) is allowed, found COPY"),
        ("ATTACH '/tmp/other.db' AS other", "found ATTACH"),
        ("INSERT INTO customers VALUES (4, 'IT')", "only a query"),
        ("DROP TABLE customers", "only a query"),
        ("SELECT 1 AS a; SELECT 2 AS b", "exactly one statement"),
        ("SELECT * FROM customers WHERE", "does not parse"),
        ("SELECT * FROM range(10)", "not allowed"),
    ],
)
def test_sql_reaching_beyond_the_staged_tables_is_refused(
    duckdb_backend: Backend, tmp_path: Path, sql: str, named: str
) -> None:
    bad = Transformation(name="evil", type="merge", target="x", sql=sql)
    tables = _tables(duckdb_backend)
    with pytest.raises(TransformationError) as caught:
        apply_transformations(duckdb_backend, _module(bad), tables)
    assert "transformation 'evil'" in str(caught.value)
    assert named in str(caught.value)


def test_an_engine_error_names_the_transformation(duckdb_backend: Backend) -> None:
    bad = Transformation(name="typo", type="update", target="orders", sql="SELECT no_such_column FROM orders")
    with pytest.raises(TransformationError, match="transformation 'typo': failed: .*no_such_column"):
        apply_transformations(duckdb_backend, _module(bad), _tables(duckdb_backend))
