"""The only writers of the runs and the outbox.

Two kinds of caller. The run controls (Start, Pause, Resume, Stop) are a person's, through
the doors: role, then grants, then the task's row lock (``tasks.services.task_lock_for_run``:
run controls of one task are serialized), then the change, its audit record and — for a run
that must execute — its job on the queue, all in one transaction. django-q2's ORM broker
keeps its queue in this database, so a queued run and its job commit together or not at all.

The others are the worker's (``jobs.py``): claim a queued run under a lease, record each
stage, pause at a stage boundary, hand the result to the outbox, fail, record the upload.
Each is conditional on the worker still holding the run (state RUNNING, ``lease_owner`` the
caller): a worker that lost its run (stopped, or recovered by another after its lease
expired) changes nothing and is told so. Every run event is an audit record.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from privetl.audit.services import audit_record
from privetl.common.context import Actor
from privetl.common.errors import FailedPrecondition, PermissionDenied
from privetl.data import services as outbox
from privetl.data.selectors import run_work_dir
from privetl.data.services import OutboxTable
from privetl.runs import notifications
from privetl.runs.models import ACTIVE_STATES, Run, RunState
from privetl.runs.selectors import RUN_ROLE, RunView, run_view, task_state_of
from privetl.scripts.selectors import scripts_by_id
from privetl.tasks.models import TaskState
from privetl.tasks.selectors import rights_problems
from privetl.tasks.services import TaskForRun, task_lock_for_run, task_run_state_record

logger = logging.getLogger(__name__)

SERVICE = "runs"
JOB = "privetl.runs.jobs.execute_run"
WORKER = Actor(user_id="system:worker", door="worker")
"""Who the audit log names for what a worker does (the run's starter is in the record)."""


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus 8 random hex digits."""
    return timezone.now().strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _snapshot(run: Run) -> dict[str, Any]:
    return {
        "state": run.state,
        "stage": run.stage,
        "stages_done": list(run.stages_done),
        "upload": run.upload,
        "pause_requested": run.pause_requested,
        "attempts": run.attempts,
        "rows_in": run.rows_in,
        "rows_out": run.rows_out,
        "error": run.error or None,
        "published_version": run.published_version,
    }


def _save(run: Run, *fields: str) -> None:
    run.updated_at = timezone.now()
    run.save(update_fields=[*fields, "updated_at"])


def _audit(
    run: Run,
    *,
    actor: Actor,
    action: str,
    before: dict[str, Any] | None,
    detail: str = "",
    outcome: str = "success",
) -> None:
    """The run event's audit record, and the task's state following its latest run."""
    task_run_state_record(
        task_id=run.task_id,
        state=task_state_of(run),
        run_id=run.id,
        error=run.error if run.state == RunState.FAILED else "",
    )
    audit_record(
        actor=actor,
        service=SERVICE,
        action=action,
        target_type="run",
        target_id=run.id,
        before=before,
        after={**_snapshot(run), "task_id": run.task_id, "started_by": run.started_by},
        detail=detail,
        outcome=outcome,
    )


def _enqueue(run: Run) -> None:
    """Put the run's job on the queue, in the caller's transaction (the ORM broker)."""
    from django_q.tasks import async_task

    async_task(JOB, run.id, task_name=f"run {run.id}"[:100], group=run.task_id[:100])


def require_run_controller(actor: Actor) -> None:
    """Only PROCESS_ETL_TASK starts, pauses, resumes and stops runs."""
    if RUN_ROLE not in actor.roles:
        raise PermissionDenied(
            "starting, pausing, resuming and stopping runs needs the role PROCESS_ETL_TASK; "
            "ask an admin for it"
        )


def _require_run_rights(*, actor: Actor, task: TaskForRun) -> None:
    """READ on every connection the task's extractors read, WRITE or OWNER on the destination
    (and on a connection its uploader writes): checked at Start, Resume and upload."""
    view = task.view
    scripts = scripts_by_id(
        [*view.extraction_script_ids, *filter(None, [view.uploading_script_id])]
    )
    reads = [
        str(s.body["connection_id"])
        for s in scripts.values()
        if s.kind == "extractor" and s.body.get("connection_id")
    ]
    writes = [
        str(s.body["connection_id"])
        for s in scripts.values()
        if s.kind == "uploader" and s.body.get("connection_id")
    ]
    problems = rights_problems(
        actor=actor,
        ext_datamodule_id=view.ext_datamodule_id,
        read_connection_ids=reads,
        write_connection_ids=writes,
    )
    if problems:
        raise PermissionDenied("; ".join(problems))


def _active_run(task_id: str) -> Run | None:
    return (
        Run.objects.select_for_update()
        .filter(task_id=task_id, state__in=ACTIVE_STATES)
        .order_by("-queued_at", "-id")
        .first()
    )


def _released(task: TaskForRun) -> None:
    if task.view.state == TaskState.DRAFT:
        raise FailedPrecondition(
            f"task {task.view.id!r} is a draft; Release it before starting a run", field="task_id"
        )


def _queue_upload(run: Run, *, actor: Actor) -> Run:
    before = _snapshot(run)
    run.upload = True
    run.state = RunState.QUEUED
    run.stage = "upload"
    _save(run, "upload", "state", "stage")
    _audit(run, actor=actor, action="run.upload_queued", before=before)
    _enqueue(run)
    return run


@transaction.atomic
def run_start(*, actor: Actor, task_id: str) -> RunView:
    """Start: queue a new run of a released task, or the upload of a result awaiting it.

    A task runs many times: on a RELEASED, COMPLETED, STOPPED or FAILED task Start begins a
    new run; while a run is queued, running or paused, a second Start is FAILED_PRECONDITION.
    """
    require_run_controller(actor)
    task = task_lock_for_run(task_id=task_id)
    _released(task)
    _require_run_rights(actor=actor, task=task)
    current = _active_run(task_id)
    if current is not None and current.state == RunState.AWAITING_UPLOAD:
        return run_view(_queue_upload(current, actor=actor))
    if current is not None:
        raise FailedPrecondition(
            f"task {task_id!r} already has run {current.id!r} {current.state.lower()}; "
            "wait for it, or Stop it, before starting another",
            field="task_id",
        )
    run = Run.objects.create(
        id=new_run_id(),
        task_id=task_id,
        module_sha256=task.view.module_sha256,
        state=RunState.QUEUED,
        engine=settings.RUN_ENGINE,
        started_by=actor.user_id,
    )
    _audit(run, actor=actor, action="run.queue", before=None)
    _enqueue(run)
    return run_view(run)


def _controlled_run(actor: Actor, task_id: str, what: str) -> tuple[TaskForRun, Run]:
    """The locked task and its active run, for a control of that run."""
    require_run_controller(actor)
    task = task_lock_for_run(task_id=task_id)
    run = _active_run(task_id)
    if run is None:
        raise FailedPrecondition(
            f"task {task_id!r} has no queued, running, paused or awaiting run to {what}",
            field="task_id",
        )
    return task, run


@transaction.atomic
def run_pause(*, actor: Actor, task_id: str) -> RunView:
    """Pause: a queued run is paused at once; a running one after its current stage finishes
    (the worker sees the request at the stage boundary, so no stage is cut in the middle)."""
    _, run = _controlled_run(actor, task_id, "pause")
    before = _snapshot(run)
    if run.state == RunState.QUEUED and not run.upload:
        run.state = RunState.PAUSED
        _save(run, "state")
        _audit(run, actor=actor, action="run.pause", before=before)
    elif run.state == RunState.RUNNING and not run.upload:
        if not run.pause_requested:
            run.pause_requested = True
            _save(run, "pause_requested")
            _audit(
                run,
                actor=actor,
                action="run.pause_request",
                before=before,
                detail=f"pauses after the current stage ({run.stage or 'starting'})",
            )
    else:
        what = "the upload" if run.upload else f"a {run.state.lower()} run"
        raise FailedPrecondition(
            f"task {task_id!r}: {what} cannot be paused (run {run.id!r})", field="task_id"
        )
    return run_view(run)


@transaction.atomic
def run_resume(*, actor: Actor, task_id: str) -> RunView:
    """Resume: a paused run continues from its last finished stage, on any worker; a result
    awaiting upload is uploaded; a pause not yet taken effect is withdrawn."""
    task, run = _controlled_run(actor, task_id, "resume")
    before = _snapshot(run)
    if run.state == RunState.PAUSED:
        _require_run_rights(actor=actor, task=task)
        run.state = RunState.QUEUED
        run.pause_requested = False
        _save(run, "state", "pause_requested")
        _audit(run, actor=actor, action="run.resume", before=before)
        _enqueue(run)
    elif run.state == RunState.AWAITING_UPLOAD:
        _require_run_rights(actor=actor, task=task)
        _queue_upload(run, actor=actor)
    elif run.state == RunState.RUNNING and run.pause_requested:
        run.pause_requested = False
        _save(run, "pause_requested")
        _audit(run, actor=actor, action="run.pause_withdraw", before=before)
    else:
        raise FailedPrecondition(
            f"task {task_id!r}: run {run.id!r} is {run.state.lower()}, not paused", field="task_id"
        )
    return run_view(run)


@dataclass(frozen=True)
class Stopped:
    """What Stop did: the run (if one was active) and the outbox entries it cleared."""

    run: RunView | None
    entries_cleared: int


@transaction.atomic
def run_stop(*, actor: Actor, task_id: str, clear_outbox: bool = False) -> Stopped:
    """Stop: end the task's queued, running, paused or awaiting run; STOPPED at once.

    A worker executing it notices within about 2 s (its heartbeat finds the run
    no longer its own), cancels the engine's query and lets go. ``clear_outbox`` deletes the
    task's outbox data that was not uploaded (entries DISCARDED, their files removed).
    """
    require_run_controller(actor)
    task_lock_for_run(task_id=task_id)
    run = _active_run(task_id)
    if run is None and not (clear_outbox and outbox.outbox_pending_exists(task_id=task_id)):
        raise FailedPrecondition(
            f"task {task_id!r} has no queued, running, paused or awaiting run to stop",
            field="task_id",
        )
    if run is not None:
        before = _snapshot(run)
        run.state = RunState.STOPPED
        run.pause_requested = False
        run.ended_at = timezone.now()
        run.lease_owner = ""
        run.lease_expires_at = None
        _save(run, "state", "pause_requested", "ended_at", "lease_owner", "lease_expires_at")
        _audit(
            run,
            actor=actor,
            action="run.stop",
            before=before,
            detail="outbox cleared" if clear_outbox else "",
        )
    cleared = 0
    if clear_outbox:
        cleared = outbox.outbox_entries_discard(actor=actor, task_id=task_id)
    return Stopped(run=run_view(run) if run is not None else None, entries_cleared=cleared)


# --- the worker's side -------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A run a worker now holds: what it needs to execute it."""

    run: RunView
    document: str
    connections: list[dict[str, Any]]
    work_dir: Path
    engine: str


def _lease_until() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=float(settings.RUN_LEASE_SECONDS))


