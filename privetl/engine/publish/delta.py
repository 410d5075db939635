"""Directory destination: one Delta Lake table per output table, plus Croissant metadata.

Layout of a published module (local path or ``s3://`` URL)::

    <root>/tables/<table>/            a Delta table (Parquet files + _delta_log), one commit per run
    <root>/versions/<N>/metadata.json the Croissant metadata of version N (its exact files)
    <root>/metadata.json              the latest version's metadata, replaced LAST

Why Delta Lake: each table's commit is atomic and old snapshots stay readable (time travel),
so version N is simply "Delta version v of each table", recorded in version N's metadata.
An overwrite never deletes the previous snapshot's Parquet files (we never vacuum), so every
published version's file list stays valid.

Why the pointer is written last: a run killed anywhere before the final ``os.replace`` leaves
``metadata.json`` naming the previous version, whose files are untouched. Delta commits made
by a killed run are unreferenced by any metadata and are superseded by the next run's commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from privetl.engine.errors import PublishError

TABLES_DIR = "tables"
VERSIONS_DIR = "versions"
METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class DataFile:
    """One Parquet file of a Delta snapshot: path relative to the published root."""

    table: str
    path: str
    sha256: str
    rows: int
    size: int


@dataclass(frozen=True)
class TableSnapshot:
    """A table as published in one version: its Delta version and exact Parquet files."""

    table: str
    delta_version: int
    rows: int
    files: tuple[DataFile, ...]


def is_remote(root: str) -> bool:
    """True for object-store URLs (``s3://`` and friends), False for local paths."""
    return "://" in root and not root.startswith("file://")


class Store:
    """Reads and writes small files under the published root, atomically.

    Local: write a temp file in the same directory, fsync, ``os.replace`` (atomic on POSIX).
    Remote: a single object PUT through pyarrow's filesystem, which is atomic on S3.
    """

    def __init__(self, root: str, storage_options: Mapping[str, str] | None = None) -> None:
        self.root = root.rstrip("/")
        self.remote = is_remote(root)
        self.storage_options = dict(storage_options or {})
        self._fs: Any = None
        if self.remote:
            from pyarrow import fs as pafs

            self._fs, self._base = pafs.FileSystem.from_uri(self.root)
        else:
            self._base = self.root

    def uri(self, relative: str) -> str:
        """Absolute path or URL of ``relative`` (POSIX separators) under the root."""
        return f"{self.root}/{relative}" if self.remote else str(Path(self.root) / relative)

    def read_bytes(self, relative: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        if not self.remote:
            path = Path(self.root) / relative
            return path.read_bytes() if path.exists() else None
        from pyarrow import fs as pafs

        target = f"{self._base}/{relative}"
        if self._fs.get_file_info(target).type == pafs.FileType.NotFound:
            return None
        with self._fs.open_input_stream(target) as stream:
            return bytes(stream.read())

    def sha256(self, relative: str) -> tuple[str, int]:
        """sha256 hex digest and size of a file, read in 1 MiB chunks (never whole in memory)."""
        digest = hashlib.sha256()
        size = 0
        if self.remote:
            stream_cm: Any = self._fs.open_input_stream(f"{self._base}/{relative}")
        else:
            stream_cm = open(Path(self.root) / relative, "rb")  # noqa: SIM115 - closed below
        with stream_cm as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def write_atomic(self, relative: str, data: bytes) -> None:
        """Write ``data`` so that readers see the old content or the new one, never a part."""
        if self.remote:
            with self._fs.open_output_stream(f"{self._base}/{relative}") as stream:
                stream.write(data)
            return
        target = Path(self.root) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(target.parent)


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def latest_document(store: Store) -> dict[str, Any] | None:
    """The latest published metadata, or None when nothing was published yet."""
    raw = store.read_bytes(METADATA_FILE)
    if raw is None:
        return None
    try:
        document = json.loads(raw)
    except ValueError as exc:  # pragma: no cover - only a hand-edited file gets here
        raise PublishError(f"{store.uri(METADATA_FILE)} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):  # pragma: no cover - as above
        raise PublishError(
            f"{store.uri(METADATA_FILE)} is not a metadata document (a JSON object): restore it from the newest versions/<N>/metadata.json"
        )
    return document


def version_number(document: Mapping[str, Any]) -> int:
    """The major version of a Croissant document (``"3.0.0"`` -> 3; an int stays itself)."""
    raw = document.get("version")
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).split(".", 1)[0])
    except ValueError as exc:
        raise PublishError(f"published metadata has an unreadable version {raw!r}") from exc


def write_table(
    store: Store,
    table: str,
    data: pa.RecordBatchReader | pa.Table,
    *,
    version: int,
    run_id: str,
) -> TableSnapshot:
    """Commit ``data`` as the new snapshot of ``tables/<table>`` and describe its files.

    Streams: a RecordBatchReader is handed to deltalake as it is (Arrow C stream), so the
    rows are never all in memory. ``schema_mode='overwrite'`` lets a version change a
    column's type (e.g. a new generalization) without touching older snapshots.
    """
    relative = f"{TABLES_DIR}/{table}"
    uri = store.uri(relative)
    options = store.storage_options or None
    commit = _commit_properties(version, run_id)
    try:
        exists = DeltaTable.is_deltatable(uri, storage_options=options)
        write_deltalake(
            uri,
            data,
            mode="overwrite" if exists else "error",
            schema_mode="overwrite" if exists else None,
            storage_options=options,
            commit_properties=commit,
        )
        delta = DeltaTable(uri, storage_options=options)
    except Exception as exc:  # deltalake raises several unrelated types
        raise _write_failed(table, exc) from exc
    return snapshot(store, table, delta)


def _commit_properties(version: int, run_id: str) -> CommitProperties:
    """The commit's metadata: which privetl version and run wrote it."""
    return CommitProperties(custom_metadata={"privetl.version": str(version), "privetl.run_id": run_id})


def _write_failed(table: str, exc: BaseException) -> PublishError:
    """A failed table write, named by its first line (engines embed whole tracebacks)."""
    first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
    return PublishError(f"writing Delta table {table!r} failed: {first_line}")


@dataclass(frozen=True)
class EngineTable:
    """An output table that the engine writes itself, as Parquet files, into a directory.

    For a local destination the engine writes straight into the Delta table's folder (its
    own parallel writer, no Arrow stream through Python) and delta-rs only commits the
    files; ``stream`` is used for other destinations (object stores, PostgreSQL).
    """

    write: Callable[[Path], list[Path]]
    """Write the table into the given directory as new Parquet files; return their paths."""
    stream: Callable[[], pa.RecordBatchReader]
    schema: pa.Schema
    """The table's Arrow schema (used when it has no rows and no file was written)."""


def commit_engine_table(
    store: Store, table: str, data: EngineTable, *, version: int, run_id: str
) -> TableSnapshot:
    """Have the engine write ``table``'s new files in place, then commit them as the table's
    new Delta snapshot (overwrite, with the schema of the files).

    Until the commit the files are in no snapshot, so readers never see them; a run killed
    before it leaves unreferenced files, as delta-rs' own writer would.
    """
    relative = f"{TABLES_DIR}/{table}"
    folder = Path(store.uri(relative))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = data.write(folder)
        schema = pq.read_schema(paths[0]) if paths else data.schema
        actions = [_add_action(folder, path) for path in paths]
        commit = _commit_properties(version, run_id)
        uri = str(folder)
        delta_schema = DeltaSchema.from_arrow(schema.remove_metadata())
        if DeltaTable.is_deltatable(uri):
            changes: list[AddAction | RemoveAction] = list(actions)  # the API's list takes both kinds
            DeltaTable(uri).create_write_transaction(
                changes, mode="overwrite", schema=delta_schema, commit_properties=commit
            )
        else:
            create_table_with_add_actions(
                uri, delta_schema, actions, mode="error", commit_properties=commit
            )
        delta = DeltaTable(uri)
    except Exception as exc:  # the engine's or deltalake's own error types
        raise _write_failed(table, exc) from exc
    return snapshot(store, table, delta)


def _add_action(folder: Path, path: Path) -> AddAction:
    """The Delta 'add' action of one Parquet file, with the statistics its footer holds."""
    stat = path.stat()
    metadata = pq.read_metadata(path)
    return AddAction(
        str(path.relative_to(folder)),
        stat.st_size,
        {},
        int(stat.st_mtime * 1000),
        True,
        json.dumps(_file_stats(metadata)),
    )


def _file_stats(metadata: pq.FileMetaData) -> dict[str, Any]:
    """numRecords, and per top-level column nullCount / minValues / maxValues where the footer
    has them for numbers and dates (strings and timestamps are left out: their Delta forms
    need truncation and zone rules, and the statistics are only an optimisation)."""
    import datetime as dt

    stats: dict[str, Any] = {"numRecords": metadata.num_rows}
    nulls: dict[str, int] = {}
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    schema = metadata.schema.to_arrow_schema()
    for index, field in enumerate(schema):
        if metadata.num_row_groups == 0 or not (
            pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
            or pa.types.is_date32(field.type) or pa.types.is_boolean(field.type)
            or pa.types.is_string(field.type)
        ):
            continue
        column_stats = [metadata.row_group(g).column(index).statistics for g in range(metadata.num_row_groups)]
        if any(c is None for c in column_stats):
            continue
        if all(c.has_null_count for c in column_stats):
            nulls[field.name] = int(sum(c.null_count for c in column_stats))
        if pa.types.is_string(field.type) or pa.types.is_boolean(field.type):
            continue
        with_values = [c for c in column_stats if c.has_min_max]
        if len(with_values) != len(column_stats) or not with_values:
            continue
        lo, hi = min(c.min for c in with_values), max(c.max for c in with_values)
        if isinstance(lo, float) and (lo != lo or hi != hi):  # NaN
            continue
        if isinstance(lo, dt.date):
            lo, hi = lo.isoformat(), hi.isoformat()
        low[field.name], high[field.name] = lo, hi
    if nulls:
        stats["nullCount"] = nulls
    if low:
        stats["minValues"], stats["maxValues"] = low, high
    return stats


def snapshot(store: Store, table: str, delta: DeltaTable) -> TableSnapshot:
    """The Parquet files of one Delta snapshot, with sha256 and row counts."""
    actions = delta.get_add_actions(flatten=True)
    # deltalake returns an arro3 table; read through the Arrow C stream (``pa.table`` of a
    # foreign object first imports pandas to ask whether it is a DataFrame: 0.4 s a run)
    columns = pa.RecordBatchReader.from_stream(actions).read_all().to_pydict()
    files: list[DataFile] = []
    for path, rows in sorted(zip(columns["path"], columns["num_records"], strict=True)):
        relative = str(PurePosixPath(TABLES_DIR, table, path))
        digest, size = store.sha256(relative)
        files.append(
            DataFile(table=table, path=relative, sha256=digest, rows=int(rows or 0), size=size)
        )
    return TableSnapshot(
        table=table,
        delta_version=int(delta.version()),
        rows=sum(f.rows for f in files),
        files=tuple(files),
    )


def read_snapshot(
    root: str, table: str, delta_version: int, storage_options: Mapping[str, str] | None = None
) -> pa.Table:
    """Time travel: the rows of ``table`` as published at Delta version ``delta_version``."""
    store = Store(root, storage_options)
    delta = DeltaTable(
        store.uri(f"{TABLES_DIR}/{table}"),
        version=delta_version,
        storage_options=dict(storage_options or {}) or None,
    )
    return delta.to_pyarrow_table()
