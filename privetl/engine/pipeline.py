"""The pipeline's stages as functions, shared by ``run_module`` and ``StagedRun``.

``runner.run_module`` calls them one after the other on one backend, the tables flowing
lazily from stage to stage; ``stages.StagedRun`` calls the same functions one stage per call,
each in a process of its own if need be, with the tables written to Parquet checkpoints in
between. So both publish the same rows from the same document, seed and secret.

The anonymization secret
------------------------
Seeded operations (noise, shuffles) are keyed by ``SeedKey.derive(secret, seed)``. The seed
is public (it is in the document and the report); the secret is what stops anyone from
recomputing the noise from public values and undoing it. So:

- ``secret`` argument, else the ``PRIVETL_ANONYMIZATION_SECRET`` environment variable:
  the run is reproducible — the same input, metadata, seed and secret give the same output.
- neither: a random 32-byte secret is drawn for this run only, and the report says the run
  is NOT reproducible (a warning). A seed alone is never enough, because a key derived from
  a public seed would let anyone strip the noise — we prefer an unrepeatable safe run to a
  repeatable unsafe one.

The secret itself never reaches the report, the logs or an error message.
"""

from __future__ import annotations

import hashlib
import os
import secrets as secrets_module
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from privetl.engine.errors import EngineError
from privetl.engine.metadata import (
    DataModule,
    DestinationSpec,
    FileSource,
    HttpSource,
    PostgresDestination,
    Pseudonymize,
    SqlSource,
    Table,
)
from privetl.engine.report import (
    PublishedInfo,
    QuarantineInfo,
    RuleTally,
    RunReport,
    SecretSource,
    SourceCount,
)

if TYPE_CHECKING:
    from privetl.engine.extract import StagedSource

SECRET_ENV = "PRIVETL_ANONYMIZATION_SECRET"  # noqa: S105 - the variable's name, not a secret


def resolve_secret(secret: bytes | None) -> tuple[bytes, SecretSource]:
    """The secret and where it came from: 'argument', 'environment' or 'random'."""
    if secret:
        return secret, "argument"
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env.encode("utf-8"), "environment"
    return secrets_module.token_bytes(32), "random"


def use_secret(report: RunReport, secret: bytes | None) -> bytes:
    """The secret the anonymization is keyed with; the report says where it came from and
    warns when the run is therefore not reproducible."""
    key_secret, source = resolve_secret(secret)
    report.secret_source = source
    report.reproducible = source != "random"
    if not report.reproducible:
        report.warnings.append(
            f"no anonymization secret given ({SECRET_ENV}): a random one was used, "
            "so this run is NOT reproducible — the same input and seed will give different noise and shuffles"
        )
    return key_secret


def extract_sources(
    module: DataModule,
    *,
    base_dir: Path,
    staging: Path,
    report: RunReport,
    previous: Previous,
    on_rows: Callable[[int], None] | None = None,
) -> list[Any]:
    """Stage every collection-protocol script under ``staging/<script id>``; the report
    gets each script's rows beside the previous version's, and every table its rows in.
    A source that does not fit its declaration, or is empty when it may not be, fails here."""
    from privetl.engine.extract import check_columns, check_not_empty, extract_script

    staged = []
    for script in module.collection_protocol:
        script_dir = staging / script.id
        script_dir.mkdir(parents=True, exist_ok=True)
        result = extract_script(
            script,
            module.table(script.table),
            base_dir=base_dir,
            staging_dir=script_dir,
            on_rows=on_rows,
        )
        staged.append(result)
        report.sources.append(
            SourceCount(
                script_id=script.id,
                table=script.table,
                rows=result.rows,
                previous_version=previous.version,
                previous_rows=previous.rows.get(script.id),
                undeclared_fields=undeclared_fields(script, module.table(script.table), result),
            )
        )
        report.table(script.table).rows_in += result.rows
        check_columns(script, module.table(script.table), result)
        check_not_empty(script, result, base_dir=base_dir)
    return staged


