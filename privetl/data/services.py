"""The only writers of the outbox.

The runs app (above) hands a run's verified tables in (``outbox_entries_create``), marks
them uploaded, discards them on Stop; retention expires them. A Data-Manager edits one
(``outbox_modify``): the changes are applied by the engine to a new Parquet file, the
privacy targets are measured again on it, and only if they still hold does the entry point
at the new file — revision, audit record of every record's before and after, all in one
transaction under the entry's row lock, so concurrent edits are serialized and none is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from privetl.audit.services import audit_record
from privetl.common.context import Actor
from privetl.common.errors import FailedPrecondition, InvalidArgument, NotFound
from privetl.common.text import checked_free_text
from privetl.data.models import OutboxEntry, OutboxState
from privetl.data.selectors import (
    OutboxEntryView,
    entry_file,
    entry_view,
    privacy_table_of,
    readable_modules,
    require_data_manager,
    run_work_dir,
)
from privetl.tasks.models import Task, TaskState
from privetl.tasks.selectors import task_document

SERVICE = "data"
MAX_CHANGES = 1000
REASON_MAX_LENGTH = 2000


@dataclass(frozen=True)
class OutboxTable:
    """One verified table of a run, as the worker hands it to the outbox."""

    table: str
    path: str
    rows: int
    columns: list[str]
    privacy: dict[str, Any]


def outbox_entries_create(
    *,
    actor: Actor,
    run_id: str,
    task_id: str,
    ext_datamodule_id: str,
    tables: Iterable[OutboxTable],
) -> list[OutboxEntryView]:
    """The run's tables become entries AWAITING_REVIEW (inside the caller's transaction)."""
    now = timezone.now()
    retain = now + dt.timedelta(days=float(settings.OUTBOX_RETENTION_DAYS))
    views = []
    for item in tables:
        entry = OutboxEntry.objects.create(
            id=uuid.uuid4().hex,
            run_id=run_id,
            task_id=task_id,
            ext_datamodule_id=ext_datamodule_id,
            table=item.table,
            rows=item.rows,
            columns=list(item.columns),
            path=item.path,
            created_at=now,
            retain_until=retain,
            privacy=dict(item.privacy),
        )
        audit_record(
            actor=actor,
            service=SERVICE,
            action="outbox.create",
            target_type="outbox_entry",
            target_id=entry.id,
            before=None,
            after={
                "run_id": run_id,
                "table": entry.table,
                "rows": entry.rows,
                "state": entry.state,
                "retain_until": retain.isoformat(),
            },
        )
        views.append(entry_view(entry))
    return views


def _set_state(entries: Iterable[OutboxEntry], *, actor: Actor, state: str, action: str) -> int:
    """Entries leave review: state changed, audited, their files removed after commit."""
    files: list[Path] = []
    count = 0
    for entry in entries:
        before = {"state": entry.state, "rows": entry.rows}
        entry.state = state
        entry.save(update_fields=["state"])
        files.append(entry_file(entry))
        audit_record(
            actor=actor,
            service=SERVICE,
            action=action,
            target_type="outbox_entry",
            target_id=entry.id,
            before=before,
            after={"state": entry.state, "run_id": entry.run_id, "table": entry.table},
        )
        count += 1

    def remove() -> None:
        for path in files:
            path.unlink(missing_ok=True)

    transaction.on_commit(remove)
    return count


def outbox_entries_discard(*, actor: Actor, task_id: str) -> int:
    """Stop(clear_outbox): the task's entries awaiting review are DISCARDED, data deleted."""
    pending = OutboxEntry.objects.select_for_update().filter(
        task_id=task_id, state=OutboxState.AWAITING_REVIEW
    )
    return _set_state(
        list(pending), actor=actor, state=OutboxState.DISCARDED, action="outbox.discard"
    )


def outbox_pending_exists(*, task_id: str) -> bool:
    """Whether the task has entries awaiting review (for Stop's refusal)."""
    return OutboxEntry.objects.filter(task_id=task_id, state=OutboxState.AWAITING_REVIEW).exists()


