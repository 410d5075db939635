"""Extraction: run one collection-protocol script and stage its records as Parquet.

``extract_script`` is the stage's only entry point (see ``privetl/engine/DESIGN.md``). Each
script kind streams: files by block/line/element/batch, SQL through a server-side cursor,
executables line by line from stdout, HTTP page by page — so no source is ever held whole in
Python objects. What comes out is the same for every kind: Parquet files with one column per
declared table column (after ``mapping``) plus ``_src_row`` — except local Parquet sources,
which are already typed, columnar and on this machine: they are read in place (``InPlace``),
never copied, and checked unchanged before anything is published.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from privetl.engine.errors import ExtractionError
from privetl.engine.extract.env import ExpandedLocation, MissingVariable, expand_location
from privetl.engine.extract.staging import StagedWriter, source_fields
from privetl.engine.metadata import (
    NAME_PATTERN,
    ExecSource,
    FileSource,
    HttpSource,
    SourceScript,
    SqlSource,
    Table,
)

__all__ = [
    "ExtractionError",
    "InPlace",
    "StagedSource",
    "check_columns",
    "check_not_empty",
    "check_unchanged",
    "extract_script",
]


@dataclass(frozen=True)
class InPlace:
    """A source whose own Parquet files are read where they lie instead of being copied.

    The files keep the source's field names (``fields`` maps each declared column to its
    field, None when the files lack it) and have no ``_src_row``: the backend numbers the
    rows across the files in order. ``fingerprints`` (path, size, mtime in ns) are taken at
    extraction: the run reads the files more than once, so ``check_unchanged`` refuses to
    publish from a file that changed meanwhile.
    """

    fields: dict[str, str | None]
    fingerprints: tuple[tuple[str, int, int], ...]
    location: ExpandedLocation | None = None
    """How the source's path was expanded, when it names ``${NAME}``: messages hide the values."""


@dataclass(frozen=True)
class StagedSource:
    """One script's staged records: where they are, how many, and whether values are typed.

    ``native_types`` is True when the source is typed (Parquet, PostgreSQL) and the staged
    columns keep those types; False when every column holds the raw value as a string.
    ``in_place`` is set when ``paths`` are the source's own files (see ``InPlace``).
    """

    script_id: str
    table: str
    priority: int
    paths: list[Path]
    rows: int
    native_types: bool
    in_place: InPlace | None = None
    fields_found: tuple[str, ...] | None = None
    """The fields the source's files name (CSV headers, Parquet schemas, in order, each once);
    None where the format does not say (JSON, SQL, HTTP, executables) or a file was empty."""
    fields_missing: tuple[str, ...] = ()
    """Declared columns (by their source field) that a file naming its fields lacks."""
    record_fields: tuple[str, ...] | None = None
    """The fields the records named where the format declares none up front: the union of the
    keys of the JSON (lines) records read, or a SQL result's column names; None for the other
    kinds, or a JSON source with no record. Kept apart from ``fields_found`` because it only
    feeds the report's undeclared fields: ``check_columns`` does not judge these sources."""


def fingerprint(path: Path) -> tuple[str, int, int]:
    """(path, size, mtime in ns): what tells that a file is still the one that was read."""
    stat = os.stat(path)
    return (str(path), stat.st_size, stat.st_mtime_ns)


def check_unchanged(staged: list[StagedSource]) -> None:
    """Raise ``ExtractionError`` if a source file read in place changed during the run."""
    for source in staged:
        if source.in_place is None:
            continue
        location = source.in_place.location
        hide = location.hide if location is not None else str
        for path, size, mtime in source.in_place.fingerprints:
            try:
                now = fingerprint(Path(path))
            except OSError as exc:
                raise ExtractionError(
                    source.script_id, hide(f"source file {path} disappeared during the run: {exc}")
                ) from None
            if now[1:] != (size, mtime):
                raise ExtractionError(
                    source.script_id,
                    hide(f"source file {path} changed during the run (size or modification time); ")
                    + "nothing was published: run again once it is complete",
                )


