"""SQL transformations (the contract's Merge and Update types) over the current tables.

A transformation is written in DuckDB's SQL dialect (for Spark it is transpiled by sqlglot,
so one text runs on both engines). Before it runs it is checked once more by the SQL sandbox
(``privetl.engine.sandbox``, which validating the document already applied), over the
tables current at that point: one query, reading only the current tables, no table
functions, no files, network or settings. The query then runs over views of the current
tables; its materialized result replaces (or creates) ``target``.
"""

from __future__ import annotations

import ibis.expr.types as ir

from privetl.engine.backends import Backend
from privetl.engine.errors import TransformationError
from privetl.engine.metadata import DataModule
from privetl.engine.sandbox import DIALECT, check_transformation, first_line

__all__ = ["DIALECT", "apply_transformations", "check_transformation"]
"""``DIALECT`` and ``check_transformation`` stay importable from here (their home is the
sandbox)."""


def apply_transformations(backend: Backend, module: DataModule, tables: dict[str, ir.Table]) -> dict[str, ir.Table]:
    """Run the module's transformations in order; return the tables after them."""
    current = dict(tables)
    for index, transformation in enumerate(module.transformations, start=1):
        query = check_transformation(transformation, set(current))
        for name, expr in current.items():
            backend.create_view(name, expr)
        try:
            result = backend.sql(query, dialect=DIALECT)
            current[transformation.target] = backend.materialize(
                result, f"privetl_tx_{index}_{transformation.target}"
            )
        except TransformationError:
            raise
        except Exception as exc:  # the engine's own error, e.g. an unknown column
            raise TransformationError(transformation.name, f"failed: {first_line(exc)}") from exc
    return current