def undeclared_fields(script: Any, table: Table, staged: StagedSource) -> list[str] | None:
    """The fields a source has that its table does not declare (never published: extraction
    reads only declared columns), so that a new field in a source shows in the report.

    The fields are those a file names (CSV header, Parquet schema: ``fields_found``), else
    those its records named (JSON keys, a SQL result's columns: ``record_fields``); None
    where the source does not name its fields (HTTP, executables, an empty file)."""
    found = staged.fields_found if staged.fields_found is not None else staged.record_fields
    if found is None:
        return None
    declared = {script.mapping.get(c, c) for c in table.column_names}
    return [f for f in found if f not in declared]


def clean_sources(
    backend: Any, module: DataModule, staged: list[Any], *, report: RunReport, quarantine_path: Path
) -> dict[str, Any]:
    """The cleaned tables (views on ``backend``); the rule tallies go to the report and the
    quarantine — private: it holds the rejected raw values, never published — to
    ``quarantine_path`` (an empty file with the documented columns when no rule fired)."""
    from privetl.engine.clean import clean_tables

    quarantine_path.parent.mkdir(parents=True, exist_ok=True)
    cleaned = clean_tables(backend, module, staged, quarantine_file=quarantine_path, run_id=report.run_id)
    for count in cleaned.counts:
        report.rules.append(
            RuleTally(
                table=count.table,
                rule=count.rule,
                column=count.column,
                rows_affected=int(count.rows_affected),
            )
        )
    quarantine_rows = sum(int(count.rows_affected) for count in cleaned.counts)
    if cleaned.quarantine is None:
        _empty_quarantine(quarantine_path)
    report.quarantine = QuarantineInfo(path=str(quarantine_path), rows=quarantine_rows)
    return cleaned.tables


