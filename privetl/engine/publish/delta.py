"""Directory destination: one Delta Lake table per output table, plus Croissant metadata.

Layout of a published module (local path or ``s3://`` URL)::

    <root>/tables/<table>/            a Delta table (Parquet files + _delta_log), one commit per run
    <root>/versions/<N>/metadata.json the Croissant metadata of version N (its exact files)
    <root>/metadata.json              the latest version's metadata, replaced LAST

Why Delta Lake: each table's commit is atomic and old snapshots stay readable (time travel),
so version N is simply "Delta version v of each table", recorded in version N's metadata.
An overwrite never deletes the previous snapshot's Parquet files (we never vacuum), so every
published version's file list stays valid.

A version is published in three phases, so that the window in which a kill leaves a table
ahead of the published version is only the commits themselves:

1. **files**: every table's new Parquet files are written into its folder (``prepare_table``,
   ``prepare_engine_table``); they are in no Delta snapshot yet, so no reader sees them;
2. **commits**: the tables are committed one after another (``commit_table``);
3. **pointer**: the version's metadata, ``metadata.json`` last (``os.replace``).

A run killed before the pointer leaves ``metadata.json`` naming the previous version, whose
files are untouched. A killed run's Delta commits are in no metadata, but a reader of a
table's *latest* snapshot would see them: the next publication first restores each such
table to the Delta version the published metadata names (``revert_unpublished``), and says
so. Readers who load the Delta version the metadata names (``DeltaTable(path, version=N)``)
never see them at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from privetl.engine.errors import PublishError
from privetl.engine.extract.env import ExpandedLocation

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

    def __init__(
        self,
        root: str,
        storage_options: Mapping[str, str] | None = None,
        *,
        location: ExpandedLocation | None = None,
    ) -> None:
        self.root = root.rstrip("/")
        self.remote = is_remote(root)
        self.location = location
        """How ``root`` was expanded from the destination's ``${NAME}`` references, if it was."""
        options = location.delta_storage_options() if location is not None else {}
        self.storage_options = {**options, **dict(storage_options or {})}
        self._fs: Any = None
        if self.remote:
            from pyarrow import fs as pafs

            if location is not None and location.s3_options and self.root.startswith("s3://"):
                self._fs = pafs.S3FileSystem(**location.s3_options)
                self._base = self.root.removeprefix("s3://")
            else:
                self._fs, self._base = pafs.FileSystem.from_uri(self.root)
        else:
            self._base = self.root

    @property
    def shown_root(self) -> str:
        """The root as messages and reports show it: as the document writes it."""
        return self.location.raw.rstrip("/") if self.location is not None else self.root

    def hide(self, message: str) -> str:
        """``message`` without the expanded root or its credentials (see ``ExpandedLocation.hide``)."""
        return self.location.hide(message) if self.location is not None else message

    @property
    def filesystem(self) -> Any:
        """The pyarrow filesystem of a remote root (None for a local one)."""
        return self._fs

    def path(self, relative: str) -> str:
        """``relative`` as a path for ``filesystem`` (a local path when that is None)."""
        return f"{self._base}/{relative}" if self.remote else str(Path(self.root) / relative)

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


ROWS_PER_FILE = 1 << 22
"""Rows per Parquet file the publisher writes from an Arrow stream (the engine's own writer
decides for the tables it writes itself)."""


@dataclass(frozen=True)
class PreparedTable:
    """A table's new Parquet files, written into its folder and not yet committed: the
    first phase of a publication (no reader sees them until ``commit_table``)."""

    table: str
    actions: tuple[AddAction, ...]
    schema: pa.Schema
    """The Arrow schema of the new snapshot (the files', or the data's when it has no rows)."""
    base_version: int | None
    """The table's Delta version when the files were written (None: no Delta table yet)."""


@dataclass(frozen=True)
class RevertedCommit:
    """A table restored to its published Delta version: ``from_version`` was committed by a
    run that never made its version visible."""

    table: str
    from_version: int
    to_version: int
    """The Delta version the published metadata names (the restore makes it the latest)."""
    restored_as: int
    """The Delta version of the restore commit (its snapshot is ``to_version``'s)."""

    def describe(self) -> str:
        """One line for the run report."""
        return (
            f"reverted table {self.table!r} from Delta version {self.from_version} to {self.to_version},"
            f" the one the published metadata names (Delta version {self.from_version} was committed by"
            f" a run that did not finish publishing; the restore is Delta version {self.restored_as})"
        )


