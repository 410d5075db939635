"""Readers of the outbox, each scoped by who is asking.

Rights: the outbox (GetAll, Get) is read by MANAGE_DATA, and only for entries of modules
the caller may read (READ, WRITE or OWNER on the destination module), so a Data-Manager
never sees processed data of a module nobody granted them; an entry of another module is
NOT_FOUND, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument, NotFound, PermissionDenied
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
