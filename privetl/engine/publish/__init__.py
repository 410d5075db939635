"""Feature 9: publish the run's result as a new, immutable version of the data module.

``publish_version`` writes every output table and the Croissant metadata of the new version
to the module's destination — a directory (local or ``s3://``, Delta Lake tables) or
PostgreSQL (a table per version, a view per table) — and makes it visible in one atomic
last step. Until that step nothing of the new version is visible; after it, the previous
versions stay readable (Delta time travel, or their ``<t>_v<N>`` tables).

The version number is ``max(latest published, the document's version) + 1``: a module
whose document says version 1 is first published as version 2.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import pyarrow as pa

from privetl.engine.errors import PublishError
from privetl.engine.extract.env import MissingVariable, expand_location
from privetl.engine.metadata import (
    DataModule,
    DestinationSpec,
    DirectoryDestination,
    FileSource,
    PostgresDestination,
    SourceScript,
    SqlSource,
)
from privetl.engine.publish import delta
from privetl.engine.publish.delta import (
    DataFile,
    EngineTable,
    RevertedCommit,
    Store,
    TableSnapshot,
)

TableData: TypeAlias = (
    pa.RecordBatchReader | pa.Table | Callable[[], pa.RecordBatchReader | pa.Table] | EngineTable
)
"""An output table: Arrow data, a callable opening it (so only one stream is open at a time),
or an ``EngineTable`` that the engine writes itself where it can."""

__all__ = [
    "DataFile",
    "EngineTable",
    "PublishedVersion",
    "RevertedCommit",
    "TableData",
    "latest_version",
    "open_store",
    "publish_version",
    "read_table",
    "resolve_destination",
    "revert_unpublished",
]


@dataclass(frozen=True)
class PublishedVersion:
    """What one publication produced: its number, where its metadata is, and its tables."""

    version: int
    destination: str
    metadata_location: str
    document: dict[str, Any]
    tables: dict[str, int] = field(default_factory=dict)
    """Rows per published table."""
    delta_versions: dict[str, int] = field(default_factory=dict)
    """Directory destinations: the Delta table version of each table in this version."""
    files: tuple[DataFile, ...] = ()
    """Directory destinations: the exact Parquet files of this version."""
    reverted: tuple[RevertedCommit, ...] = ()
    """Directory destinations: Delta commits of runs that never published, undone first."""


def resolve_destination(
    destination: DestinationSpec | str | Path, base_dir: Path | None = None
) -> DestinationSpec:
    """A destination spec; a plain path (``--out``) becomes a directory destination.

    Relative local paths are resolved against ``base_dir`` (the module document's folder).
    """
    if isinstance(destination, str | Path):
        destination = DirectoryDestination(path=str(destination))
    if (
        isinstance(destination, DirectoryDestination)
        and not delta.is_remote(destination.path)
        and "${" not in destination.path  # expanded (and then resolved) by ``open_store``
    ):
        path = Path(destination.path)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        destination = DirectoryDestination(path=str(path.resolve()))
    return destination


def open_store(
    spec: DirectoryDestination,
    *,
    base_dir: Path | None = None,
    storage_options: Mapping[str, str] | None = None,
) -> Store:
    """The store of a directory destination, its ``${NAME}`` references expanded.

    A referenced value is the base the rest of the path is under (a local directory, or a
    bucket whose ``s3://KEY:SECRET@bucket/prefix?region=...`` credentials and options the
    store uses); the store shows the path as the document writes it. A variable not set is
    a ``PublishError`` naming it, never a value.
    """
    if "${" not in spec.path:
        return Store(spec.path, storage_options)
    try:
        location = expand_location(spec.path)
    except MissingVariable as exc:
        raise PublishError(
            f"environment variable {exc.name} (used in the destination path {spec.path!r}) is not set"
        ) from None
    root = location.path
    if not delta.is_remote(root):
        local = Path(root.removeprefix("file://"))
        root = str((local if local.is_absolute() else (base_dir or Path.cwd()) / local).resolve())
    return Store(root, storage_options, location=location)


@contextlib.contextmanager
def _hidden(store: Store) -> Iterator[None]:
    """Publication errors without the store's expanded root or credentials."""
    if store.location is None:
        yield
        return
    try:
        yield
    except (PublishError, OSError, pa.ArrowException) as exc:
        raise PublishError(store.hide(str(exc))) from None


def _open(data: TableData) -> pa.RecordBatchReader | pa.Table:
    if isinstance(data, EngineTable):
        return data.stream()
    return data() if callable(data) else data


def publish_version(
    module: DataModule,
    doc: Mapping[str, Any],
    tables: Mapping[str, TableData],
    *,
    destination: DestinationSpec | str | Path,
    lineage: Any,
    base_dir: Path | None = None,
    rewrite_protocol: bool | None = None,
    run_id: str = "",
    storage_options: Mapping[str, str] | None = None,
    before_visible: Callable[[], None] | None = None,
) -> PublishedVersion:
    """Publish ``tables`` as the next version of ``module`` at ``destination``, atomically.

    ``doc`` is the module's source document (kept as the base of the new metadata);
    ``lineage`` is a ``croissant.Lineage``. ``rewrite_protocol`` defaults to the module's
    upload script (True without one). ``before_visible`` runs after every table is written
    and before the version becomes visible; raising there publishes nothing (the runner
    checks that no source read in place changed while the tables were computed). Raises
    ``PublishError``; on any failure the previous version stays the published one.
    """
    spec = resolve_destination(destination, base_dir)
    if rewrite_protocol is None:
        rewrite_protocol = module.upload.rewrite_protocol if module.upload else True
    if isinstance(spec, PostgresDestination):
        return _publish_postgres(
            module, doc, tables, spec=spec, lineage=lineage, rewrite=rewrite_protocol,
            before_visible=before_visible,
        )
    store = open_store(spec, base_dir=base_dir, storage_options=storage_options)
    with _hidden(store):
        return _publish_directory(
            module,
            doc,
            tables,
            store=store,
            lineage=lineage,
            rewrite=rewrite_protocol,
            run_id=run_id,
            before_visible=before_visible,
        )


def latest_version(
    destination: DestinationSpec | str | Path,
    module_id: str | None = None,
    base_dir: Path | None = None,
) -> int | None:
    """The latest published version at ``destination``, or None."""
    spec = resolve_destination(destination, base_dir)
    if isinstance(spec, PostgresDestination):
        import psycopg

        from privetl.engine.publish.postgres import expand_env, previous_version

        if module_id is None:
            raise PublishError("a PostgreSQL destination needs the module id to find its versions")
        with psycopg.connect(expand_env(spec.connection)) as conn:
            return previous_version(conn, spec.schema_name, module_id)
    store = open_store(spec, base_dir=base_dir)
    with _hidden(store):
        document = delta.latest_document(store)
    return None if document is None else delta.version_number(document)


def revert_unpublished(
    destination: DestinationSpec | str | Path,
    *,
    base_dir: Path | None = None,
    storage_options: Mapping[str, str] | None = None,
    run_id: str = "",
) -> list[RevertedCommit]:
    """Undo the Delta commits of runs that were killed before their version became visible.

    Each table of the latest published version whose latest Delta snapshot is newer than the
    Delta version that version's metadata names is restored to it (Delta's restore, a new
    commit), so ``DeltaTable(path)`` shows the published rows again. Returns what was
    reverted (table, from which Delta version to which); nothing for PostgreSQL, whose
    publication is one transaction. ``publish_version`` does this first as well.
    """
    spec = resolve_destination(destination, base_dir)
    if isinstance(spec, PostgresDestination):
        return []
    store = open_store(spec, base_dir=base_dir, storage_options=storage_options)
    with _hidden(store):
        latest = delta.latest_document(store)
        if latest is None:
            return []
        return delta.revert_to(
            store, _delta_versions(latest), version=delta.version_number(latest), run_id=run_id
        )


def read_table(root: str | Path, table: str, version: int | None = None) -> pa.Table:
    """The rows of ``table`` as published in ``version`` (latest if None), via Delta time travel."""
    store = Store(str(root))
    relative = (
        delta.METADATA_FILE
        if version is None
        else f"{delta.VERSIONS_DIR}/{version}/{delta.METADATA_FILE}"
    )
    raw = store.read_bytes(relative)
    if raw is None:
        raise PublishError(
            f"no published version {version if version is not None else '(latest)'} at {root}"
        )
    document = json.loads(raw)
    delta_versions = _delta_versions(document)
    if table not in delta_versions:
        raise PublishError(f"version {delta.version_number(document)} has no table {table!r}")
    return delta.read_snapshot(str(root), table, delta_versions[table])


# --- directory ---------------------------------------------------------------------------------

DELTA_VERSIONS_KEY = "privetl:deltaVersions"
"""Key (at the top of the version's metadata, and on its ``prov:wasGeneratedBy`` activity)
mapping each table to its Delta table version: version N of the module = those Delta
versions (time travel). Readers load these versions, never a table's latest snapshot."""


def _delta_versions(document: Mapping[str, Any]) -> dict[str, int]:
    """Table -> Delta version of a published version's metadata.

    Written at the top and on the ``prov:wasGeneratedBy`` activity (the run generated
    those table versions); older versions have only the latter.
    """
    activity = document.get("prov:wasGeneratedBy")
    raw = document.get(DELTA_VERSIONS_KEY)
    if raw is None and isinstance(activity, Mapping):
        raw = activity.get(DELTA_VERSIONS_KEY)
    if isinstance(raw, str):
        raw = json.loads(raw)
    return {str(k): int(v) for k, v in (raw or {}).items()}


def _publish_directory(
    module: DataModule,
    doc: Mapping[str, Any],
    tables: Mapping[str, TableData],
    *,
    store: Store,
    lineage: Any,
    rewrite: bool,
    run_id: str,
    before_visible: Callable[[], None] | None = None,
) -> PublishedVersion:
    latest = delta.latest_document(store)
    previous = delta.version_number(latest) if latest is not None else None
    version = max(previous or 0, module.version) + 1
    lineage = _with_previous(lineage, previous)
    named = _delta_versions(latest) if latest is not None else {}
    reverted = delta.revert_to(store, named, version=previous, run_id=run_id)

    # 1. files: every table's new Parquet files, in no snapshot yet
    prepared = [
        delta.prepare_engine_table(store, name, data)
        if isinstance(data, EngineTable) and not store.remote
        else delta.prepare_table(store, name, _open(data))
        for name, data in tables.items()
    ]
    # 2. commits, one table after another; 3. the metadata, its pointer last
    snapshots: list[TableSnapshot] = []
    try:
        for table in prepared:
            snapshots.append(delta.commit_table(store, table, version=version, run_id=run_id))
        if before_visible is not None:
            before_visible()
        documents = _write_metadata(
            store, module, doc, version=version, snapshots=snapshots, lineage=lineage, rewrite=rewrite
        )
    except Exception:
        # This run's own commits are in no published version: restore what it committed.
        _revert_own(store, prepared[: len(snapshots)], named, version=previous, run_id=run_id)
        raise
    version_relative = f"{delta.VERSIONS_DIR}/{version}/{delta.METADATA_FILE}"
    return PublishedVersion(
        version=version,
        destination=store.shown_root,
        metadata_location=store.hide(store.uri(version_relative)),
        document=documents[version_relative],
        tables={s.table: s.rows for s in snapshots},
        delta_versions={s.table: s.delta_version for s in snapshots},
        files=tuple(f for s in snapshots for f in s.files),
        reverted=tuple(reverted),
    )


def _write_metadata(
    store: Store,
    module: DataModule,
    doc: Mapping[str, Any],
    *,
    version: int,
    snapshots: list[TableSnapshot],
    lineage: Any,
    rewrite: bool,
) -> dict[str, dict[str, Any]]:
    """Write the version's metadata, ``versions/<N>/metadata.json`` first and the pointer
    ``metadata.json`` LAST: only then is the version visible."""
    files = [f for s in snapshots for f in s.files]
    delta_versions = {s.table: s.delta_version for s in snapshots}
    version_relative = f"{delta.VERSIONS_DIR}/{version}/{delta.METADATA_FILE}"
    # The same metadata twice, each listing the files relative to where it lies.
    documents = {}
    for relative, prefix in ((version_relative, "../../"), (delta.METADATA_FILE, "")):
        documents[relative] = _version_doc(
            module,
            doc,
            version=version,
            files=files,
            prefix=prefix,
            lineage=lineage,
            rewrite=rewrite,
            delta_versions=delta_versions,
        )
    try:
        store.write_atomic(version_relative, _dump(documents[version_relative]))
        store.write_atomic(
            delta.METADATA_FILE, _dump(documents[delta.METADATA_FILE])
        )  # LAST: now visible
    except OSError as exc:
        raise PublishError(f"writing the metadata of version {version} failed: {exc}") from exc
    return documents


def _revert_own(
    store: Store,
    committed: list[delta.PreparedTable],
    named: Mapping[str, int],
    *,
    version: int | None,
    run_id: str,
) -> None:
    """Best effort, on a failed publication: restore each table this run committed to the
    Delta version the published metadata names (else the one it had before; a new table has
    none to go back to). What fails here is left to the next publication, which reverts
    every unpublished commit and reports it."""
    for table in committed:
        target = named.get(table.table, table.base_version)
        if target is None:
            continue
        with contextlib.suppress(PublishError):
            delta.restore_table(store, table.table, target, version=version, run_id=run_id)


def _with_previous(lineage: Any, previous: int | None) -> Any:
    """The lineage, naming the version this one follows at the destination (known only here)."""
    if dataclasses.is_dataclass(lineage) and not isinstance(lineage, type) and hasattr(lineage, "previous_version"):
        return dataclasses.replace(lineage, previous_version=previous)
    return lineage


def _dump(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, default=str) + "\n").encode("utf-8")