def write_table(
    store: Store,
    table: str,
    data: pa.RecordBatchReader | pa.Table,
    *,
    version: int,
    run_id: str,
) -> TableSnapshot:
    """Commit ``data`` as the new snapshot of ``tables/<table>`` and describe its files
    (``prepare_table`` then ``commit_table``)."""
    prepared = prepare_table(store, table, data)
    return commit_table(store, prepared, version=version, run_id=run_id)


def prepare_table(store: Store, table: str, data: pa.RecordBatchReader | pa.Table) -> PreparedTable:
    """Write ``data`` as new Parquet files into ``tables/<table>``, without committing them.

    Streams: batches are written as they come, so the rows are never all in memory; a new
    file every ``ROWS_PER_FILE`` rows. Timestamps are written in microseconds (Delta's unit).
    """
    relative = f"{TABLES_DIR}/{table}"
    reader = data.to_reader() if isinstance(data, pa.Table) else data
    schema = _delta_arrow_schema(reader.schema)
    try:
        base = _current_version(store, relative)
        actions = _write_files(store, relative, reader, schema)
    except Exception as exc:  # pyarrow's and deltalake's own error types
        raise _write_failed(table, exc) from exc
    return PreparedTable(table=table, actions=tuple(actions), schema=schema, base_version=base)


def _delta_arrow_schema(schema: pa.Schema) -> pa.Schema:
    """The schema as the files hold it: timestamps in microseconds, no Arrow metadata."""
    fields = [
        f.with_type(pa.timestamp("us", f.type.tz))
        if pa.types.is_timestamp(f.type) and f.type.unit != "us"
        else f
        for f in schema
    ]
    return pa.schema(fields)


def _write_files(
    store: Store, relative: str, reader: pa.RecordBatchReader, schema: pa.Schema
) -> list[AddAction]:
    """Write the stream's batches as ``part-<uuid>.parquet`` files; their add actions."""
    actions: list[AddAction] = []
    writer: pq.ParquetWriter | None = None
    name = ""
    rows = 0

    def close() -> None:
        assert writer is not None
        writer.close()
        actions.append(_written_action(store, relative, name))

    if not store.remote:
        Path(store.uri(relative)).mkdir(parents=True, exist_ok=True)
    for batch in reader:
        if batch.num_rows == 0:
            continue
        if writer is not None and rows >= ROWS_PER_FILE:
            close()
            writer = None
        if writer is None:
            name = f"part-{uuid.uuid4()}.parquet"
            writer = pq.ParquetWriter(
                store.path(f"{relative}/{name}"),
                schema,
                filesystem=store.filesystem,
                coerce_timestamps="us",
                allow_truncated_timestamps=True,
            )
            rows = 0
        writer.write_batch(batch)
        rows += batch.num_rows
    if writer is not None:
        close()
    return actions


def _written_action(store: Store, relative: str, name: str) -> AddAction:
    """The add action of a file the publisher wrote (size and footer read back)."""
    path = store.path(f"{relative}/{name}")
    metadata = pq.read_metadata(path, filesystem=store.filesystem)
    size = store.filesystem.get_file_info(path).size if store.remote else Path(path).stat().st_size
    return AddAction(
        name, int(size), {}, int(time.time() * 1000), True, json.dumps(_file_stats(metadata))
    )


def _current_version(store: Store, relative: str) -> int | None:
    """The Delta version of ``relative``'s table, or None when there is no Delta table."""
    uri = store.uri(relative)
    options = store.storage_options or None
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        return None
    return int(DeltaTable(uri, storage_options=options).version())


def commit_table(store: Store, prepared: PreparedTable, *, version: int, run_id: str) -> TableSnapshot:
    """Commit a prepared table's files as its new Delta snapshot (overwrite, with their
    schema, so a version may change a column's type): the second phase of a publication."""
    relative = f"{TABLES_DIR}/{prepared.table}"
    uri = store.uri(relative)
    options = store.storage_options or None
    commit = _commit_properties(version, run_id)
    try:
        delta_schema = DeltaSchema.from_arrow(prepared.schema.remove_metadata())
        if DeltaTable.is_deltatable(uri, storage_options=options):
            changes: list[AddAction | RemoveAction] = list(prepared.actions)  # the API's list takes both kinds
            DeltaTable(uri, storage_options=options).create_write_transaction(
                changes, mode="overwrite", schema=delta_schema, commit_properties=commit
            )
        else:
            create_table_with_add_actions(
                uri,
                delta_schema,
                list(prepared.actions),
                mode="error",
                storage_options=dict(store.storage_options) or None,
                commit_properties=commit,
            )
        delta = DeltaTable(uri, storage_options=options)
    except Exception as exc:  # deltalake raises several unrelated types
        raise _write_failed(prepared.table, exc) from exc
    return snapshot(store, prepared.table, delta)


