"""Build staged sources for cleaning tests: Parquet files as the extract stage writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from privetl.engine.metadata import DataModule


@dataclass(frozen=True)
class Staged:
    """Same fields as ``privetl.engine.extract.StagedSource`` (cleaning duck-types it)."""

    script_id: str
    table: str
    priority: int
    paths: list[Path]
    rows: int
    native_types: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def stage(directory: Path, script_id: str, table: str, columns: dict[str, list[Any]], *, priority: int = 0) -> Staged:
    """Write ``columns`` (+ ``_src_row``) to ``directory/<script_id>.parquet``.

    Lists of str/None are staged as strings (a text source); other lists keep their Arrow type.
    """
    n = len(next(iter(columns.values()))) if columns else 0
    data = {name: pa.array(values) if values else pa.array([], pa.string()) for name, values in columns.items()}
    data["_src_row"] = pa.array(range(n), pa.int64())
    path = directory / f"{script_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(data), path)
    native = any(not pa.types.is_string(a.type) for k, a in data.items() if k != "_src_row")
    return Staged(script_id=script_id, table=table, priority=priority, paths=[path], rows=n, native_types=native)


def module(tables: list[dict[str, Any]], scripts: list[tuple[str, str, int]] | None = None, **extra: Any) -> DataModule:
    """A DataModule of ``tables``; ``scripts`` are (id, table, priority) (default: one per table)."""
    scripts = scripts or [(f"s_{t['name']}", t["name"], 0) for t in tables]
    return DataModule.model_validate(
        {
            "id": "test",
            "name": "test",
            "tables": tables,
            "collection_protocol": [
                {"id": sid, "table": table, "priority": prio, "source": {"kind": "file", "path": "x", "format": "csv"}}
                for sid, table, prio in scripts
            ],
            **extra,
        }
    )


def rows(backend: Any, expr: Any, *, order_by: list[str] | None = None, drop_stage: bool = True) -> list[dict[str, Any]]:
    """The table's rows as dicts, sorted (by ``order_by`` or all columns) for exact comparison."""
    table = backend.con.to_pyarrow(expr)
    if drop_stage:
        table = table.drop_columns([c for c in ("_src_id", "_src_priority", "_src_row") if c in table.column_names])
    out = table.to_pylist()
    keys = order_by or table.column_names
    return sorted(out, key=lambda r: tuple((r[k] is None, str(r[k])) for k in keys))
