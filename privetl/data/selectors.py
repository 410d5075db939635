"""Readers of the outbox, each scoped by who is asking.

Rights: the outbox (GetAll, Get) is read by MANAGE_DATA, and only for entries of modules
the caller may read (READ, WRITE or OWNER on the destination module), so a Data-Manager
never sees processed data of a module nobody granted them; an entry of another module is
NOT_FOUND, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from privetl.common.context import Actor
from privetl.common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from privetl.common.paging import Page, keyset_page, scope_of
from privetl.data.models import OutboxEntry, OutboxState
from privetl.datamodules.selectors import caller_access_types

DATA_ROLE = "MANAGE_DATA"
READ_TYPES = frozenset({"READ", "WRITE", "OWNER"})
ENTRY_ORDER = ("-created_at", "-id")
MAX_PREVIEW_ROWS = 1000


@dataclass(frozen=True)
class OutboxEntryView:
    """An outbox entry as every door shows it."""

    id: str
    task_id: str
    run_id: str
    ext_datamodule_id: str
    table: str
    state: str
    rows: int
    columns: list[str]
    created_at: dt.datetime
    retain_until: dt.datetime
    uploaded_at: dt.datetime | None
    published_version: int | None
    revision: int
    edits: int
    path: str = ""
    privacy: dict[str, Any] | None = None


def entry_view(entry: OutboxEntry) -> OutboxEntryView:
    """The view of a loaded outbox entry."""
    return OutboxEntryView(
        id=entry.id,
        task_id=entry.task_id,
        run_id=entry.run_id,
        ext_datamodule_id=entry.ext_datamodule_id,
        table=entry.table,
        state=entry.state,
        rows=entry.rows,
        columns=[str(c) for c in entry.columns],
        created_at=entry.created_at,
        retain_until=entry.retain_until,
        uploaded_at=entry.uploaded_at,
        published_version=entry.published_version,
        revision=entry.revision,
        edits=entry.edits,
        path=entry.path,
        privacy=dict(entry.privacy),
    )


def run_work_dir(run_id: str) -> Path:
    """Where a run's checkpoints and outbox data live (``settings.RUN_WORK_DIR/<id>``)."""
    return Path(settings.RUN_WORK_DIR) / run_id


def entry_file(entry: OutboxEntryView | OutboxEntry) -> Path:
    """The Parquet file holding an outbox entry's records (its current revision)."""
    return run_work_dir(entry.run_id) / entry.path


def require_data_manager(actor: Actor) -> None:
    """Only MANAGE_DATA reviews and edits the outbox."""
    if DATA_ROLE not in actor.roles:
        raise PermissionDenied("the outbox needs the role MANAGE_DATA; ask an admin for it")


def readable_modules(actor: Actor, module_ids: Iterable[str]) -> set[str]:
    """Those of ``module_ids`` the caller holds READ, WRITE or OWNER on (one query each)."""
    return {
        m for m in set(module_ids) if caller_access_types(actor=actor, connection_id=m) & READ_TYPES
    }


def entry_for_actor(*, actor: Actor, entry_id: str) -> OutboxEntry:
    """The outbox entry, if the caller may see it; NOT_FOUND otherwise (nothing is revealed
    of entries of modules the caller may not read)."""
    require_data_manager(actor)
    entry = OutboxEntry.objects.filter(pk=entry_id).first()
    if entry is None or not readable_modules(actor, [entry.ext_datamodule_id]):
        raise NotFound(f"outbox entry {entry_id!r} does not exist", field="entry_id")
    return entry


def entry_get_for_actor(*, actor: Actor, entry_id: str) -> OutboxEntryView:
    """Get: one outbox entry (its records come from ``entry_preview``)."""
    return entry_view(entry_for_actor(actor=actor, entry_id=entry_id))


