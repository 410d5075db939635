"""File sources: CSV, JSON lines, JSON (an array of records) and Parquet; local paths or S3.

Each format is read in bounded pieces — pyarrow's streaming CSV reader, JSON one line (or,
for a JSON array, one element) at a time, Parquet by record batch — so a file larger than
memory stages fine. Globs expand to the sorted list of matches, and ``_src_row`` runs on
across the files of one script.

CSV files are read with the source's ``CsvOptions``; a delimiter not given is sniffed
(``csv.Sniffer``) from the file's first lines. The fields each file names (CSV header,
Parquet schema) are reported back, so that ``privetl.engine.extract.check_columns`` fails a
file that does not fit its declaration instead of staging empty values.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from privetl.engine.errors import ExtractionError
from privetl.engine.extract.env import ExpandedLocation, MissingVariable, expand_location
from privetl.engine.extract.staging import (
    BATCH_ROWS,
    JsonNumber,
    StagedWriter,
    loads_exact,
    noting_keys,
    source_fields,
    text_schema,
)
from privetl.engine.metadata import CsvOptions, FileSource, SourceScript, Table

CSV_BLOCK_BYTES = 4 << 20
"""Bytes per CSV block read by pyarrow (a batch is one block)."""
JSON_CHUNK_CHARS = 1 << 20
"""Characters read at a time from a JSON array document."""
MAX_HEADER_BYTES = 16 << 20
"""Longest CSV header line read to learn the column names."""
MAX_ELEMENT_CHARS = 64 << 20
"""Largest single element of a JSON array (bounds memory when a document is malformed)."""
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Location:
    """Where a file source lives: a filesystem and the paths on it (sorted glob matches)."""

    filesystem: pafs.FileSystem
    paths: list[str]
    display: str


def expand_path(script_id: str, path: str) -> ExpandedLocation:
    """A source path with its ``${NAME}`` references expanded (see ``env.expand_location``);
    ExtractionError naming the variable (never a value) when one is not set."""
    try:
        return expand_location(path)
    except MissingVariable as exc:
        raise ExtractionError(
            script_id, f"environment variable {exc.name} (used in the path {path!r}) is not set"
        ) from None


def is_s3(path: str) -> bool:
    """True for ``s3://`` URLs (read through pyarrow's S3 filesystem)."""
    return path.startswith("s3://")


