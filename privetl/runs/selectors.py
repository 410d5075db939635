"""Readers of the runs, each scoped by who is asking.

Rights: the run history (ListRuns, GetRun) is read by PROCESS_ETL_TASK (the Task-Manager),
MANAGE_DATA (the Data-Manager) and ADMIN.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from privetl.common.context import Actor
from privetl.common.errors import NotFound, PermissionDenied
from privetl.common.paging import Page, keyset_page, scope_of
from privetl.runs.models import Run, RunState
from privetl.tasks.models import TaskState

HISTORY_ROLES = frozenset({"PROCESS_ETL_TASK", "MANAGE_DATA", "ADMIN"})
RUN_ROLE = "PROCESS_ETL_TASK"
RUN_ORDER = ("-queued_at", "-id")


@dataclass(frozen=True)
class RunView:
    """A run as every door shows it."""

    id: str
    task_id: str
    state: str
    stage: str
    stages_done: list[str]
    timings: dict[str, float]
    rows_in: int
    rows_out: int
    report_json: str
    error: str
    upload: bool
    pause_requested: bool
    started_by: str
    queued_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    attempts: int
    stage_executions: dict[str, int] = field(default_factory=dict)
    published_version: int | None = None
    task_state: str = ""
    """The state the run gives its task (the contract's TaskState)."""


TASK_STATE_OF_RUN = {
    RunState.QUEUED: TaskState.RUNNING,
    RunState.RUNNING: TaskState.RUNNING,
    RunState.PAUSED: TaskState.PAUSED,
    RunState.AWAITING_UPLOAD: TaskState.AWAITING_UPLOAD,
    RunState.SUCCEEDED: TaskState.COMPLETED,
    RunState.FAILED: TaskState.FAILED,
    RunState.STOPPED: TaskState.STOPPED,
}
"""A task's state follows its latest run; a running upload is the task's UPLOADING."""


def task_state_of(run: Run) -> str:
    """The task state ``run`` gives its task."""
    if run.state in (RunState.QUEUED, RunState.RUNNING) and run.upload:
        return str(TaskState.UPLOADING)
    return str(TASK_STATE_OF_RUN[RunState(run.state)])


def run_view(run: Run) -> RunView:
    """The view of a loaded run."""
    return RunView(
        task_state=task_state_of(run),
        id=run.id,
        task_id=run.task_id,
        state=run.state,
        stage=run.stage,
        stages_done=list(run.stages_done),
        timings={str(k): float(v) for k, v in dict(run.timings).items()},
        rows_in=run.rows_in,
        rows_out=run.rows_out,
        report_json=run.report_json,
        error=run.error,
        upload=run.upload,
        pause_requested=run.pause_requested,
        started_by=run.started_by,
        queued_at=run.queued_at,
        started_at=run.started_at,
        ended_at=run.ended_at,
        attempts=run.attempts,
        stage_executions={str(k): int(v) for k, v in dict(run.stage_executions).items()},
        published_version=run.published_version,
    )


def require_history_reader(actor: Actor) -> None:
    """PROCESS_ETL_TASK, MANAGE_DATA or ADMIN read the run history."""
    if not (actor.roles & HISTORY_ROLES):
        raise PermissionDenied("reading runs needs the role PROCESS_ETL_TASK, MANAGE_DATA or ADMIN")


def run_get_for_actor(*, actor: Actor, run_id: str) -> RunView:
    """GetRun: one run with its stage, rows, timings and report. One query."""
    require_history_reader(actor)
    try:
        return run_view(Run.objects.get(pk=run_id))
    except Run.DoesNotExist:
        raise NotFound(f"run {run_id!r} does not exist", field="run_id") from None


def run_list_for_actor(
    *, actor: Actor, task_id: str = "", page_size: int | None = None, page_token: str = ""
) -> Page[RunView]:
    """ListRuns: runs newest first, of one task when ``task_id`` is given. One query a page."""
    require_history_reader(actor)
    runs = Run.objects.all()
    if task_id:
        runs = runs.filter(task_id=task_id)
    page = keyset_page(
        runs,
        order=RUN_ORDER,
        scope=scope_of("runs", task_id),
        page_size=page_size,
        page_token=page_token,
    )
    return Page(items=[run_view(r) for r in page.items], next_page_token=page.next_page_token)


def report_of(run: RunView) -> dict[str, Any]:
    """The run's report as a dict (empty before the first stage finished)."""
    return json.loads(run.report_json) if run.report_json else {}


def queue_state() -> tuple[int, float]:
    """Runs queued now, and the age in seconds of the oldest (0 when none)."""
    from django.utils import timezone

    queued = Run.objects.filter(state=RunState.QUEUED)
    oldest = queued.order_by("queued_at").values_list("queued_at", flat=True).first()
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return queued.count(), max(0.0, age)