def entry_list_for_actor(
    *,
    actor: Actor,
    task_id: str = "",
    states: Iterable[str] = (),
    page_size: int | None = None,
    page_token: str = "",
) -> Page[OutboxEntryView]:
    """GetAll: entries newest first, only of modules the caller may read."""
    require_data_manager(actor)
    wanted = sorted(set(states))
    unknown = [s for s in wanted if s not in OutboxState.values]
    if unknown:
        raise InvalidArgument(
            f"states: {unknown[0]!r} is not an outbox state; use {', '.join(OutboxState.values)}",
            field="states",
        )
    modules = OutboxEntry.objects.values_list("ext_datamodule_id", flat=True).distinct()
    entries = OutboxEntry.objects.filter(
        ext_datamodule_id__in=sorted(readable_modules(actor, modules))
    )
    if task_id:
        entries = entries.filter(task_id=task_id)
    if wanted:
        entries = entries.filter(state__in=wanted)
    page = keyset_page(
        entries,
        order=ENTRY_ORDER,
        scope=scope_of("outbox", task_id, *wanted),
        page_size=page_size,
        page_token=page_token,
    )
    return Page(items=[entry_view(e) for e in page.items], next_page_token=page.next_page_token)


def entries_awaiting_upload(*, run_id: str) -> list[OutboxEntryView]:
    """The run's outbox entries an upload publishes (the worker's read; no actor)."""
    return [
        entry_view(e)
        for e in OutboxEntry.objects.filter(run_id=run_id, state=OutboxState.AWAITING_REVIEW)
    ]


@dataclass(frozen=True)
class EntryPreview:
    """Get: the entry, a page of its typed records, its column statistics."""

    entry: OutboxEntryView
    records: list[dict[str, Any]]
    statistics: list[dict[str, Any]]


def entry_preview_for_actor(
    *, actor: Actor, entry_id: str, preview_rows: int = 0, preview_offset: int = 0
) -> EntryPreview:
    """Get: the entry with ``preview_rows`` records from ``preview_offset`` (at most
    1,000), and nulls, distinct values, min and max of every column."""
    from privetl.engine.outbox import column_statistics, preview

    if not 0 <= preview_rows <= MAX_PREVIEW_ROWS:
        raise InvalidArgument(
            f"preview_rows must be 0..{MAX_PREVIEW_ROWS}, not {preview_rows}", field="preview_rows"
        )
    if preview_offset < 0:
        raise InvalidArgument("preview_offset must be 0 or more", field="preview_offset")
    entry = entry_for_actor(actor=actor, entry_id=entry_id)
    view = entry_view(entry)
    if entry.state != OutboxState.AWAITING_REVIEW:
        return EntryPreview(entry=view, records=[], statistics=[])
    path = entry_file(entry)
    return EntryPreview(
        entry=view,
        records=preview(path, offset=preview_offset, limit=preview_rows),
        statistics=column_statistics(path),
    )


# --- the entry's page: its records sorted and paged, their shape, histograms, privacy ----

PAGE_ROWS = 50
"""Records a page of the entry shows (the UI's window on Get's preview)."""
HISTOGRAM_BUCKETS = 10
"""Equal-width buckets of a numeric column's histogram."""
INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
"""DuckDB's integer types: their histogram buckets are whole numbers."""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _numeric(type_name: str) -> bool:
    return (
        type_name in INTEGER_TYPES
        or type_name in {"FLOAT", "DOUBLE"}
        or type_name.startswith("DECIMAL")
    )


@dataclass(frozen=True)
class EntryColumn:
    """A column of an entry's data as its forms need it: its type in the data (what a value
    must cast to), its field rules in words, and whether it is the key records go by."""

    name: str
    type: str
    rules: str
    key: bool
    numeric: bool = False


@dataclass(frozen=True)
class Histogram:
    """A numeric column's values in equal-width buckets (nulls apart)."""

    column: str
    buckets: list[tuple[str, int]]
    nulls: int


@dataclass(frozen=True)
class PrivacyMeasure:
    """One measure (k, l or t) of the entry's data against the task's target for it."""

    name: str
    measured: float | None
    target: float | None
    bound: str
    holds: bool | None


@dataclass(frozen=True)
class PrivacyCheck:
    """The entry's measured privacy against its task's targets (``table`` is the table whose
    targets apply; empty when there are none)."""

    table: str
    measures: list[PrivacyMeasure]
    holds: bool
    shortfalls: list[str]


