"""The document validator runs every transformation through the SQL sandbox
(``privetl.engine.sandbox``): a document whose SQL the engine would refuse is not valid, each
problem at its transformation's ``sql`` with the sandbox's own words, alongside every other
problem of the document; and loading such a document refuses it before any engine starts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from privetl.engine.errors import MetadataError, Problem, TransformationError
from privetl.engine.metadata import Transformation
from privetl.engine.sandbox import check_transformation
from privetl.engine.validate import load_document, validate_document
from tests.engine.test_validate import BASE

SQL = "$.privetl:transformations[{}].sql"


def _with(*transformations: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["privetl:transformations"] = list(transformations)
    return doc


def _tx(name: str, sql: str, *, target: str = "orders", kind: str = "update") -> dict[str, Any]:
    return {"name": name, "type": kind, "target": target, "sql": sql}


def _sandbox(name: str, sql: str) -> str:
    """The sandbox's message for the query over the module's tables."""
    transformation = Transformation(name=name, type="update", target="orders", sql=sql)
    with pytest.raises(TransformationError) as exc:
        check_transformation(transformation, {"customers", "orders"})
    return str(exc.value)


def test_a_safe_select_over_the_modules_tables_is_valid() -> None:
    doc = _with(
        _tx("positive", "SELECT * FROM orders WHERE id > 0"),
        _tx("joined", "WITH c AS (SELECT id FROM customers) SELECT o.* FROM orders o JOIN c ON o.customer = c.id"),
    )
    assert validate_document(doc) == []


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELECT * FROM invoices", "unknown table 'invoices'"),
        ("DELETE FROM orders", "only a query (SELECT) is allowed"),
        ("SELECT 1; SELECT 2", "needs exactly one statement, found 2"),
        ("SELECT * FROM read_csv('/etc/passwd')", "not allowed"),
        ("SELECT getenv('HOME') AS id FROM orders", "function getenv() is not allowed"),
        ("SELECT * FROM main.orders", "qualified table names are not allowed"),
        ("SELECT * FROM (", "SQL does not parse"),
    ],
)
def test_sql_the_sandbox_refuses_is_a_problem_at_its_path(sql: str, words: str) -> None:
    problems = validate_document(_with(_tx("tx", sql)))
    assert problems == [Problem(SQL.format(0), _sandbox("tx", sql))]
    assert words in problems[0].message


def test_every_refused_transformation_is_reported_with_the_other_problems() -> None:
    doc = _with(
        _tx("fine", "SELECT * FROM orders"),
        _tx("reads_files", "SELECT * FROM read_parquet('x.parquet')"),
        _tx("elsewhere", "SELECT * FROM invoices", target="invoices", kind="merge"),
    )
    paths = [p.path for p in validate_document(doc)]
    assert SQL.format(0) not in paths
    assert SQL.format(1) in paths and SQL.format(2) in paths
    assert "$.privetl:transformations[2].target" in paths  # the target check still runs


def test_loading_a_document_with_refused_sql_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "module.json"
    path.write_text(json.dumps(_with(_tx("tx", "DROP TABLE orders"))), encoding="utf-8")
    with pytest.raises(MetadataError) as exc:
        load_document(path)
    assert [p.path for p in exc.value.problems] == [SQL.format(0)]
