"""SQL sources: a query on PostgreSQL (server-side cursor) or SQLite, fetched in batches.

PostgreSQL is typed, so its values stage as native Arrow types (``native_types`` True),
mapped from the result's type OIDs. SQLite is dynamically typed — one column may hold an
integer in one row and text in the next — so its values stage as text like the text
formats, and the cleaning stage casts them.

Connection strings may hold ``${ENV}`` references (expanded here, at run time); neither the
expanded string nor any password ever appears in an error message.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from privetl.engine.errors import ExtractionError
from privetl.engine.extract.env import MissingVariable, expand_env, redact, referenced_values
from privetl.engine.extract.staging import BATCH_ROWS, StagedWriter, source_fields, text_schema
from privetl.engine.metadata import SourceScript, SqlSource, Table

_PG_TYPES: dict[str, pa.DataType] = {
    "int2": pa.int64(),
    "int4": pa.int64(),
    "int8": pa.int64(),
    "oid": pa.int64(),
    "float4": pa.float64(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "bytea": pa.binary(),
}
"""PostgreSQL types staged natively; every other type (numeric, text, json, uuid, ...) is
staged as its text form, which keeps numerics exact."""


def describe_connection(connection: str) -> str:
    """A connection string safe to show: scheme, host, port and database; no user or password."""
    if connection.startswith("sqlite:"):
        return connection
    try:
        parts = urlsplit(connection)
    except ValueError:
        return "the PostgreSQL connection"
    if not parts.scheme or not parts.hostname:
        return "the PostgreSQL connection"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def sqlite_path(connection: str, base_dir: Path) -> Path:
    """``sqlite:///rel/db.sqlite`` -> base_dir/rel/db.sqlite; ``sqlite:////abs/db`` -> /abs/db."""
    rest = connection[len("sqlite://") :]
    if not rest.startswith("/"):
        raise ValueError("a SQLite connection is sqlite:///relative/path or sqlite:////absolute/path")
    path = Path(unquote(rest[1:].split("?", 1)[0]))
    return path if path.is_absolute() else Path(base_dir) / path


def extract_sql(
    script: SourceScript,
    table: Table,
    writer: StagedWriter,
    base_dir: Path,
    *,
    record_fields: dict[str, None] | None = None,
) -> bool:
    """Run the script's query and stage its rows; returns whether values are native types.

    ``record_fields`` gets the result's column names (each once, even when no row came):
    they only feed the report's undeclared fields, never ``check_columns``.
    """
    names: dict[str, None] = {} if record_fields is None else record_fields
    source = script.source
    assert isinstance(source, SqlSource)
    try:
        connection = expand_env(source.connection)
    except MissingVariable as exc:
        raise ExtractionError(
            script.id, f"environment variable {exc.name} (used in the connection string) is not set"
        ) from exc
    secrets = [connection, *referenced_values(source.connection), *_url_password(connection)]
    fields = source_fields(script, table)
    if connection.startswith("sqlite:"):
        _sqlite(script, connection, fields, writer, base_dir, names)
        writer.finish(text_schema(fields))
        return False
    if connection.startswith(("postgresql://", "postgres://")) or "=" in connection:
        _postgres(script, connection, fields, writer, secrets, names)
        return True
    raise ExtractionError(
        script.id, "the connection must start with postgresql:// or sqlite:/// (other databases are not supported)"
    )


def _url_password(connection: str) -> list[str]:
    """The password of a URL-style or key=value connection string (to redact it from errors)."""
    found = []
    try:
        password = urlsplit(connection).password
        if password:
            found += [password, unquote(password)]
    except ValueError:
        pass
    for token in connection.split():
        if token.startswith("password="):
            found.append(token[len("password=") :].strip("'"))
    return found


def _sqlite(
    script: SourceScript,
    connection: str,
    fields: dict[str, str],
    writer: StagedWriter,
    base_dir: Path,
    columns: dict[str, None],
) -> None:
    try:
        path = sqlite_path(connection, base_dir).resolve()
    except ValueError as exc:
        raise ExtractionError(script.id, str(exc)) from exc
    if not path.is_file():
        raise ExtractionError(script.id, f"SQLite database not found: {path}")
    source = script.source
    assert isinstance(source, SqlSource)
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ExtractionError(script.id, f"cannot open SQLite database {path}: {exc}") from exc
    try:
        cursor = conn.execute(source.query)
        names = [d[0] for d in cursor.description or []]
        columns.update(dict.fromkeys(names))
        for rows in _batches(cursor.fetchmany):
            writer.write_arrays(_text_columns(rows, names, fields))
    except sqlite3.Error as exc:
        raise ExtractionError(script.id, f"SQLite query failed on {path}: {exc}") from exc
    finally:
        conn.close()


def _batches(fetchmany: Callable[[int], Sequence[Sequence[Any]]]) -> Iterator[Sequence[Sequence[Any]]]:
    while True:
        rows = fetchmany(BATCH_ROWS)
        if not rows:
            return
        yield rows


def _sqlite_text(value: Any) -> str | None:
    """SQLite's value as text: numbers as Python writes them, blobs as hex."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    return repr(value) if isinstance(value, float) else str(value)


def _text_columns(rows: Sequence[Sequence[Any]], names: list[str], fields: dict[str, str]) -> dict[str, pa.Array]:
    return {
        column: pa.array([_sqlite_text(r[names.index(field)]) for r in rows], pa.string())
        if field in names
        else pa.nulls(len(rows), pa.string())
        for column, field in fields.items()
    }


def _postgres(
    script: SourceScript,
    connection: str,
    fields: dict[str, str],
    writer: StagedWriter,
    secrets: list[str],
    columns: dict[str, None],
) -> None:
    import psycopg

    source = script.source
    assert isinstance(source, SqlSource)
    where = describe_connection(connection)
    try:
        with psycopg.connect(connection, connect_timeout=30) as conn, conn.transaction():
            with conn.cursor(name=f"privetl_extract_{script.id}") as cursor:
                cursor.itersize = BATCH_ROWS
                cursor.execute(source.query)
                description = cursor.description or []
                names = [d.name for d in description]
                columns.update(dict.fromkeys(names))
                types = [_pg_arrow_type(conn, d.type_code) for d in description]
                schema = pa.schema(
                    [
                        (column, types[names.index(field)] if field in names else pa.string())
                        for column, field in fields.items()
                    ]
                )
                for rows in _batches(cursor.fetchmany):
                    writer.write_arrays(
                        {
                            column: _pg_array(rows, names.index(field), schema.field(column).type)
                            if field in names
                            else pa.nulls(len(rows), pa.string())
                            for column, field in fields.items()
                        }
                    )
                writer.finish(schema)
    except psycopg.Error as exc:
        message = redact(str(exc).strip(), secrets)
        raise ExtractionError(script.id, f"PostgreSQL error on {where}: {message}") from exc


def _pg_arrow_type(conn: Any, oid: int) -> pa.DataType:
    info = conn.adapters.types.get(oid)
    return _PG_TYPES.get(info.name if info is not None else "", pa.string())


def _pg_array(rows: Sequence[Sequence[Any]], index: int, arrow_type: pa.DataType) -> pa.Array:
    values = [r[index] for r in rows]
    if pa.types.is_string(arrow_type):
        return pa.array([_pg_text(v) for v in values], pa.string())
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None:
        values = [v.astimezone(dt.UTC) if v is not None else None for v in values]
    return pa.array(values, arrow_type)


def _pg_text(value: Any) -> str | None:
    """Text form of a PostgreSQL value staged as a string (numeric exact, json as JSON text)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)