@dataclass(frozen=True)
class EntryShape:
    """What every page of an entry shows besides its records: the entry, its task's state,
    whether its run is the task's latest and waits for upload, the key and the columns."""

    entry: OutboxEntryView
    task_state: str
    current_run: bool
    awaiting_upload: bool
    key: str
    columns: list[EntryColumn]
    privacy: PrivacyCheck


@dataclass(frozen=True)
class EntryPage:
    """The entry's page: its shape, one page of its records in the order asked for, column
    statistics, a histogram per numeric column, and where the pages around it start."""

    shape: EntryShape
    records: list[dict[str, Any]]
    sort: str
    descending: bool
    offset: int
    next_offset: int | None
    previous_offset: int | None
    statistics: list[dict[str, Any]]
    histograms: list[Histogram]


@dataclass(frozen=True)
class EntryRecord:
    """One record of an entry, found by its primary key, for the edit form."""

    shape: EntryShape
    record: dict[str, Any]


def _rules_in_words(column: Any) -> str:
    parts = []
    if column.range is not None:
        low = "" if column.range.min is None else column.range.min
        high = "" if column.range.max is None else column.range.max
        parts.append(f"range [{low}, {high}]")
    if column.empty.strategy in ("drop", "fill"):
        parts.append("may not be empty")
    return "; ".join(parts)


def privacy_table_of(module: Any, table: str) -> str | None:
    """The table whose privacy targets an output table answers to: itself, or for an
    anatomized output (``<table>_qi`` / ``<table>_st``) the table it came from; None when
    there are no targets."""
    names = {t.name for t in module.tables}
    for name in (table, table.removesuffix("_qi"), table.removesuffix("_st")):
        if name in names and module.table(name).privacy is not None:
            return name
    return None


def _privacy_check(module: Any, entry: OutboxEntry) -> PrivacyCheck:
    measured = dict(entry.privacy or {})
    name = privacy_table_of(module, entry.table) if module is not None else None
    targets = module.table(name).privacy if name else None
    measures = []
    for measure, bound in (("k", "at least"), ("l", "at least"), ("t", "at most")):
        value = measured.get(measure)
        target = getattr(targets, measure, None) if targets is not None else None
        holds = None
        if target is not None:
            holds = value is not None and (
                float(value) >= float(target)
                if bound == "at least"
                else float(value) <= float(target)
            )
        if value is not None or target is not None:
            measures.append(
                PrivacyMeasure(
                    name=measure,
                    measured=None if value is None else value,
                    target=target,
                    bound=bound,
                    holds=holds,
                )
            )
    shortfalls = [str(s) for s in measured.get("shortfalls") or []]
    holds = bool(measured.get("holds", all(m.holds is not False for m in measures)))
    return PrivacyCheck(table=name or "", measures=measures, holds=holds, shortfalls=shortfalls)


def _entry_shape(entry: OutboxEntry, types: dict[str, str]) -> EntryShape:
    """The entry with its task's state and the columns' types (``types``, from its data) and
    rules (from the task's document)."""
    from privetl.engine.jsonld import parse_document

    task = entry.task
    module = parse_document(json.loads(task.module_document)) if task.module_document else None
    table = None
    if module is not None and entry.table in {t.name for t in module.tables}:
        table = module.table(entry.table)
    key = table.primary_key.column if table is not None and table.primary_key else ""
    rules = {c.name: _rules_in_words(c) for c in table.columns} if table is not None else {}
    names = list(types) or [str(c) for c in entry.columns]
    columns = [
        EntryColumn(
            name=n,
            type=types.get(n, ""),
            rules=rules.get(n, ""),
            key=n == key,
            numeric=_numeric(types.get(n, "")),
        )
        for n in names
    ]
    return EntryShape(
        entry=entry_view(entry),
        task_state=task.state,
        current_run=task.current_run_id == entry.run_id,
        awaiting_upload=entry.state == OutboxState.AWAITING_REVIEW
        and task.state == "AWAITING_UPLOAD"
        and task.current_run_id == entry.run_id,
        key=key,
        columns=columns,
        privacy=_privacy_check(module, entry),
    )