def _held(run_id: str, worker: str) -> Run | None:
    return (
        Run.objects.select_for_update()
        .filter(pk=run_id, state=RunState.RUNNING, lease_owner=worker)
        .first()
    )


@transaction.atomic
def run_claim(*, run_id: str, worker: str) -> Claim | None:
    """Take a queued run under a lease; None when it is not queued (paused or stopped since
    it was queued, or taken by another worker): the job then has nothing to do."""
    run = Run.objects.select_for_update().filter(pk=run_id, state=RunState.QUEUED).first()
    if run is None:
        return None
    task = task_lock_for_run(task_id=run.task_id)
    before = _snapshot(run)
    run.state = RunState.RUNNING
    run.lease_owner = worker
    run.lease_expires_at = _lease_until()
    run.attempts += 1
    run.started_at = run.started_at or timezone.now()
    _save(run, "state", "lease_owner", "lease_expires_at", "attempts", "started_at")
    _audit(
        run,
        actor=WORKER,
        action="run.upload_start" if run.upload else "run.start",
        before=before,
        detail=f"worker {worker}, attempt {run.attempts}",
    )
    return Claim(
        run=run_view(run),
        document=task.document,
        connections=list(task.connections),
        work_dir=run_work_dir(run.id),
        engine=run.engine,
    )


