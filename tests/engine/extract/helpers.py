"""Shared builders for the extraction tests: a small table and a script for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from privetl.engine.extract import StagedSource
from privetl.engine.metadata import Column, ColumnType, SourceScript, Table

PEOPLE = Table(
    name="people",
    columns=[
        Column(name="id", type=ColumnType.INTEGER),
        Column(name="name", type=ColumnType.STRING),
        Column(name="score", type=ColumnType.DOUBLE),
    ],
)


def script(source: dict[str, Any], *, mapping: dict[str, str] | None = None, priority: int = 0) -> SourceScript:
    """A script with id ``src`` for table ``people``."""
    return SourceScript.model_validate(
        {"id": "src", "table": "people", "priority": priority, "mapping": mapping or {}, "source": source}
    )


def staged_rows(staged: StagedSource) -> list[dict[str, Any]]:
    """Every staged row, across the staged files, in order."""
    rows: list[dict[str, Any]] = []
    for path in staged.paths:
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