def _entry_with_task(actor: Actor, entry_id: str) -> OutboxEntry:
    require_data_manager(actor)
    entry = OutboxEntry.objects.select_related("task").filter(pk=entry_id).first()
    if entry is None or not readable_modules(actor, [entry.ext_datamodule_id]):
        raise NotFound(f"outbox entry {entry_id!r} does not exist", field="entry_id")
    return entry


def _records(cursor: Any) -> list[dict[str, Any]]:
    from privetl.engine.outbox import jsonable

    names = [d[0] for d in cursor.description or []]
    return [{n: jsonable(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def _histograms(
    con: Any, path: Path, statistics: list[dict[str, Any]], *, key: str
) -> list[Histogram]:
    """Equal-width buckets of every numeric column but the key (unique values, a flat
    line): one aggregate scan for the bounds, one grouped scan a column (DuckDB reads only
    that column of the Parquet)."""
    numeric = [s for s in statistics if _numeric(str(s["type"])) and s["column"] != key]
    if not numeric:
        return []
    parts = ", ".join(
        f"min({_quoted(s['column'])})::DOUBLE, max({_quoted(s['column'])})::DOUBLE" for s in numeric
    )
    bounds = con.execute(f"SELECT {parts} FROM read_parquet(?)", [str(path)]).fetchone()  # noqa: S608 - quoted names
    histograms = []
    for i, stat in enumerate(numeric):
        low, high = bounds[2 * i], bounds[2 * i + 1]
        name = str(stat["column"])
        if low is None or high is None:
            histograms.append(Histogram(column=name, buckets=[], nulls=int(stat["nulls"])))
            continue
        whole = str(stat["type"]) in INTEGER_TYPES
        if whole:
            width = max(1.0, float(-(-(int(high) - int(low) + 1) // HISTOGRAM_BUCKETS)))
            count = int(-(-(int(high) - int(low) + 1) // int(width)))
        else:
            width = (high - low) / HISTOGRAM_BUCKETS or 1.0
            count = HISTOGRAM_BUCKETS if high > low else 1
        rows = con.execute(
            f"SELECT least(CAST(floor(({_quoted(name)}::DOUBLE - ?) / ?) AS BIGINT), ?) AS b, "  # noqa: S608
            f"count(*) FROM read_parquet(?) WHERE {_quoted(name)} IS NOT NULL GROUP BY b",
            [low, width, count - 1, str(path)],
        ).fetchall()
        counts = {int(b): int(n) for b, n in rows}
        buckets = []
        for b in range(count):
            start = low + b * width
            if whole:
                end = start + width - 1
                label = f"{start:.0f}" if width == 1 else f"{start:.0f} – {end:.0f}"
            elif high == low:
                label = f"{low:g}"
            else:
                label = f"{start:.4g} – {start + width:.4g}"
            buckets.append((label, counts.get(b, 0)))
        histograms.append(Histogram(column=name, buckets=buckets, nulls=int(stat["nulls"])))
    return histograms


def entry_page_for_actor(
    *,
    actor: Actor,
    entry_id: str,
    sort: str = "",
    descending: bool = False,
    offset: int = 0,
    rows: int = PAGE_ROWS,
) -> EntryPage:
    """Get, for the entry's page: ``rows`` records from ``offset`` in the table's own order,
    or sorted by the column ``sort`` (nulls last, ties in key order, so pages never overlap);
    column statistics and a histogram per numeric column — all read by DuckDB from the
    entry's Parquet, never copied whole into Python. An entry no longer awaiting review has
    no data left: its page shows the entry alone."""
    import duckdb

    from privetl.engine.outbox import column_statistics

    if not 1 <= rows <= MAX_PREVIEW_ROWS:
        raise InvalidArgument(f"rows must be 1..{MAX_PREVIEW_ROWS}, not {rows}", field="rows")
    if offset < 0:
        raise InvalidArgument("offset must be 0 or more", field="offset")
    entry = _entry_with_task(actor, entry_id)
    if entry.state != OutboxState.AWAITING_REVIEW:
        if sort:
            raise InvalidArgument(
                f"sort: entry {entry_id!r} is {entry.state.lower()} and has no records to sort",
                field="sort",
            )
        return EntryPage(
            shape=_entry_shape(entry, {}),
            records=[],
            sort="",
            descending=False,
            offset=0,
            next_offset=None,
            previous_offset=None,
            statistics=[],
            histograms=[],
        )
    path = entry_file(entry)
    statistics = column_statistics(path)
    shape = _entry_shape(entry, {str(s["column"]): str(s["type"]) for s in statistics})
    names = [c.name for c in shape.columns]
    if sort and sort not in names:
        raise InvalidArgument(
            f"sort: {sort!r} is not a column of {entry.table}; its columns are {', '.join(names)}",
            field="sort",
        )
    order = ""
    if sort:
        direction = "DESC" if descending else "ASC"
        keys = [f"{_quoted(sort)} {direction} NULLS LAST"]
        # ties in key order; a table without a key by all its columns, so pages never overlap
        for name in [shape.key] if shape.key else names:
            if name != sort:
                keys.append(f"{_quoted(name)} ASC NULLS LAST")
        order = " ORDER BY " + ", ".join(keys)
    with duckdb.connect() as con:
        records = _records(
            con.execute(
                f"SELECT * FROM read_parquet(?){order} LIMIT ? OFFSET ?",  # noqa: S608 - quoted names
                [str(path), rows, offset],
            )
        )
        histograms = _histograms(con, path, statistics, key=shape.key)
    total = int(statistics[0]["rows"]) if statistics else 0
    return EntryPage(
        shape=shape,
        records=records,
        sort=sort,
        descending=descending and bool(sort),
        offset=offset,
        next_offset=offset + rows if offset + rows < total else None,
        previous_offset=max(0, offset - rows) if offset > 0 else None,
        statistics=statistics,
        histograms=histograms,
    )


def _types(con: Any, path: Path) -> dict[str, str]:
    return {
        str(r[0]): str(r[1])
        for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    }


def _editable(entry: OutboxEntry, con: Any) -> EntryShape:
    """The shape of an entry whose records can be changed (awaiting review, with a key)."""
    if entry.state != OutboxState.AWAITING_REVIEW:
        raise FailedPrecondition(
            f"outbox entry {entry.id!r} is {entry.state.lower()}; only entries awaiting review "
            "have records to change",
            field="entry_id",
        )
    shape = _entry_shape(entry, _types(con, entry_file(entry)))
    if not shape.key:
        raise FailedPrecondition(
            f"table {entry.table!r} has no primary key, so its records cannot be addressed",
            field="key",
        )
    return shape


def entry_overview_for_actor(*, actor: Actor, entry_id: str) -> EntryShape:
    """An entry with its task's state and privacy, without reading its data (for the
    confirmation before it is discarded)."""
    return _entry_shape(_entry_with_task(actor, entry_id), {})


def entry_shape_for_actor(*, actor: Actor, entry_id: str) -> EntryShape:
    """An entry awaiting review with its columns' types and rules, for the form that adds a
    record (FAILED_PRECONDITION when it has no data left or no key)."""
    import duckdb

    entry = _entry_with_task(actor, entry_id)
    with duckdb.connect() as con:
        return _editable(entry, con)


def entry_record_for_actor(*, actor: Actor, entry_id: str, key: str) -> EntryRecord:
    """The record of an entry awaiting review whose primary key is ``key``, for its edit
    form (NOT_FOUND when none is)."""
    import duckdb

    entry = _entry_with_task(actor, entry_id)
    with duckdb.connect() as con:
        shape = _editable(entry, con)
        key_type = next(c.type for c in shape.columns if c.key)
        found = _records(
            con.execute(
                f"SELECT * FROM read_parquet(?) WHERE {_quoted(shape.key)} = "  # noqa: S608
                f"TRY_CAST(? AS {key_type}) LIMIT 1",
                [str(entry_file(entry)), key],
            )
        )
    if not found:
        raise NotFound(f"{entry.table} has no record with {shape.key} = {key!r}", field="key")
    return EntryRecord(shape=shape, record=found[0])