def run_lease_renew(*, run_id: str, worker: str) -> bool:
    """The heartbeat: extend the lease; False when the run is no longer this worker's
    (stopped, or recovered by another worker), and the worker must let go."""
    return bool(
        Run.objects.filter(pk=run_id, state=RunState.RUNNING, lease_owner=worker).update(
            lease_expires_at=_lease_until()
        )
    )


@transaction.atomic
def run_stage_begin(*, run_id: str, worker: str, stage: str) -> bool:
    """Record that ``stage`` begins (counted per stage, so redone work shows); False when the
    run is no longer this worker's."""
    run = _held(run_id, worker)
    if run is None:
        return False
    run.stage = stage
    executions = dict(run.stage_executions)
    executions[stage] = int(executions.get(stage, 0)) + 1
    run.stage_executions = executions
    _save(run, "stage", "stage_executions")
    return True


@transaction.atomic
def run_stage_finish(
    *,
    run_id: str,
    worker: str,
    stage: str,
    seconds: float,
    rows_in: int,
    rows_out: int,
    report_json: str,
) -> str:
    """Record a finished stage; then "continue", "pause" (a pause was asked: the run is
    PAUSED now, holding no worker) or "lost" (the run is no longer this worker's)."""
    run = _held(run_id, worker)
    if run is None:
        return "lost"
    before = _snapshot(run)
    done = [s for s in run.stages_done if s != stage] + [stage]
    run.stages_done = done
    timings = dict(run.timings)
    timings[stage] = round(float(seconds), 3)
    run.timings = timings
    if len(done) == 1:
        run.rows_in = int(rows_in)
    run.rows_out = int(rows_out)
    run.report_json = report_json
    fields = ["stages_done", "timings", "rows_in", "rows_out", "report_json"]
    _save(run, *fields)
    _audit(
        run,
        actor=WORKER,
        action="run.stage_finish",
        before=before,
        detail=f"{stage}: {rows_in} rows in, {rows_out} out, {seconds:.2f} s",
    )
    if not run.pause_requested:
        return "continue"
    before = _snapshot(run)
    run.state = RunState.PAUSED
    run.pause_requested = False
    run.lease_owner = ""
    run.lease_expires_at = None
    _save(run, "state", "pause_requested", "lease_owner", "lease_expires_at")
    _audit(run, actor=WORKER, action="run.paused", before=before, detail=f"after {stage}")
    return "pause"


