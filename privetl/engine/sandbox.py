"""The SQL sandbox of transformations: one query over the current tables, nothing else.

A transformation's SQL comes from a document and must not reach anything but the staged
data, so it is parsed (sqlglot, DuckDB's dialect) and checked before it runs — when a
document is validated (``privetl.engine.validate``: every transformation, each problem with
its JSON path) and again by ``privetl.engine.transform`` just before it runs:

- exactly one statement, and it is a query (SELECT, UNION/INTERSECT/EXCEPT, with CTEs);
- every table it reads is a current table of the run or one of its own CTEs, unqualified
  (no ``catalog.schema.table``, no ``'file.csv'`` or ``parquet.`path``` as a table);
- no table functions (``read_csv(...)``, ``range(...)``, ``unnest`` in FROM, ...) and no
  function that reads files, the network, settings or the environment (``read_*``,
  ``glob``, ``getenv``, ``current_setting``, ...).

Anything else raises ``TransformationError`` naming the construct. Pure: sqlglot only, no
engine backend, so validating a document never loads one.
"""

from __future__ import annotations

import sqlglot
import sqlglot.expressions as exp
from sqlglot.errors import ParseError

from privetl.engine.errors import TransformationError
from privetl.engine.metadata import Transformation

DIALECT = "duckdb"
"""The dialect transformations are written in."""

FORBIDDEN_FUNCTIONS = frozenset(
    {
        "glob", "getenv", "current_setting", "set_config", "load_extension", "reflect", "java_method",
        "input_file_name", "query", "query_table", "sniff_csv", "parquet_metadata", "parquet_schema",
        "parquet_file_metadata", "parquet_kv_metadata", "iceberg_metadata", "iceberg_snapshots",
        "http_get", "http_post", "httpfs", "sqlite_attach", "postgres_attach", "postgres_query",
        "mysql_query", "current_database", "current_schema", "current_catalog", "version",
    }
)
FORBIDDEN_PREFIXES = ("read_", "duckdb_", "pragma_", "http", "s3", "file_", "postgres_", "sqlite_", "mysql_")
FORBIDDEN_SUFFIXES = ("_scan",)
ALLOWED_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except)


def check_transformation(transformation: Transformation, tables: set[str]) -> str:
    """The query if it is safe to run over ``tables``; else ``TransformationError``."""
    return check_sql(transformation.name, transformation.sql, tables)


def check_sql(name: str, sql: str, tables: set[str]) -> str:
    """The query of the transformation ``name`` if it is safe to run over ``tables`` (in
    DuckDB's dialect, normalized by sqlglot); else ``TransformationError`` naming ``name``."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        raise TransformationError(name, f"SQL does not parse: {first_line(exc)}") from exc
    if len(statements) != 1:
        raise TransformationError(name, f"needs exactly one statement, found {len(statements)}")
    root = statements[0]
    if not isinstance(root, ALLOWED_ROOTS):
        raise TransformationError(name, f"only a query (SELECT) is allowed, found {root.key.upper()}")
    ctes = {cte.alias_or_name for cte in root.find_all(exp.CTE)}
    for node in root.walk():
        _check_node(name, node, tables, ctes)
    return root.sql(dialect=DIALECT)


def _check_node(name: str, node: exp.Expr, tables: set[str], ctes: set[str]) -> None:
    """Refuse one construct that could reach beyond the current tables."""
    if isinstance(node, exp.Table):
        if not isinstance(node.this, exp.Identifier):
            raise TransformationError(name, f"table function or file in FROM is not allowed: {node.sql(DIALECT)}")
        if node.args.get("db") or node.args.get("catalog"):
            raise TransformationError(name, f"qualified table names are not allowed: {node.sql(DIALECT)}")
        if node.name not in tables and node.name not in ctes:
            raise TransformationError(name, f"unknown table {node.name!r} (known: {', '.join(sorted(tables))})")
        return
    if isinstance(node, exp.Unnest | exp.Lateral | exp.TableFromRows):
        raise TransformationError(name, f"table functions are not allowed: {node.sql(DIALECT)}")
    if isinstance(node, exp.Command | exp.Copy | exp.Set | exp.Pragma | exp.Attach | exp.Install | exp.Detach):
        raise TransformationError(name, f"{node.key.upper()} is not allowed")
    if isinstance(node, exp.Func):
        fname = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if (
            fname in FORBIDDEN_FUNCTIONS
            or fname.startswith(FORBIDDEN_PREFIXES)
            or fname.endswith(FORBIDDEN_SUFFIXES)
        ):
            raise TransformationError(name, f"function {fname}() is not allowed (files, network or settings)")


def first_line(exc: BaseException) -> str:
    """An error's first line: sqlglot's and the engines' messages go on with context."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