def local_pattern(path: str, base_dir: Path) -> Path:
    """The absolute local path of a source path: relative paths are relative to ``base_dir``."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else (Path(base_dir) / candidate)


def split_s3(url: str) -> tuple[str, str]:
    """``s3://bucket/key/part`` -> (``bucket``, ``key/part``)."""
    rest = url[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise ValueError(f"{url!r} is not s3://bucket/key")
    return bucket, key


def resolve(script_id: str, path: str, base_dir: Path) -> Location:
    """The files a source path names; ExtractionError naming the resolved path if none exists.

    ``${NAME}`` references are expanded first; messages then show the path as written
    (``location.hide`` is the caller's for messages naming a matched file).
    """
    location = expand_path(script_id, path)
    target = location.path
    if is_s3(target):
        try:
            bucket, key = split_s3(target)
            if location.s3_options:
                filesystem: pafs.FileSystem = pafs.S3FileSystem(**location.s3_options)
            else:
                filesystem, _ = pafs.FileSystem.from_uri(f"s3://{bucket}/")
        except (ValueError, OSError, pa.ArrowException) as exc:
            raise ExtractionError(script_id, location.hide(f"cannot open {target}: {exc}")) from None
        return _match(script_id, filesystem, f"{bucket}/{key}", path)
    pattern = local_pattern(target, base_dir)
    display = str(pattern.resolve()) if target == path else path
    return _match(script_id, pafs.LocalFileSystem(), str(pattern.resolve()), display)


def _match(script_id: str, filesystem: pafs.FileSystem, pattern: str, display: str) -> Location:
    """Expand a glob on ``filesystem`` (``*``/``?``/``[]`` in the file name part, ``**`` recursive)."""
    if not _GLOB_CHARS & set(pattern):
        info = filesystem.get_file_info(pattern)
        if info.type != pafs.FileType.File:
            what = "is a directory, not a file" if info.type == pafs.FileType.Directory else "not found"
            raise ExtractionError(script_id, f"file {what}: {display}")
        return Location(filesystem, [pattern], display)
    parts = pattern.split("/")
    first_glob = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    root = "/".join(parts[:first_glob]) or "/"
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    try:
        infos = filesystem.get_file_info(selector)
    except (OSError, pa.ArrowException) as exc:
        raise ExtractionError(script_id, f"cannot list {root}: {exc}") from exc
    matches = sorted(
        info.path
        for info in infos
        if info.type == pafs.FileType.File and _glob_match(info.path, pattern)
    )
    if not matches:
        raise ExtractionError(script_id, f"no file matches {display}")
    return Location(filesystem, matches, display)


def _glob_match(path: str, pattern: str) -> bool:
    """Segment-wise glob match; ``**`` matches any number of directories."""
    return _segments_match(path.strip("/").split("/"), pattern.strip("/").split("/"))


def _segments_match(path: list[str], pattern: list[str]) -> bool:
    if not pattern:
        return not path
    if pattern[0] == "**":
        return any(_segments_match(path[i:], pattern[1:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], pattern[0]) and _segments_match(path[1:], pattern[1:])


SNIFF_DELIMITERS = ",;\t|"
"""The delimiters sniffed when a CSV source gives none."""
SNIFF_BYTES = 64 << 10
"""Bytes of a CSV file's beginning (whole lines, at least the header) the delimiter is sniffed from."""


def extract_file(
    script: SourceScript,
    table: Table,
    writer: StagedWriter,
    base_dir: Path,
    *,
    fields_seen: list[list[str]] | None = None,
    record_fields: dict[str, None] | None = None,
) -> bool:
    """Stage every file of a file source; returns whether the staged values are native types.

    ``fields_seen`` gets, per file whose format names its fields (a CSV header, a Parquet
    schema), the names it found, so the caller can tell a declared column the file lacks.
    ``record_fields`` gets the keys of the JSON (lines) records read, each once: JSON names
    no fields up front, so these only feed the report's undeclared fields.
    """
    keys: dict[str, None] = {} if record_fields is None else record_fields
    source = script.source
    assert isinstance(source, FileSource)
    fields = source_fields(script, table)
    location = resolve(script.id, source.path, base_dir)
    for path in location.paths:
        try:
            if source.format == "csv":
                found = _csv(script.id, location.filesystem, path, fields, writer, source.csv)
            elif source.format == "jsonl":
                found = None
                _jsonl(script.id, location.filesystem, path, fields, writer, keys)
            elif source.format == "json":
                found = None
                _json_array(script.id, location.filesystem, path, fields, writer, keys)
            else:
                found = _parquet(location.filesystem, path, fields, writer)
        except ExtractionError:
            raise
        except (OSError, pa.ArrowException, UnicodeDecodeError, LookupError, csv.Error) as exc:
            raise ExtractionError(script.id, f"cannot read {source.format} file {path}: {exc}") from exc
        if found is not None and fields_seen is not None:
            fields_seen.append(found)
    if source.format == "parquet":
        writer.finish(parquet_empty_schema(script, table, base_dir) if not writer.paths else pa.schema([]))
        return True
    writer.finish(text_schema(fields))
    return False


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample (whole lines): ``csv.Sniffer`` among ``SNIFF_DELIMITERS``,
    ',' when it cannot tell (a single column)."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=SNIFF_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _csv(
    script_id: str,
    filesystem: pafs.FileSystem,
    path: str,
    fields: Mapping[str, str],
    writer: StagedWriter,
    options: CsvOptions,
) -> list[str] | None:
    """CSV with pyarrow's streaming reader; every column read as a string (no type inference).

    Returns the field names the file has (its header, or the declared ones without a header);
    None for an empty file.
    """
    head = b""
    with filesystem.open_input_stream(path) as stream:
        while (b"\n" not in head or len(head) < SNIFF_BYTES) and len(head) < MAX_HEADER_BYTES:
            chunk = stream.read(1 << 16)
            if not chunk:
                break
            head += chunk
    encoding = "utf-8-sig" if codecs.lookup(options.encoding).name == "utf-8" else options.encoding
    text = head.decode(encoding, errors="replace")
    if not text.strip():
        return None
    lines = io.StringIO(text, newline="").readlines()
    if len(lines) > 1 and not lines[-1].endswith(("\n", "\r")):
        lines = lines[:-1]  # cut off mid-line
    delimiter = options.delimiter or sniff_delimiter("".join(lines[:100]))
    if options.header:
        header = next(csv.reader(lines[:1], delimiter=delimiter, quotechar=options.quote), [])
        column_names = None
    else:
        header = list(dict.fromkeys(fields.values()))
        column_names = header
    wanted = [f for f in dict.fromkeys(fields.values()) if f in header]
    if not header:
        return None
    with filesystem.open_input_stream(path) as stream:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                block_size=CSV_BLOCK_BYTES, encoding=options.encoding, column_names=column_names
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char=options.quote, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                include_columns=wanted,
            ),
        )
        for batch in reader:
            writer.write_arrays(_select(batch, fields))
    return header