@transaction.atomic
def run_await_upload(
    *, run_id: str, worker: str, tables: list[OutboxTable], report_json: str
) -> bool:
    """Verify succeeded: each table becomes an outbox entry AWAITING_REVIEW, the run and its
    task AWAITING_UPLOAD; the Task-Manager and the module's owners are told after commit."""
    run = _held(run_id, worker)
    if run is None:
        return False
    task = task_lock_for_run(task_id=run.task_id)
    before = _snapshot(run)
    outbox.outbox_entries_create(
        actor=WORKER,
        run_id=run.id,
        task_id=run.task_id,
        ext_datamodule_id=task.view.ext_datamodule_id,
        tables=tables,
    )
    run.state = RunState.AWAITING_UPLOAD
    run.stage = "verify"
    run.report_json = report_json
    run.lease_owner = ""
    run.lease_expires_at = None
    _save(run, "state", "stage", "report_json", "lease_owner", "lease_expires_at")
    _audit(
        run,
        actor=WORKER,
        action="run.awaiting_upload",
        before=before,
        detail=f"{len(tables)} table(s) in the outbox for review",
    )
    transaction.on_commit(lambda: notifications.run_awaiting_upload(run_id=run.id))
    return True


@transaction.atomic
def run_uploaded(*, run_id: str, worker: str, version: int, report_json: str) -> bool:
    """The upload published ``version``: the entries UPLOADED, the run SUCCEEDED, the task
    COMPLETED, the Task-Manager told after commit."""
    run = _held(run_id, worker)
    if run is None:
        return False
    before = _snapshot(run)
    now = timezone.now()
    outbox.outbox_entries_uploaded(actor=WORKER, run_id=run.id, version=version)
    run.state = RunState.SUCCEEDED
    run.stage = "upload"
    run.published_version = version
    run.ended_at = now
    run.report_json = report_json or run.report_json
    run.lease_owner = ""
    run.lease_expires_at = None
    _save(
        run,
        "state",
        "stage",
        "published_version",
        "ended_at",
        "report_json",
        "lease_owner",
        "lease_expires_at",
    )
    _audit(
        run,
        actor=WORKER,
        action="run.uploaded",
        before=before,
        detail=f"published version {version}",
    )
    transaction.on_commit(lambda: notifications.run_ended(run_id=run.id))
    return True