def check_columns(script: SourceScript, table: Table, staged: StagedSource) -> None:
    """Raise ``ExtractionError`` if the source's files do not fit its declaration.

    A file that names its fields (a CSV header, a Parquet schema) but none of the declared
    columns is misread (a wrong delimiter) or the wrong file; a declared column it lacks
    would be published as empty values. Either fails the run, naming what was found, unless
    the script declares the column ``absent``.
    """
    if staged.fields_found is None:
        return
    found = staged.fields_found
    shown = ", ".join(repr(f) for f in found[:20]) + (f", ... ({len(found)} in all)" if len(found) > 20 else "")
    wanted = set(source_fields(script, table).values())
    source = script.source
    hint = ""
    if isinstance(source, FileSource) and source.format == "csv":
        delimiter = source.csv.delimiter
        hint = (
            f'; the delimiter was {delimiter!r}' if delimiter else
            '; the delimiter was sniffed: give it with "csv": {"delimiter": ";"} on the source if it is wrong'
        )
    renames = {f: re.sub(r"[^A-Za-z0-9_]", "_", f) for f in found if f not in wanted and not re.fullmatch(NAME_PATTERN, f)}
    if renames:
        example = next(iter(renames.items()))
        hint += (
            f"; fields such as {example[0]!r} are not column names: declare the column as {example[1]!r} "
            f'and map it, "mapping": {{"{example[1]}": "{example[0]}"}}'
        )
    if not wanted & set(found):
        raise ExtractionError(
            script.id, f"the source has none of the declared columns; it has {shown}{hint}"
        )
    absent = {script.mapping.get(c, c) for c in script.absent}
    missing = [f for f in staged.fields_missing if f not in absent]
    if missing:
        raise ExtractionError(
            script.id,
            "the source lacks declared column(s) " + ", ".join(repr(f) for f in missing)
            + f"; it has {shown}. Map each to the source's field with \"mapping\", or list the "
            "columns it does not have in \"absent\" on the script" + hint,
        )


def check_not_empty(script: SourceScript, staged: StagedSource, *, base_dir: Path) -> None:
    """Raise ``ExtractionError`` if ``staged`` holds no rows and ``script`` does not allow that.

    An export that came out empty (a 0-byte file, a header and no rows, a query or an API
    returning nothing) would otherwise publish a smaller version with no word of it. The
    message names the source and says how to allow an empty one.
    """
    if staged.rows or script.allow_empty:
        return
    source = script.source
    if isinstance(source, FileSource):
        what = f"file {source.path!r}"
        try:
            expanded = expand_location(source.path).path
        except MissingVariable:
            expanded = source.path
        local = Path(base_dir) / expanded
        if "://" not in expanded and local.is_file():
            size = local.stat().st_size
            what += " is empty (0 bytes)" if size == 0 else f" ({size:,} bytes) has no records (a header only?)"
        else:
            what += " has no records"
    elif isinstance(source, SqlSource):
        what = "the query returned no rows"
    elif isinstance(source, HttpSource):
        what = f"{source.url} returned no records"
    else:
        what = "the command wrote no records"
    raise ExtractionError(
        script.id,
        f"{what}: an empty source fails the run, so a missing export is not published as a smaller "
        f'version. If this source may be empty, set "allow_empty": true on script {script.id!r} '
        "in privetl:collectionProtocol",
    )


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
    source = script.source
    if not isinstance(source, FileSource) or "${" not in source.path:
        return _extract(script, table, base_dir=Path(base_dir), staging_dir=staging_dir, on_rows=on_rows)
    from privetl.engine.extract.files import expand_path

    location = expand_path(script.id, source.path)
    try:
        staged = _extract(script, table, base_dir=Path(base_dir), staging_dir=staging_dir, on_rows=on_rows)
    except ExtractionError as exc:
        # Messages name the files read, under the expanded base: show it as its ${NAME}.
        raise ExtractionError(script.id, location.hide(exc.message)) from None
    if staged.in_place is not None:
        staged = dataclasses.replace(staged, in_place=dataclasses.replace(staged.in_place, location=location))
    return staged


def _extract(
    script: SourceScript,
    table: Table,
    *,
    base_dir: Path,
    staging_dir: Path,
    on_rows: Callable[[int], None] | None,
) -> StagedSource:
    """``extract_script`` once the script's table is checked."""
    source = script.source
    if isinstance(source, FileSource) and source.format == "parquet":
        from privetl.engine.extract.files import parquet_in_place

        in_place = parquet_in_place(script, table, base_dir)
        if in_place is not None:
            paths, rows, fields, names = in_place
            if on_rows is not None and rows:
                on_rows(rows)
            return StagedSource(
                script_id=script.id,
                table=table.name,
                priority=script.priority,
                paths=paths,
                rows=rows,
                native_types=True,
                in_place=InPlace(fields=fields, fingerprints=tuple(fingerprint(p) for p in paths)),
                fields_found=tuple(names),
                fields_missing=tuple(dict.fromkeys(script.mapping.get(c, c) for c, f in fields.items() if f is None)),
            )
    seen: list[list[str]] = []
    record_fields: dict[str, None] = {}
    with StagedWriter(Path(staging_dir), script.id, on_rows=on_rows) as writer:
        if isinstance(source, FileSource):
            from privetl.engine.extract.files import extract_file

            native = extract_file(
                script, table, writer, base_dir, fields_seen=seen, record_fields=record_fields
            )
        elif isinstance(source, SqlSource):
            from privetl.engine.extract.sql import extract_sql

            native = extract_sql(script, table, writer, base_dir, record_fields=record_fields)
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
        fields_found=tuple(dict.fromkeys(f for names in seen for f in names)) if seen else None,
        fields_missing=tuple(
            dict.fromkeys(f for names in seen for f in source_fields(script, table).values() if f not in names)
        ),
        record_fields=tuple(record_fields) if record_fields else None,
    )
