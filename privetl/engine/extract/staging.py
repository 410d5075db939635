"""Writing a script's records into staged Parquet, one batch at a time.

Every extractor ends here, so the staged files look the same whatever the source: one
column per declared table column (named after the table, not the source, once ``mapping``
is applied) plus ``_src_row``, the row's ordinal within the script. Text sources (CSV, JSON,
an executable's stdout, an HTTP API) are staged as strings holding the raw value — typing is
the cleaning stage's job, so that a value that cannot be cast is counted and quarantined
there, not lost here.

JSON values keep their exact text: numbers are parsed as the digits that were written
(``24.40`` stays ``24.40``, not ``24.4``), booleans become ``true``/``false`` and nested
objects/arrays are staged as compact JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from privetl.engine.metadata import SOURCE_ROW, SourceScript, Table

BATCH_ROWS = 65_536
"""Rows per staged batch: big enough for fast Parquet, small enough to bound memory."""


class JsonNumber(str):
    """A JSON number kept as the text it was written with (so no float rounding)."""

    __slots__ = ()


def loads_exact(text: str | bytes) -> Any:
    """``json.loads`` that keeps numbers as their JSON text (``JsonNumber``)."""
    return json.loads(text, parse_float=JsonNumber, parse_int=JsonNumber)


def json_text(value: Any) -> str:
    """Compact JSON text of a parsed value, numbers written back exactly as they came."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, JsonNumber):
        return str.__str__(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = (json.dumps(str(k), ensure_ascii=False) + ":" + json_text(v) for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def raw_text(value: Any) -> str | None:
    """The staged (string) form of one field value: text as is, everything else as JSON text."""
    if value is None:
        return None
    if isinstance(value, str) and not isinstance(value, JsonNumber):
        return value
    return json_text(value)


def source_fields(script: SourceScript, table: Table) -> dict[str, str]:
    """Declared column -> the source field it is read from (``mapping``, else the same name)."""
    return {name: script.mapping.get(name, name) for name in table.column_names}


def noting_keys(
    records: Iterable[Mapping[str, Any]], seen: dict[str, None]
) -> Iterator[Mapping[str, Any]]:
    """Yield ``records`` unchanged, adding each key not yet in ``seen`` (kept in first-seen order).

    JSON records do not declare their fields up front, and each may have its own: the union
    of their keys is what the run report compares with the declared columns, so a field a
    source starts sending shows there (never published: only declared fields are staged).
    """
    for record in records:
        if not seen.keys() >= record.keys():
            seen.update(dict.fromkeys(record))
        yield record


class StagedWriter:
    """Appends batches to Parquet files under ``staging_dir``; a new file when the schema changes.

    Keeping several files instead of casting to one schema lets typed sources (a glob of
    Parquet files whose types differ) stage their native types unchanged.
    """

    def __init__(
        self,
        staging_dir: Path,
        script_id: str,
        *,
        on_rows: Callable[[int], None] | None = None,
    ) -> None:
        self.staging_dir = Path(staging_dir)
        self.script_id = script_id
        self.on_rows = on_rows
        self.rows = 0
        self.paths: list[Path] = []
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> StagedWriter:
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close_file()

    def write_arrays(self, columns: Mapping[str, pa.Array | pa.ChunkedArray]) -> None:
        """Stage one batch: the declared columns, in order; ``_src_row`` is added here."""
        arrays = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns.values()]
        length = len(arrays[0]) if arrays else 0
        if length == 0:
            return
        src_row = pa.array(range(self.rows, self.rows + length), pa.int64())
        batch = pa.RecordBatch.from_arrays([*arrays, src_row], names=[*columns, SOURCE_ROW])
        if self._writer is None or not self._writer.schema.equals(batch.schema):
            self._close_file()
            path = self.staging_dir / f"{self.script_id}-{len(self.paths):05d}.parquet"
            self._writer = pq.ParquetWriter(path, batch.schema)
            self.paths.append(path)
        self._writer.write_batch(batch)
        self.rows += length
        if self.on_rows is not None:
            self.on_rows(length)

    def write_records(self, records: list[Mapping[str, Any]], fields: Mapping[str, str]) -> None:
        """Stage parsed text records as strings: ``fields`` maps each column to its source field."""
        if not records:
            return
        self.write_arrays(
            {
                column: pa.array([raw_text(r.get(field)) for r in records], pa.string())
                for column, field in fields.items()
            }
        )

    def write_record_stream(
        self, records: Iterable[Mapping[str, Any]], fields: Mapping[str, str]
    ) -> None:
        """Stage an iterator of records, ``BATCH_ROWS`` at a time."""
        batch: list[Mapping[str, Any]] = []
        for record in records:
            batch.append(record)
            if len(batch) >= BATCH_ROWS:
                self.write_records(batch, fields)
                batch = []
        self.write_records(batch, fields)

    def finish(self, empty_schema: pa.Schema) -> list[Path]:
        """Close the files; a source with no rows still stages one empty file of ``empty_schema``."""
        self._close_file()
        if not self.paths:
            schema = empty_schema.append(pa.field(SOURCE_ROW, pa.int64()))
            path = self.staging_dir / f"{self.script_id}-00000.parquet"
            pq.write_table(schema.empty_table(), path)
            self.paths.append(path)
        return list(self.paths)

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def text_schema(fields: Mapping[str, str]) -> pa.Schema:
    """All declared columns as strings: the staged schema of every text source."""
    return pa.schema([(column, pa.string()) for column in fields])