@transaction.atomic
def run_fail(*, run_id: str, worker: str, error: str) -> bool:
    """The run halts FAILED with ``error`` (a message a person can act on); the Task-Manager
    is told after commit. False when the run was no longer this worker's."""
    run = _held(run_id, worker)
    if run is None:
        return False
    _failed(run, error=error, actor=WORKER)
    return True


def _failed(run: Run, *, error: str, actor: Actor) -> None:
    before = _snapshot(run)
    run.state = RunState.FAILED
    run.error = error[:4000]
    run.ended_at = timezone.now()
    run.lease_owner = ""
    run.lease_expires_at = None
    run.pause_requested = False
    _save(run, "state", "error", "ended_at", "lease_owner", "lease_expires_at", "pause_requested")
    _audit(run, actor=actor, action="run.fail", before=before, detail=run.error, outcome="failed")
    transaction.on_commit(lambda: notifications.run_ended(run_id=run.id))


@transaction.atomic
def runs_recover(*, now: dt.datetime | None = None) -> list[str]:
    """Runs whose worker died (RUNNING with an expired lease): queued again, to continue from
    their last finished stage on any worker, or FAILED with the reason after
    ``RUN_MAX_ATTEMPTS`` attempts. Returns the ids handled."""
    now = now or timezone.now()
    handled = []
    for run in Run.objects.select_for_update().filter(
        state=RunState.RUNNING, lease_expires_at__lt=now
    ):
        dead = run.lease_owner
        if run.attempts >= int(settings.RUN_MAX_ATTEMPTS):
            _failed(
                run,
                error=(
                    f"the worker executing it stopped answering {run.attempts} time(s) "
                    f"(last: {dead}, during {run.stage or 'start'}); the machine may lack memory "
                    "for this task, or workers are being killed: check the workers' logs, then "
                    "Start the task again"
                ),
                actor=WORKER,
            )
        else:
            before = _snapshot(run)
            run.state = RunState.QUEUED
            run.lease_owner = ""
            run.lease_expires_at = None
            _save(run, "state", "lease_owner", "lease_expires_at")
            _audit(
                run,
                actor=WORKER,
                action="run.recover",
                before=before,
                detail=f"worker {dead} stopped renewing its lease during {run.stage}; "
                "continuing from the last finished stage",
            )
            _enqueue(run)
        handled.append(run.id)
    return handled


@transaction.atomic
def outbox_expire(*, now: dt.datetime | None = None) -> int:
    """Retention: outbox entries past ``retain_until`` expire (``data.services``); a run
    whose whole result expired is STOPPED, so its task can start again. Returns how many
    entries expired."""
    now = now or timezone.now()
    expired = outbox.outbox_expire(actor=WORKER, now=now)
    for run_id in expired.runs_emptied:
        run = (
            Run.objects.select_for_update()
            .filter(pk=run_id, state=RunState.AWAITING_UPLOAD)
            .first()
        )
        if run is None:
            continue
        before = _snapshot(run)
        run.state = RunState.STOPPED
        run.ended_at = now
        run.error = "its result expired in the outbox before anyone uploaded it"
        _save(run, "state", "ended_at", "error")
        _audit(run, actor=WORKER, action="run.expire", before=before, detail=run.error)
    return expired.entries


def report_json_of(report: Any) -> str:
    """The engine's report as the run stores it."""
    if hasattr(report, "to_json"):
        return str(report.to_json())
    return json.dumps(report, default=str)
