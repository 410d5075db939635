"""PostgreSQL destination: a table per version, a view per table naming the latest.

For version N of a module, table ``t`` is written to ``<schema>.t_vN`` with COPY (CSV
produced by Arrow, batch by batch, so the rows are streamed), and the view ``<schema>.t`` is
re-pointed at it. Everything — the new tables, the view swap and the row in
``<schema>._privetl_versions`` holding the version's Croissant metadata — happens in ONE
transaction: a failed or killed run rolls back and readers keep seeing the previous version.
Older ``t_vK`` tables stay, so every version remains readable by its own name.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from privetl.engine.errors import PublishError

VERSIONS_TABLE = "_privetl_versions"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(text: str) -> str:
    """Replace ``${NAME}`` with the environment's value, so secrets stay out of documents."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise PublishError(f"environment variable {name} (used by the destination) is not set")
        return os.environ[name]

    return _ENV_REF.sub(sub, text)


def pg_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL column type for an Arrow type (text for anything unusual)."""
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_int8(arrow_type) or pa.types.is_int16(arrow_type):
        return "smallint"
    if (
        pa.types.is_int32(arrow_type)
        or pa.types.is_uint8(arrow_type)
        or pa.types.is_uint16(arrow_type)
    ):
        return "integer"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_decimal(arrow_type):
        return "numeric"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    return "text"


@dataclass(frozen=True)
class PgTable:
    """One table of a version published to PostgreSQL."""

    table: str
    relation: str
    rows: int


def previous_version(conn: Any, schema: str, module_id: str) -> int | None:
    """The latest version of the module published to this schema, or None."""
    from psycopg import sql

    exists = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (f'"{schema}"."{VERSIONS_TABLE}"',)
    ).fetchone()[0]
    if not exists:
        return None
    row = conn.execute(
        sql.SQL("SELECT max(version) FROM {}.{} WHERE module_id = %s").format(
            sql.Identifier(schema), sql.Identifier(VERSIONS_TABLE)
        ),
        (module_id,),
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def publish_postgres(
    *,
    connection: str,
    schema: str,
    module_id: str,
    base_version: int,
    tables: Mapping[str, pa.RecordBatchReader | pa.Table],
    build_document: Callable[[int, list[PgTable], int | None], dict[str, Any]],
    before_commit: Callable[[], None] | None = None,
) -> tuple[int, list[PgTable], dict[str, Any]]:
    """Write every table as ``<t>_v<N>``, swap the views, record the version; one transaction.

    ``build_document(N, tables, previous)`` returns the version's Croissant metadata once the
    version number and row counts are known (``previous``: the version it follows, or None). Returns (N, tables, document).
    """
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(expand_env(connection), autocommit=False) as conn:
            # One publisher per module at a time: the version number is read and used under the lock.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"privetl:{module_id}",))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.{} (module_id text NOT NULL, version integer NOT NULL,"
                    " tables jsonb NOT NULL, metadata jsonb NOT NULL,"
                    " published_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (module_id, version))"
                ).format(sql.Identifier(schema), sql.Identifier(VERSIONS_TABLE))
            )
            previous = previous_version(conn, schema, module_id)
            version = max(previous or 0, base_version) + 1
            written = [
                _write_table(conn, schema, name, data, version) for name, data in tables.items()
            ]
            for table in written:
                view = sql.Identifier(schema, table.table)
                conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
                conn.execute(
                    sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
                        view, sql.Identifier(schema, table.relation)
                    )
                )
            document = build_document(version, written, previous)
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.{} (module_id, version, tables, metadata) VALUES (%s, %s, %s, %s)"
                ).format(sql.Identifier(schema), sql.Identifier(VERSIONS_TABLE)),
                (
                    module_id,
                    version,
                    json.dumps(
                        {t.table: {"relation": t.relation, "rows": t.rows} for t in written}
                    ),
                    json.dumps(document, default=str),
                ),
            )
            if before_commit is not None:
                before_commit()
            conn.commit()
    except psycopg.Error as exc:
        # The message names the server's complaint; the connection string (maybe a password) is not in it.
        raise PublishError(
            f"publishing to PostgreSQL failed: {exc.__class__.__name__}: {exc}"
        ) from exc
    return version, written, document


def _write_table(
    conn: Any, schema: str, name: str, data: pa.RecordBatchReader | pa.Table, version: int
) -> PgTable:
    """CREATE TABLE ``<name>_v<version>`` from the Arrow schema and COPY the batches in."""
    from psycopg import sql

    reader = data.to_reader() if isinstance(data, pa.Table) else data
    relation = f"{name}_v{version}"
    if len(relation) > 63:
        raise PublishError(f"table name {relation!r} is longer than PostgreSQL's 63 characters")
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(pg_type(f.type)))
        for f in reader.schema
    )
    target = sql.Identifier(schema, relation)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(target, columns))
    names = sql.SQL(", ").join(sql.Identifier(f.name) for f in reader.schema)
    rows = 0
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with (
        conn.cursor() as cursor,
        cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, names)) as copy,
    ):
        for batch in reader:
            if batch.num_rows == 0:
                continue
            buffer = io.BytesIO()
            pacsv.write_csv(pa.Table.from_batches([batch]), buffer, write_options=options)
            copy.write(buffer.getvalue())
            rows += batch.num_rows
    return PgTable(table=name, relation=relation, rows=rows)


def read_version_document(
    connection: str, schema: str, module_id: str, version: int | None = None
) -> dict[str, Any] | None:
    """The Croissant metadata of a published version (the latest when ``version`` is None)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(expand_env(connection)) as conn:
        if previous_version(conn, schema, module_id) is None:
            return None
        query = sql.SQL(
            "SELECT metadata FROM {}.{} WHERE module_id = %s {} ORDER BY version DESC LIMIT 1"
        ).format(
            sql.Identifier(schema),
            sql.Identifier(VERSIONS_TABLE),
            sql.SQL("AND version = %s") if version is not None else sql.SQL(""),
        )
        params: tuple[Any, ...] = (module_id, version) if version is not None else (module_id,)
        row = conn.execute(query, params).fetchone()
        return None if row is None else dict(row[0])