def outbox_entries_uploaded(*, actor: Actor, run_id: str, version: int) -> int:
    """The upload published ``version``: the run's entries are UPLOADED."""
    now = timezone.now()
    count = 0
    for entry in OutboxEntry.objects.select_for_update().filter(
        run_id=run_id, state=OutboxState.AWAITING_REVIEW
    ):
        entry.state = OutboxState.UPLOADED
        entry.uploaded_at = now
        entry.published_version = version
        entry.save(update_fields=["state", "uploaded_at", "published_version"])
        audit_record(
            actor=actor,
            service=SERVICE,
            action="outbox.upload",
            target_type="outbox_entry",
            target_id=entry.id,
            before={"state": OutboxState.AWAITING_REVIEW},
            after={"state": entry.state, "published_version": version},
        )
        count += 1
    return count


@dataclass(frozen=True)
class Expired:
    """What retention did: entries expired, and the runs left with none awaiting review."""

    entries: int
    runs_emptied: list[str]


def outbox_expire(*, actor: Actor, now: dt.datetime | None = None) -> Expired:
    """Retention: entries not uploaded by their ``retain_until`` are EXPIRED, data deleted
    (inside the caller's transaction)."""
    now = now or timezone.now()
    entries = list(
        OutboxEntry.objects.select_for_update().filter(
            state=OutboxState.AWAITING_REVIEW, retain_until__lt=now
        )
    )
    count = _set_state(entries, actor=actor, state=OutboxState.EXPIRED, action="outbox.expire")
    run_ids = sorted({e.run_id for e in entries})
    emptied = [
        r
        for r in run_ids
        if not OutboxEntry.objects.filter(run_id=r, state=OutboxState.AWAITING_REVIEW).exists()
    ]
    return Expired(entries=count, runs_emptied=emptied)


# --- Modifie ---------------------------------------------------------------------------


def _parse_changes(changes: list[dict[str, Any]]) -> list[Any]:
    from privetl.engine.outbox import RecordChange

    if not changes:
        raise InvalidArgument(
            "changes: give at least one change (add, edit or delete_key)", field="changes"
        )
    if len(changes) > MAX_CHANGES:
        raise InvalidArgument(f"changes: at most {MAX_CHANGES} in one call", field="changes")
    parsed = []
    for i, change in enumerate(changes):
        where = f"changes[{i}]"
        kinds = [k for k in ("add", "edit", "delete_key") if change.get(k) is not None]
        if len(kinds) != 1:
            raise InvalidArgument(
                f"{where}: give exactly one of add, edit, delete_key", field=where
            )
        kind = kinds[0]
        if kind == "add":
            if not isinstance(change["add"], dict) or not change["add"]:
                raise InvalidArgument(
                    f"{where}.add: a record (column → value)", field=f"{where}.add"
                )
            parsed.append(RecordChange("add", values=dict(change["add"])))
        elif kind == "edit":
            edit = change["edit"]
            key = edit.get("key") if isinstance(edit, dict) else None
            values = edit.get("values") if isinstance(edit, dict) else None
            if not isinstance(key, str) or not key:
                raise InvalidArgument(
                    f"{where}.edit.key: the record's primary key", field=f"{where}.edit.key"
                )
            if not isinstance(values, dict) or not values:
                raise InvalidArgument(
                    f"{where}.edit.values: the columns to change", field=f"{where}.edit.values"
                )
            parsed.append(RecordChange("edit", key=key, values=dict(values)))
        else:
            key = change["delete_key"]
            if not isinstance(key, str) or not key:
                raise InvalidArgument(
                    f"{where}.delete_key: the record's primary key", field=f"{where}.delete_key"
                )
            parsed.append(RecordChange("delete", key=key))
    return parsed


def _privacy_summary(measured: dict[str, Any]) -> str:
    parts = [
        f"{name} = {measured[name]}" for name in ("k", "l", "t") if measured.get(name) is not None
    ]
    return ", ".join(parts) or json.dumps(measured, default=str)