RESTORES_KEY = "privetl.restores"
"""Commit metadata of a restore: the Delta version it restored (so it is done only once)."""


def restore_table(
    store: Store, table: str, delta_version: int, *, version: int | None, run_id: str
) -> RevertedCommit | None:
    """Restore ``table`` to ``delta_version`` unless its latest snapshot already is that one
    (the same version, or a restore of it); the revert, or None when there was nothing to do.

    ``version`` is the published module version whose metadata names ``delta_version``.
    Delta's restore is a new commit re-adding that version's files (never vacuumed).
    """
    uri = store.uri(f"{TABLES_DIR}/{table}")
    options = store.storage_options or None
    try:
        if not DeltaTable.is_deltatable(uri, storage_options=options):
            return None
        delta = DeltaTable(uri, storage_options=options)
        latest = int(delta.version())
        if latest <= delta_version:
            return None
        last = delta.history(1)[0]
        if last.get(RESTORES_KEY) == str(delta_version):
            return None  # an earlier run already restored it
        delta.restore(
            delta_version,
            commit_properties=CommitProperties(
                custom_metadata={
                    "privetl.version": str(version if version is not None else ""),
                    "privetl.run_id": run_id,
                    RESTORES_KEY: str(delta_version),
                }
            ),
        )
        restored_as = int(DeltaTable(uri, storage_options=options).version())
    except Exception as exc:  # deltalake raises several unrelated types
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise PublishError(
            f"restoring Delta table {table!r} to its published Delta version {delta_version} failed: {first_line}"
        ) from exc
    return RevertedCommit(table=table, from_version=latest, to_version=delta_version, restored_as=restored_as)


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
    new Delta snapshot (``prepare_engine_table`` then ``commit_table``)."""
    prepared = prepare_engine_table(store, table, data)
    return commit_table(store, prepared, version=version, run_id=run_id)


def prepare_engine_table(store: Store, table: str, data: EngineTable) -> PreparedTable:
    """Have the engine write ``table``'s new files into its folder, not yet committed.

    Until the commit the files are in no snapshot, so readers never see them; a run killed
    before it leaves unreferenced files, as delta-rs' own writer would.
    """
    relative = f"{TABLES_DIR}/{table}"
    folder = Path(store.uri(relative))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        base = _current_version(store, relative)
        paths = data.write(folder)
        schema = pq.read_schema(paths[0]) if paths else data.schema
        actions = [_add_action(folder, path) for path in paths]
    except Exception as exc:  # the engine's or deltalake's own error types
        raise _write_failed(table, exc) from exc
    return PreparedTable(
        table=table, actions=tuple(actions), schema=schema.remove_metadata(), base_version=base
    )


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
    """Time travel: the rows of ``table`` as published at Delta version ``delta_version``.

    Read through pyarrow's own filesystem (``native_filesystem``), never deltalake's default
    Python one: with that, the process can abort at exit after a successful read.
    """
    store = Store(root, storage_options)
    relative = f"{TABLES_DIR}/{table}"
    delta = DeltaTable(
        store.uri(relative),
        version=delta_version,
        storage_options=dict(storage_options or {}) or None,
    )
    return delta.to_pyarrow_table(filesystem=native_filesystem(store, relative))


def native_filesystem(store: Store, relative: str) -> Any:
    """A pyarrow filesystem rooted at the Delta table ``relative``, for ``to_pyarrow_*``.

    Why: deltalake's default is a Python filesystem handler (``PyFileSystem``). pyarrow's
    I/O threads release the scan's last buffers — Python objects — after the read returns;
    one that does so while the interpreter is finalizing is ended by CPython (3.11 to 3.13)
    with ``pthread_exit``, whose unwinding through a C++ destructor calls
    ``std::terminate``: "terminate called without an active exception", exit status 134,
    in a few percent of processes, with every deltalake and pyarrow release tried (issue 10).
    A native filesystem keeps Python out of those threads.
    """
    from pyarrow import fs as pafs

    if store.remote:
        return pafs.SubTreeFileSystem(store.path(relative), store.filesystem)
    return pafs.SubTreeFileSystem(str(Path(store.uri(relative)).resolve()), pafs.LocalFileSystem())


def revert_to(
    store: Store, published: Mapping[str, int], *, version: int | None, run_id: str
) -> list[RevertedCommit]:
    """Restore every table of ``published`` (table -> the Delta version the published
    metadata names) whose latest snapshot is ahead of it; what was reverted."""
    reverted = []
    for table, delta_version in sorted(published.items()):
        done = restore_table(store, table, delta_version, version=version, run_id=run_id)
        if done is not None:
            reverted.append(done)
    return reverted
