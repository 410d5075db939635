"""Extraction: run one collection-protocol script and stage its records as Parquet.

``extract_script`` is the stage's only entry point (see ``privetl/engine/DESIGN.md``). Each
script kind streams: files by block/line/element/batch, SQL through a server-side cursor,
executables line by line from stdout, HTTP page by page — so no source is ever held whole in
Python objects. What comes out is the same for every kind: Parquet files with one column per
declared table column (after ``mapping``) plus ``_src_row``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from privetl.engine.errors import ExtractionError
from privetl.engine.extract.staging import StagedWriter
from privetl.engine.metadata import (
    ExecSource,
    FileSource,
    HttpSource,
    SourceScript,
    SqlSource,
    Table,
)

__all__ = ["ExtractionError", "StagedSource", "extract_script"]


@dataclass(frozen=True)
class StagedSource:
    """One script's staged records: where they are, how many, and whether values are typed.

    ``native_types`` is True when the source is typed (Parquet, PostgreSQL) and the staged
    columns keep those types; False when every column holds the raw value as a string.
    """

    script_id: str
    table: str
    priority: int
    paths: list[Path]
    rows: int
    native_types: bool


def extract_script(
    script: SourceScript,
    table: Table,
    *,
    base_dir: Path,
    staging_dir: Path,
    on_rows: Callable[[int], None] | None = None,
) -> StagedSource:
    """Stage the records of ``script`` (for ``table``) under ``staging_dir``.

    ``base_dir`` is where relative paths (files, SQLite databases, an executable's working
    directory) are resolved: the data module document's directory. ``on_rows(n)`` is called
    after each staged batch of ``n`` rows. Raises ``ExtractionError`` naming the script and
    what a person can fix; a failed script leaves no promise about ``staging_dir``'s contents.
    """
    if script.table != table.name:
        raise ExtractionError(script.id, f"script is for table {script.table!r}, not {table.name!r}")
    base_dir = Path(base_dir)
    source = script.source
    with StagedWriter(Path(staging_dir), script.id, on_rows=on_rows) as writer:
        if isinstance(source, FileSource):
            from privetl.engine.extract.files import extract_file

            native = extract_file(script, table, writer, base_dir)
        elif isinstance(source, SqlSource):
            from privetl.engine.extract.sql import extract_sql

            native = extract_sql(script, table, writer, base_dir)
        elif isinstance(source, HttpSource):
            from privetl.engine.extract.http import extract_http

            native = extract_http(script, table, writer)
        elif isinstance(source, ExecSource):
            from privetl.engine.extract.executable import extract_exec

            native = extract_exec(script, table, writer, base_dir)
        else:  # pragma: no cover - the metadata's discriminated union has no other kind
            raise ExtractionError(script.id, f"unknown source kind {source!r}")
    return StagedSource(
        script_id=script.id,
        table=table.name,
        priority=script.priority,
        paths=list(writer.paths),
        rows=writer.rows,
        native_types=native,
    )