def anonymize_tables(
    backend: Any,
    module: DataModule,
    tables: Mapping[str, Any],
    *,
    secret: bytes,
    report: RunReport,
    before_table: Callable[[], None] | None = None,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """The tables to publish (``<t>_qit``/``<t>_st`` for an anatomized one), in dependency
    order: each table's rules, its privacy targets enforced (``report.privacy``), the records
    pointing at ones removed since cleaning dropped. First every unprotected published column
    is scanned for personal data (``personal_data``; ``report.personal_data``): one that
    looks personal fails the run with ``UnprotectedPersonalData``. ``before_table`` is called
    before each table (a cancelled staged run raises there). A table whose targets ask for a
    ``search`` has its quasi-identifiers' levels chosen first (``generalization``; hierarchy
    files are read from ``base_dir``, the module document's folder)."""
    from privetl.engine.anonymize import (
        PseudonymKey,
        SeedKey,
        anonymize_table,
        check_collisions,
        verify_anatomy,
    )
    from privetl.engine.personal_data import guard, scan_module
    from privetl.engine.privacy import enforce

    # Before any work: a column that looks personal and has no rule fails the run here.
    scans = scan_module(backend, module, tables)
    report.personal_data = [scan.to_dict() for scan in scans]
    guard(scans)
    assert report.seed is not None
    key = SeedKey.derive(secret, report.seed)
    pseudonyms = PseudonymKey.derive(secret, module.id)
    outputs: dict[str, Any] = {}
    removed: dict[str, list[Any]] = {}
    for table in _dependency_order(module):
        if table.name not in tables:
            continue
        if before_table is not None:
            before_table()
        expr = _drop_orphans(backend, module, table, tables[table.name], outputs, removed, report, pseudonyms)
        check_collisions(backend, expr, table, pseudonyms, checked_elsewhere=_keys_checked_elsewhere(module, table))

        def privacy(candidate: Any, record: str | None, table: Table = table) -> Any:
            searched = _search_levels(backend, candidate, table, base_dir=base_dir)
            if searched is not None:
                candidate = searched[0]
            enforced = enforce(backend, candidate, table, record=record)
            if searched is not None:
                enforced.report.search = searched[1]
            report.privacy[table.name] = enforced.report
            if enforced.suppressed is not None:
                removed.setdefault(table.name, []).append(enforced.suppressed)
            return enforced.table

        anonymized = anonymize_table(
            backend,
            expr,
            table,
            key=key,
            unique_records=_unique_records(module, table),
            privacy=privacy if table.privacy is not None else None,
            pseudonyms=pseudonyms,
        )
        for name, out_expr in anonymized.items():
            # Published tables stay views, computed once, while they are written; only
            # an anatomy (a window, verified before publishing) is stored first.
            outputs[name] = (
                backend.materialize(out_expr, f"privetl_out_{name}")
                if table.anatomize is not None
                else out_expr
            )
        if table.anatomize is not None:
            # verify the promise on what will be published: every group l-diverse
            report.privacy[table.name] = {
                "anatomy_l_target": table.anatomize.l,
                **verify_anatomy(backend, outputs[f"{table.name}_st"], table.anatomize, table_name=table.name),
            }
    return outputs


def _search_levels(backend: Any, expr: Any, table: Table, *, base_dir: Path | None) -> tuple[Any, dict[str, Any]] | None:
    """``expr`` with the quasi-identifiers generalized to the levels the search chose, and
    the search's report; None when the table asks for no search."""
    from privetl.engine.generalization.choice import apply_levels, choose_levels

    if table.privacy is None or table.privacy.search is None:
        return None
    choice = choose_levels(backend, expr, table, base_dir=base_dir)
    return apply_levels(expr, choice), choice.report()


def publish_tables(
    module: DataModule,
    doc: dict[str, Any],
    path: Path,
    tables: Mapping[str, Any],
    *,
    report: RunReport,
    destination: DestinationSpec | Path | str,
    before_visible: Callable[[], None] | None = None,
    notes: Mapping[str, Any] | None = None,
) -> None:
    """Publish ``tables`` (``publish.TableData``, e.g. ``engine_table``) as the next version,
    atomically; Delta commits of runs killed before their version became visible are undone
    first (each a warning). The report gets the published version and rows out."""
    from privetl.engine.publish import publish_version, revert_unpublished

    for reverted in revert_unpublished(destination, base_dir=path.parent, run_id=report.run_id):
        report.warnings.append(reverted.describe())
    published = publish_version(
        module,
        doc,
        tables,
        destination=destination,
        lineage=_lineage(module, path, report, notes or {}),
        base_dir=path.parent,
        run_id=report.run_id,
        before_visible=before_visible,
    )
    for name, rows in published.tables.items():
        report.table(name).rows_out = int(rows)
    report.published = PublishedInfo(
        version=published.version,
        destination=published.destination,
        metadata=published.metadata_location,
        tables=dict(published.tables),
    )


def engine_table(backend: Any, expr: Any) -> Any:
    """The table for the publisher: written by the engine itself where the destination
    allows, else opened as an Arrow stream only when the publisher asks for it."""
    from privetl.engine.publish import EngineTable

    return EngineTable(
        write=lambda directory: backend.write_parquet_files(expr, directory),
        stream=lambda: backend.to_pyarrow_batches(expr),
        schema=expr.schema().to_pyarrow(),
    )


def destination_of(module: DataModule, out: Path | str | None) -> DestinationSpec | Path | str:
    """``--out`` wins; else the module's upload script; a module with neither cannot run."""
    if out is not None:
        # --out is relative to the working directory (the module's own paths are relative to it).
        return out if "://" in str(out) else Path(out).resolve()
    if module.upload is not None:
        return module.upload.destination
    raise EngineError("the module has no upload script: give an output directory (--out DIR)")


@dataclass(frozen=True)
class Previous:
    """The latest published version (0: none yet) and the rows each script delivered for it."""

    version: int
    rows: dict[str, int]


def previous_counts(
    module: DataModule, destination: DestinationSpec | Path | str, base_dir: Path, report: RunReport
) -> Previous:
    """What the previous published version's sources delivered, so the report shows a
    sudden drop; a destination that cannot be read here is a warning (publishing, which
    reads it too, then says why)."""
    from privetl.engine.croissant import source_rows
    from privetl.engine.publish import open_store, resolve_destination
    from privetl.engine.publish.delta import latest_document, version_number
    from privetl.engine.publish.postgres import read_version_document

    spec = resolve_destination(destination, base_dir)
    # A destination variable that is not set fails the run here, before any extraction.
    store = None if isinstance(spec, PostgresDestination) else open_store(spec, base_dir=base_dir)
    try:
        if store is None:
            assert isinstance(spec, PostgresDestination)
            document = read_version_document(spec.connection, spec.schema_name, module.id)
        else:
            document = latest_document(store)
        if document is None:
            return Previous(version=0, rows={})
        return Previous(version=version_number(document), rows=source_rows(document))
    except Exception as exc:  # noqa: BLE001 - any failure only loses the comparison
        message = store.hide(str(exc)) if store is not None else str(exc)
        report.warnings.append(f"the previous version's row counts could not be read: {message}")
        return Previous(version=0, rows={})


def run_of_latest_version(
    module: DataModule, destination: DestinationSpec | Path | str, base_dir: Path
) -> tuple[int, str] | None:
    """(version, run id) of the latest version published at ``destination`` (None: none
    yet), from its metadata's lineage; what tells a retried publication that it happened."""
    from privetl.engine.publish import open_store, resolve_destination
    from privetl.engine.publish.delta import latest_document, version_number
    from privetl.engine.publish.postgres import read_version_document

    spec = resolve_destination(destination, base_dir)
    if isinstance(spec, PostgresDestination):
        document = read_version_document(spec.connection, spec.schema_name, module.id)
    else:
        document = latest_document(open_store(spec, base_dir=base_dir))
    if document is None:
        return None
    activity = document.get("prov:wasGeneratedBy")
    run_id = activity.get("identifier") if isinstance(activity, Mapping) else None
    return version_number(document), str(run_id or "")


def _dependency_order(module: DataModule) -> list[Table]:
    """Tables with the tables they reference first (validate rejects cycles; declared order breaks ties)."""
    ordered: list[Table] = []
    seen: set[str] = set()

    def visit(table: Table, stack: tuple[str, ...]) -> None:
        if table.name in seen or table.name in stack:
            return
        for fk in table.foreign_keys:
            if fk.references_table != table.name:
                try:
                    visit(module.table(fk.references_table), (*stack, table.name))
                except KeyError:
                    continue
        seen.add(table.name)
        ordered.append(table)

    for table in module.tables:
        visit(table, ())
    return ordered


def _drop_orphans(
    backend: Any,
    module: DataModule,
    table: Table,
    expr: Any,
    outputs: dict[str, Any],
    removed: dict[str, list[Any]],
    report: RunReport,
    pseudonyms: Any = None,
) -> Any:
    """Re-check foreign keys against what the referenced table will publish.

    Privacy enforcement may suppress referenced records (a customer in a too-small class);
    their orders must go too, or the published version would hold dangling keys. Records
    whose key is empty are left alone (the cleaning stage has already ruled on them).

    Cleaning left every foreign key resolving; so when the reference is the referenced
    table's primary key, published unchanged, and no transformation ran, a record dangles
    now exactly when it points at a record removed since cleaning (suppressed, or dropped
    by this same check, in dependency order). That set is small — usually empty, and then
    this costs nothing; otherwise the check reads the referenced table's output. A
    pseudonymized key counts as unchanged (its tokens are put in last, after privacy, and
    are one-to-one); where the output is read, its tokens are compared with the tokens of
    this table's values (validate makes both columns pseudonymize alike).
    """
    for fk in table.foreign_keys:
        if fk.references_table == table.name or fk.column not in expr.columns:
            continue
        referenced_table = module.table(fk.references_table)
        if _unchanged_key(module, referenced_table, fk.references_column):
            gone = removed.get(fk.references_table)
            if not gone:
                continue
            keys = gone[0].select(_key=gone[0][fk.references_column])
            for more in gone[1:]:
                keys = keys.union(more.select(_key=more[fk.references_column]), distinct=False)
            # small, and read twice (the count, the table): computed once
            keys = backend.materialize(keys, f"privetl_removed_{fk.references_table}_{table.name}_{fk.column}")
            left = expr[fk.column]
            if left.type() != keys._key.type():
                left, key = left.cast("string"), keys._key.cast("string")
            else:
                key = keys._key
            orphans = expr.semi_join(keys, left == key)
            dropped = int(backend.count(orphans))
            expr = expr.anti_join(keys, left == key)
        else:
            referenced = outputs.get(fk.references_table)
            if referenced is None or fk.references_column not in referenced.columns:
                continue
            from privetl.engine.anonymize.pseudonymize import with_tokens

            candidate, own = expr, fk.column
            op = referenced_table.column(fk.references_column).anonymize
            if isinstance(op, Pseudonymize):
                # the referenced output holds tokens: compare them with this table's tokens
                own = "_privetl_fk_token"
                rule = (fk.column, referenced_table.column(fk.references_column), op)
                candidate = with_tokens(backend, expr, {own: rule}, pseudonyms)
            resolves = candidate[own].isnull() | candidate[own].isin(referenced[fk.references_column])
            orphans = candidate.filter(~resolves).select(*expr.columns)
            dropped = int(backend.count(orphans))  # one count, not two
            expr = candidate.filter(resolves).select(*expr.columns)
        if dropped:
            removed.setdefault(table.name, []).append(orphans)
            report.rules.append(
                RuleTally(
                    table=table.name,
                    rule="foreign_key_after_privacy",
                    column=fk.column,
                    rows_affected=dropped,
                )
            )
    return expr


def _keys_checked_elsewhere(module: DataModule, table: Table) -> frozenset[str]:
    """The foreign keys of ``table`` whose pseudonyms need no collision check of their own:
    cleaning left their values among the referenced column's (checked with its table, which
    comes first in dependency order), and no transformation has rewritten them since."""
    if module.transformations:
        return frozenset()
    return frozenset(
        fk.column
        for fk in table.foreign_keys
        if fk.references_table != table.name
        and isinstance(module.table(fk.references_table).column(fk.references_column).anonymize, Pseudonymize)
    )


def _unique_records(module: DataModule, table: Table) -> bool:
    """Whether every record of ``table`` has its own record key: its primary key was made
    unique by cleaning and no transformation rewrote the table since."""
    return table.primary_key is not None and not any(
        tx.target == table.name for tx in module.transformations
    )


def _unchanged_key(module: DataModule, table: Table, column: str) -> bool:
    """Whether ``column`` is ``table``'s primary key and is published as it was cleaned."""
    return (
        not module.transformations
        and table.primary_key is not None
        and table.primary_key.column == column
        and table.anatomize is None
        and (table.column(column).anonymize is None or isinstance(table.column(column).anonymize, Pseudonymize))
    )


def _empty_quarantine(path: Path) -> None:
    """An empty quarantine file, so every run has one with the documented columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from privetl.engine.report import QUARANTINE_COLUMNS

    schema = pa.schema([(c, pa.string()) for c in QUARANTINE_COLUMNS])
    pq.write_table(schema.empty_table(), path)


def _source_description(module: DataModule) -> list[dict[str, Any]]:
    """Where each script read from, and that source's version where one can be told.

    Connection strings are not copied (they may embed a password); a file's size and
    modification time stand for its version.
    """
    described = []
    for script in module.collection_protocol:
        source = script.source
        entry: dict[str, Any] = {"script": script.id, "table": script.table, "kind": source.kind}
        if isinstance(source, FileSource):
            entry["path"] = source.path
        elif isinstance(source, HttpSource):
            entry["url"] = source.url
        elif isinstance(source, SqlSource):
            entry["query"] = source.query
        described.append(entry)
    return described


def _lineage(module: DataModule, path: Path, report: RunReport, notes: Mapping[str, Any]) -> Any:
    """The lineage of the new version: sources, the metadata used, the seed, the run."""
    from privetl.engine.croissant import Lineage

    assert report.seed is not None
    return Lineage(
        run_id=report.run_id,
        seed=report.seed,
        engine=report.engine,
        sources=_source_description(module),
        started_at=report.started_at,
        metadata_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        metadata_path=str(path),
        rows={s.script_id: s.rows for s in report.sources},
        reproducible=report.reproducible,
        module=module,
        notes=dict(notes),
    )