def _version_doc(
    module: DataModule,
    doc: Mapping[str, Any],
    *,
    version: int,
    files: list[DataFile],
    prefix: str,
    lineage: Any,
    rewrite: bool,
    delta_versions: Mapping[str, int],
) -> dict[str, Any]:
    """The Croissant metadata of the version, files listed relative to its location."""
    from privetl.engine.croissant import PublishedFile, version_document

    published = [
        PublishedFile(table=f.table, path=prefix + f.path, sha256=f.sha256, rows=f.rows)
        for f in files
    ]
    target = _rewritten(module, published) if rewrite else module
    document = version_document(
        target, version=version, files=published, lineage=lineage, base_doc=dict(doc)
    )
    activity = document.setdefault("prov:wasGeneratedBy", {"@type": "prov:Activity"})
    activity[DELTA_VERSIONS_KEY] = dict(delta_versions)
    document[DELTA_VERSIONS_KEY] = dict(delta_versions)
    for record_set in document.get("recordSet", []):
        name = record_set.get("name")
        if name in delta_versions:
            record_set["description"] = _with_delta_note(
                record_set.get("description"), f"{prefix}{delta.TABLES_DIR}/{name}", delta_versions[name]
            )
    return document


DELTA_NOTE = "This version of the table is the Delta table"
"""How a record set's description names its Delta table and version (replaced, never added
twice, when a published document is published again)."""