@transaction.atomic
def outbox_modify(
    *, actor: Actor, entry_id: str, changes: list[dict[str, Any]], reason: str = ""
) -> OutboxEntryView:
    """Modifie: add, edit and delete records of an entry awaiting review, by primary key.

    All or nothing: a bad change (unknown key or column, a value the column's type or field
    rule refuses) is INVALID_ARGUMENT naming it; changes that would break the table's
    privacy targets are FAILED_PRECONDITION with the measured k / l / t. Either way nothing
    changes. Each applied change is an audit record with the record before and after.
    """
    from privetl.engine.errors import EngineError
    from privetl.engine.jsonld import parse_document
    from privetl.engine.outbox import RecordChangeError, edit_records
    from privetl.engine.stages import measure_privacy

    require_data_manager(actor)
    reason = checked_free_text(reason, field="reason", max_length=REASON_MAX_LENGTH)
    parsed = _parse_changes(changes)
    task_id = OutboxEntry.objects.filter(pk=entry_id).values_list("task_id", flat=True).first()
    # The task's row first (the lock Start takes when it queues the upload), then the entry:
    # an edit either lands before the upload is queued, or is refused — never lost in it.
    task_state = (
        Task.objects.select_for_update().filter(pk=task_id).values_list("state", flat=True).first()
    )
    entry = OutboxEntry.objects.select_for_update().filter(pk=entry_id).first()
    if entry is None or not readable_modules(actor, [entry.ext_datamodule_id]):
        raise NotFound(f"outbox entry {entry_id!r} does not exist", field="entry_id")
    if task_state == TaskState.UPLOADING:
        raise FailedPrecondition(
            f"task {entry.task_id!r} is uploading this result; edits are closed until the "
            "upload ends (Stop the task to take the data back for review)",
            field="entry_id",
        )
    if entry.state != OutboxState.AWAITING_REVIEW:
        raise FailedPrecondition(
            f"outbox entry {entry_id!r} is {entry.state.lower()}; only entries awaiting review change",
            field="entry_id",
        )
    document_text = task_document(task_id=entry.task_id)
    module = parse_document(json.loads(document_text))
    source = entry_file(entry)
    new_relative = f"outbox/{entry.table}.r{entry.revision + 1}.parquet"
    target = run_work_dir(entry.run_id) / new_relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = edit_records(module, entry.table, source, target, parsed)
    except RecordChangeError as exc:
        raise InvalidArgument(str(exc), field="changes") from None
    try:
        document_path = run_work_dir(entry.run_id) / "module.json"
        if not document_path.exists():
            document_path.write_text(document_text)
        if privacy_table_of(module, entry.table) is None:
            measured = {"holds": True, "targets": None}
        else:
            measured = measure_privacy(
                document_path, privacy_table_of(module, entry.table) or "", target
            )
    except EngineError as exc:
        target.unlink(missing_ok=True)
        raise FailedPrecondition(
            f"the edited table could not be measured: {exc}", field="changes"
        ) from None
    if not measured.get("holds", True):
        target.unlink(missing_ok=True)
        raise FailedPrecondition(
            f"these changes would break the privacy targets of {entry.table}: measured "
            f"{_privacy_summary(measured)}; nothing was changed — change fewer records of a small "
            "equivalence class, or ask for the task's targets to be revised",
            field="changes",
        )
    before = {"rows": entry.rows, "revision": entry.revision, "edits": entry.edits}
    old, before_path = source, entry.path
    entry.path = new_relative
    entry.revision += 1
    entry.edits += len(result.changes)
    entry.rows = result.rows
    entry.privacy = {k: v for k, v in measured.items()}
    entry.save(update_fields=["path", "revision", "edits", "rows", "privacy"])
    for applied in result.changes:
        audit_record(
            actor=actor,
            service=SERVICE,
            action=f"outbox.record_{applied.kind}",
            target_type="outbox_entry",
            target_id=entry.id,
            before=applied.before,
            after=applied.after,
            detail=f"{entry.table} key {applied.key}" + (f": {reason}" if reason else ""),
        )
    audit_record(
        actor=actor,
        service=SERVICE,
        action="outbox.modify",
        target_type="outbox_entry",
        target_id=entry.id,
        before=before,
        after={
            "rows": entry.rows,
            "revision": entry.revision,
            "edits": entry.edits,
            "privacy": entry.privacy,
        },
        detail=reason,
    )
    if Path(before_path).parts[:1] == ("outbox",):
        # an earlier edit's file; the run's own verified output stays (the upload checks
        # the edited table against it)
        transaction.on_commit(lambda: old.unlink(missing_ok=True))
    return entry_view(entry)