def _select(batch: pa.RecordBatch, fields: Mapping[str, str]) -> dict[str, pa.Array]:
    """The declared columns of a batch (renamed per mapping); a missing field is all null."""
    names = batch.schema.names
    return {
        column: batch.column(names.index(field)) if field in names else pa.nulls(batch.num_rows, pa.string())
        for column, field in fields.items()
    }


def _jsonl(
    script_id: str,
    filesystem: pafs.FileSystem,
    path: str,
    fields: Mapping[str, str],
    writer: StagedWriter,
    keys: dict[str, None],
) -> None:
    """JSON lines: one object per line (blank lines skipped), parsed with exact number text;
    the records' keys are added to ``keys``."""
    with filesystem.open_input_stream(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig")
        records = noting_keys(_jsonl_records(script_id, path, text), keys)
        writer.write_record_stream(records, fields)


def _jsonl_records(script_id: str, path: str, lines: Iterator[str] | io.TextIOBase) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = loads_exact(line)
        except json.JSONDecodeError as exc:
            raise ExtractionError(script_id, f"bad JSON at line {number} of {path}: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise ExtractionError(
                script_id, f"line {number} of {path} is not a JSON object (got {type(record).__name__})"
            )
        yield record


def _json_array(
    script_id: str,
    filesystem: pafs.FileSystem,
    path: str,
    fields: Mapping[str, str],
    writer: StagedWriter,
    keys: dict[str, None],
) -> None:
    """A JSON document holding an array of records, decoded one element at a time; the
    records' keys are added to ``keys``."""
    with filesystem.open_input_stream(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig")
        records = noting_keys(iter_json_array(script_id, path, text), keys)
        writer.write_record_stream(records, fields)


def iter_json_array(script_id: str, path: str, text: io.TextIOBase) -> Iterator[dict[str, Any]]:
    """Yield the objects of a top-level JSON array without loading the whole document.

    ``json.JSONDecoder.raw_decode`` decodes one element from a buffer; when the element runs
    past the end of the buffer, more text is read and the element retried. Only the current
    element (and one read chunk) is ever held.
    """
    decoder = json.JSONDecoder(parse_float=JsonNumber, parse_int=JsonNumber)
    buffer = ""
    pos = 0
    line = 1
    eof = False

    def fill() -> bool:
        nonlocal buffer, pos, eof
        if eof:
            return False
        chunk = text.read(JSON_CHUNK_CHARS)
        if not chunk:
            eof = True
            return False
        buffer = buffer[pos:] + chunk
        pos = 0
        return True

    def skip_space() -> str | None:
        """The next non-blank character (not consumed), reading more as needed; None at the end."""
        nonlocal pos, line
        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n":
                if buffer[pos] == "\n":
                    line += 1
                pos += 1
            if pos < len(buffer):
                return buffer[pos]
            if not fill():
                return None

    def fail(message: str) -> ExtractionError:
        return ExtractionError(script_id, f"bad JSON at line {line} of {path}: {message}")

    first = skip_space()
    if first != "[":
        raise ExtractionError(
            script_id,
            f"{path} is not a JSON array of records (it starts with {first!r}); use format 'jsonl' for one object per line",
        )
    pos += 1
    expect_value = True
    index = 0
    while True:
        char = skip_space()
        if char is None:
            raise fail("the array is not closed (unexpected end of file)")
        if char == "]" and (index == 0 or not expect_value):
            pos += 1
            break
        if not expect_value:
            if char != ",":
                raise fail(f"expected ',' or ']' after element {index}, found {char!r}")
            pos += 1
            expect_value = True
            continue
        while True:
            try:
                value, end = decoder.raw_decode(buffer, pos)
            except json.JSONDecodeError as exc:
                if len(buffer) - pos <= MAX_ELEMENT_CHARS and fill():
                    continue
                if not eof:
                    raise fail(f"{exc.msg}, or an element larger than {MAX_ELEMENT_CHARS} characters") from exc
                line += buffer.count("\n", pos, exc.pos)
                raise fail(exc.msg) from exc
            if end == len(buffer) and not eof and not isinstance(value, dict | list) and fill():
                continue  # a number or literal may continue in the next chunk
            break
        if not isinstance(value, dict):
            raise fail(f"element {index} is not a JSON object (got {type(value).__name__})")
        line += buffer.count("\n", pos, end)
        pos = end
        index += 1
        expect_value = False
        yield value
    if skip_space() is not None:
        raise fail("unexpected text after the closing ']'")


IN_PLACE_RESERVED = frozenset({"file_row_number", "filename", "_src_row", "_src_id", "_src_priority", "_ord"})
"""Field names the backends use while reading files in place: such files are copied instead."""


def parquet_in_place(
    script: SourceScript, table: Table, base_dir: Path
) -> tuple[list[Path], int, dict[str, str | None], list[str]] | None:
    """(files, rows, column -> field, the files' field names) when a Parquet source can be read where it lies.

    It can when its files are local and share one schema (a glob whose files differ in
    types is copied, one staged file per schema, and unioned by the cleaning stage) and no
    field clashes with a name the backends add. Only the Parquet footers are read here.
    """
    source = script.source
    assert isinstance(source, FileSource)
    if is_s3(expand_path(script.id, source.path).path):
        return None
    location = resolve(script.id, source.path, base_dir)
    fields = source_fields(script, table)
    schema: pa.Schema | None = None
    rows = 0
    try:
        for path in location.paths:
            metadata = pq.read_metadata(path)
            file_schema = metadata.schema.to_arrow_schema()
            if schema is None:
                schema = file_schema
            elif not file_schema.remove_metadata().equals(schema.remove_metadata()):
                return None
            rows += metadata.num_rows
    except (OSError, pa.ArrowException) as exc:
        raise ExtractionError(script.id, f"cannot read parquet file {path}: {exc}") from exc
    assert schema is not None
    if IN_PLACE_RESERVED & set(schema.names) or len(set(schema.names)) != len(schema.names):
        return None
    present = {column: (field if field in schema.names else None) for column, field in fields.items()}
    return [Path(p) for p in location.paths], rows, present, list(schema.names)


def _parquet(filesystem: pafs.FileSystem, path: str, fields: Mapping[str, str], writer: StagedWriter) -> list[str]:
    """Parquet by record batch, keeping the file's native Arrow types; returns its field names."""
    with filesystem.open_input_file(path) as handle:
        parquet = pq.ParquetFile(handle)
        names = list(parquet.schema_arrow.names)
        wanted = [f for f in dict.fromkeys(fields.values()) if f in names]
        if parquet.metadata.num_rows == 0:
            return names
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
            writer.write_arrays(_select(batch, fields))
    return names


def parquet_empty_schema(script: SourceScript, table: Table, base_dir: Path) -> pa.Schema:
    """The staged schema of a Parquet source with no rows: the first file's types, else strings."""
    source = script.source
    assert isinstance(source, FileSource)
    fields = source_fields(script, table)
    location = resolve(script.id, source.path, base_dir)
    with location.filesystem.open_input_file(location.paths[0]) as handle:
        schema = pq.ParquetFile(handle).schema_arrow
    return pa.schema(
        [
            (column, schema.field(field).type if field in schema.names else pa.string())
            for column, field in fields.items()
        ]
    )