def _with_delta_note(description: Any, path: str, delta_version: int) -> str:
    """The description, ending with where the table is and which Delta version to load."""
    kept = str(description or "").split(DELTA_NOTE, 1)[0].rstrip()
    note = (
        f"{DELTA_NOTE} {path} (relative to this file) at Delta version {delta_version}; load exactly"
        f" that version: DeltaTable(path, version={delta_version}) (deltalake), or"
        f' spark.read.format("delta").option("versionAsOf", {delta_version}).load(path).'
        " Its latest snapshot can be ahead of this version while a run publishes."
    )
    return f"{kept} {note}" if kept else note


def _rewritten(module: DataModule, files: list[Any]) -> DataModule:
    """The module with its collection protocol reading the published Parquet files.

    One script per file (a Delta snapshot may hold several); the published rows already
    obey the primary key, so every file of a table has the same priority.
    """
    scripts: list[SourceScript] = []
    declared = {t.name for t in module.tables}
    counters: dict[str, int] = {}
    for f in files:
        if f.table not in declared:
            continue  # anatomized pairs are described by the metadata's record sets only
        index = counters[f.table] = counters.get(f.table, 0) + 1
        scripts.append(
            SourceScript(
                id=f"{f.table}_part{index}"[:63],
                table=f.table,
                source=FileSource(path=f.path, format="parquet"),
            )
        )
    if not scripts:
        return module
    return module.model_copy(update={"collection_protocol": scripts})


# --- PostgreSQL ----------------------------------------------------------------------------


def _publish_postgres(
    module: DataModule,
    doc: Mapping[str, Any],
    tables: Mapping[str, TableData],
    *,
    spec: PostgresDestination,
    lineage: Any,
    rewrite: bool,
    before_visible: Callable[[], None] | None = None,
) -> PublishedVersion:
    from privetl.engine.croissant import version_document
    from privetl.engine.publish.postgres import PgTable, publish_postgres

    class _Opened(Mapping[str, pa.RecordBatchReader | pa.Table]):
        """Open each table's stream only when the COPY for it starts."""

        def __getitem__(self, key: str) -> pa.RecordBatchReader | pa.Table:
            return _open(tables[key])

        def __iter__(self) -> Iterator[str]:
            return iter(tables)

        def __len__(self) -> int:
            return len(tables)

    def build(version: int, written: list[PgTable], previous: int | None) -> dict[str, Any]:
        target = module
        if rewrite:
            scripts = [
                SourceScript(
                    id=f"{t.table}_v{version}"[:63],
                    table=t.table,
                    source=SqlSource(
                        connection=spec.connection,  # unexpanded: ${ENV} secrets stay out
                        query=f'SELECT * FROM "{spec.schema_name}"."{t.relation}"',  # noqa: S608 - validated identifiers
                    ),
                )
                for t in written
                if t.table in {tb.name for tb in module.tables}
            ]
            if scripts:
                target = module.model_copy(update={"collection_protocol": scripts})
        document = version_document(
            target, version=version, files=[], lineage=_with_previous(lineage, previous), base_doc=dict(doc)
        )
        activity = document.setdefault("prov:wasGeneratedBy", {"@type": "prov:Activity"})
        activity["privetl:postgresTables"] = {t.table: f"{spec.schema_name}.{t.relation}" for t in written}
        return document

    def before_commit() -> None:
        if before_visible is not None:
            before_visible()

    version, written, document = publish_postgres(
        connection=spec.connection,
        schema=spec.schema_name,
        module_id=module.id,
        base_version=module.version,
        tables=_Opened(),
        build_document=build,
        before_commit=before_commit,
    )
    return PublishedVersion(
        version=version,
        destination=f"postgresql schema {spec.schema_name}",
        metadata_location=f"{spec.schema_name}._privetl_versions (module {module.id}, version {version})",
        document=document,
        tables={t.table: t.rows for t in written},
    )
