"""Readers of the runs, each scoped by who is asking.

Rights: the run history (ListRuns, GetRun) is read by PROCESS_ETL_TASK (the Task-Manager),
MANAGE_DATA (the Data-Manager) and ADMIN. A run's page (``run_page_for_actor``) shows the same
readers its quarantine too: the engine's Parquet file of rejected records in the run's work
directory, read a page at a time by DuckDB, never loaded whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from privetl.common.context import Actor
from privetl.common.errors import InvalidArgument, NotFound, PermissionDenied
from privetl.common.paging import (
    Page,
    keyset_page,
    page_position,
    page_size_of,
    page_token_for,
    scope_of,
)
from privetl.data.selectors import DATA_ROLE, readable_modules, run_work_dir
from privetl.engine.clean.quarantine import quarantine_page
from privetl.runs.models import Run, RunState
from privetl.tasks.models import Task, TaskState

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
    *,
    actor: Actor,
    task_id: str = "",
    page_size: int | None = None,
    page_token: str = "",
    state: str = "",
    started_by: str = "",
    started_from: dt.date | None = None,
    started_to: dt.date | None = None,
) -> Page[RunView]:
    """ListRuns: runs newest first, of one task when ``task_id`` is given. One query a page.

    The run history's filters narrow it further: a run ``state``, who started it
    (``started_by``), and the days it was started on (``started_from`` to ``started_to``,
    both included, in the server's time zone; "started" is when Start queued it, the
    order of the list). A page token continues only the list of the filters it was made for.
    """
    require_history_reader(actor)
    if state and state not in RunState.values:
        raise InvalidArgument(
            f"state must be one of {', '.join(RunState.values)}, not {state!r}", field="state"
        )
    if started_from and started_to and started_from > started_to:
        raise InvalidArgument(
            f"the start date {started_from.isoformat()} is after the end date "
            f"{started_to.isoformat()}: swap them, or clear one",
            field="started_to",
        )
    runs = Run.objects.all()
    if task_id:
        runs = runs.filter(task_id=task_id)
    if state:
        runs = runs.filter(state=state)
    if started_by:
        runs = runs.filter(started_by=started_by)
    if started_from:
        runs = runs.filter(queued_at__gte=_day_start(started_from))
    if started_to:
        runs = runs.filter(queued_at__lt=_day_start(started_to + dt.timedelta(days=1)))
    page = keyset_page(
        runs,
        order=RUN_ORDER,
        scope=scope_of("runs", task_id, state, started_by, started_from, started_to),
        page_size=page_size,
        page_token=page_token,
    )
    return Page(items=[run_view(r) for r in page.items], next_page_token=page.next_page_token)


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight starting ``day`` in the server's time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def report_of(run: RunView) -> dict[str, Any]:
    """The run's report as a dict (empty before the first stage finished)."""
    return json.loads(run.report_json) if run.report_json else {}


TREND_RUNS = 20
"""How many of a task's latest runs its trend charts draw."""


@dataclass(frozen=True)
class TrendPoint:
    """One run of a task, as the charts across its runs draw it."""

    run_id: str
    state: str
    queued_at: dt.datetime
    seconds: float
    """The stages' time (the sum of their timings): the run's work, not its waits."""
    rows_in: int
    rows_out: int


def _task_trend(task_id: str, *, last: int = TREND_RUNS) -> list[TrendPoint]:
    """The task's ``last`` runs, oldest first (one query; no report is read)."""
    rows = (
        Run.objects.filter(task_id=task_id)
        .order_by(*RUN_ORDER)
        .values_list("id", "state", "queued_at", "timings", "rows_in", "rows_out")[:last]
    )
    return [
        TrendPoint(
            run_id=run_id,
            state=state,
            queued_at=queued_at,
            seconds=round(sum(float(v) for v in dict(timings or {}).values()), 4),
            rows_in=rows_in,
            rows_out=rows_out,
        )
        for run_id, state, queued_at, timings, rows_in, rows_out in reversed(list(rows))
    ]


@dataclass(frozen=True)
class RunHistory:
    """A page of the run history and, when it is one task's, that task's latest runs."""

    page: Page[RunView]
    trend: list[TrendPoint]


def run_history_for_actor(
    *,
    actor: Actor,
    task_id: str = "",
    state: str = "",
    started_by: str = "",
    started_from: dt.date | None = None,
    started_to: dt.date | None = None,
    page_size: int | None = None,
    page_token: str = "",
) -> RunHistory:
    """The run history page: ListRuns with its filters (``run_list_for_actor``), and for the
    history of one task its latest runs whatever the other filters (one query more), so a
    Task-Manager sees how its duration and rows go."""
    page = run_list_for_actor(
        actor=actor,
        task_id=task_id,
        state=state,
        started_by=started_by,
        started_from=started_from,
        started_to=started_to,
        page_size=page_size,
        page_token=page_token,
    )
    return RunHistory(page=page, trend=_task_trend(task_id) if task_id else [])


@dataclass(frozen=True)
class PrivacyMeasure:
    """One privacy measure of one table against the target the data module sets for it."""

    table: str
    measure: str
    """What is measured, e.g. "k (smallest class)"."""
    measured: str
    required: str
    """The target as a bound ("≥ 3", "≤ 0.3"), or "—" when the module sets none."""
    met: bool | None
    """Whether the measure meets its target; None when there is no target."""


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def privacy_against_targets(report: dict[str, Any]) -> list[PrivacyMeasure]:
    """The report's privacy measures beside their targets, table by table: k and l (at least
    the target), t (at most the target) and the records suppressed (at most
    ``max_suppression``); the verified values where the verify stage measured again. An
    empty table holds every target (as the engine's ``privacy.shortfalls`` says)."""
    measures: list[PrivacyMeasure] = []
    for table, entry in dict(report.get("privacy") or {}).items():
        if not isinstance(entry, dict):
            continue
        if "anatomy_l_target" in entry:
            target, l_value = entry.get("anatomy_l_target"), entry.get("l")
            measures.append(
                PrivacyMeasure(
                    table=table,
                    measure="l (fewest distinct sensitive values in an anatomy group)",
                    measured=_number(l_value),
                    required=f"≥ {target}",
                    met=not entry.get("groups") or (l_value is not None and l_value >= target),
                )
            )
            continue
        verified = dict(entry.get("verified") or {})
        targets = dict(entry.get("targets") or {})
        records = verified.get("records", entry.get("records_out"))
        empty = records == 0
        for name, label, at_least in (
            ("k", "k (smallest equivalence class)", True),
            ("l", "l (fewest distinct sensitive values in a class)", True),
            ("t", "t (largest distance from the table's distribution)", False),
        ):
            value, target = verified.get(name, entry.get(name)), targets.get(name)
            if value is None and target is None:
                continue
            met: bool | None = None
            if target is not None:
                if empty:
                    met = True
                elif at_least:
                    met = value is not None and value >= target
                else:
                    met = value is None or value <= target + 1e-12
            measures.append(
                PrivacyMeasure(
                    table=table,
                    measure=label,
                    measured=_number(value),
                    required="—" if target is None else f"{'≥' if at_least else '≤'} {target}",
                    met=met,
                )
            )
        records_in, suppressed = entry.get("records_in"), entry.get("records_suppressed")
        most = targets.get("max_suppression")
        if records_in is not None and suppressed is not None and most is not None:
            share = suppressed / records_in if records_in else 0.0
            measures.append(
                PrivacyMeasure(
                    table=table,
                    measure="records suppressed",
                    measured=f"{suppressed:,} of {records_in:,} ({share:.2%})",
                    required=f"≤ {float(most):.2%}",
                    met=suppressed <= int(float(most) * records_in),
                )
            )
    return measures


@dataclass(frozen=True)
class QuarantineRow:
    """One rejected or changed record: the engine's quarantine columns (all text)."""

    position: int
    """The row's place in the quarantine file (the paging position)."""
    record_key: str
    table: str
    column: str
    rule: str
    value: str | None
    message: str


@dataclass(frozen=True)
class Quarantine:
    """A page of a run's quarantine, the search it matches, and how many rows there are."""

    page: Page[QuarantineRow]
    search: str
    rows: int
    """Rows the run's report counts in its quarantine."""
    matching: int
    """Rows of the file that match ``search`` (all of them without one)."""
    available: bool
    """False before the clean stage wrote the file, or after the work dir was removed."""
    withheld_from: str = ""
    """The destination module whose Data-Managers alone may read the values (set when the
    caller is not one of them: the quarantine holds raw personal data)."""


QUARANTINE_ORDER = ("file_row_number",)


def _quarantine_file(run: RunView, report: dict[str, Any]) -> Path | None:
    """The quarantine Parquet the report names, if it is there and inside the run's own
    work directory (a report never points a reader anywhere else)."""
    named = dict(report.get("quarantine") or {}).get("path")
    if not named:
        return None
    path = Path(str(named)).resolve()
    if not path.is_relative_to(run_work_dir(run.id).resolve()) or not path.is_file():
        return None
    return path


def _quarantine(
    run: RunView, report: dict[str, Any], *, search: str, page_size: int | None, page_token: str
) -> Quarantine:
    """One page of the run's quarantine, read by DuckDB from its Parquet file: only the page
    (and two counts) reach Python, however many rows were rejected. Paged by the row's
    place in the file with the one signed cursor, scoped to the run and the search."""
    size = page_size_of(page_size)
    search = search.strip()
    scope = scope_of("quarantine", run.id, search)
    position = page_position(page_token, scope=scope, order=QUARANTINE_ORDER)
    after = int(position[0]) if position else -1
    rows = int(dict(report.get("quarantine") or {}).get("rows") or 0)
    path = _quarantine_file(run, report)
    if path is None:
        return Quarantine(
            page=Page(items=[], next_page_token=""),
            search=search,
            rows=rows,
            matching=0,
            available=False,
        )
    found, matching = quarantine_page(path, after=after, search=search, limit=size + 1)
    items = [
        QuarantineRow(
            position=int(r[0]),
            record_key=str(r[1] or ""),
            table=str(r[2] or ""),
            column=str(r[3] or ""),
            rule=str(r[4] or ""),
            value=None if r[5] is None else str(r[5]),
            message=str(r[6] or ""),
        )
        for r in found
    ]
    next_token = ""
    if len(items) > size:
        items = items[:size]
        next_token = page_token_for([items[-1].position], scope)
    return Quarantine(
        page=Page(items=items, next_page_token=next_token),
        search=search,
        rows=rows,
        matching=matching,
        available=True,
    )


@dataclass(frozen=True)
class RunPage:
    """Everything a run's page shows: the run, its report, a page of its quarantine, its
    privacy measures against their targets, and the latest runs of its task."""

    run: RunView
    report: dict[str, Any]
    quarantine: Quarantine
    privacy: list[PrivacyMeasure]
    trend: list[TrendPoint]


def run_page_for_actor(
    *,
    actor: Actor,
    run_id: str,
    quarantine_search: str = "",
    quarantine_page_size: int | None = None,
    quarantine_page_token: str = "",
) -> RunPage:
    """GetRun with what a run's page shows around it (the history readers' rule): two
    queries (the run, its task's latest runs) and one read of the quarantine file."""
    run = run_get_for_actor(actor=actor, run_id=run_id)
    report = report_of(run)
    quarantine = _quarantine(
        run,
        report,
        search=quarantine_search,
        page_size=quarantine_page_size,
        page_token=quarantine_page_token,
    )
    module = (
        Task.objects.filter(pk=run.task_id).values_list("ext_datamodule_id", flat=True).first()
    )
    if not (DATA_ROLE in actor.roles and readable_modules(actor, [str(module or "")])):
        # the rejected values are the sources' raw records, before any anonymization: only
        # a Data-Manager who may read the module sees them; others see the counts
        quarantine = dataclasses.replace(
            quarantine,
            page=Page(items=[], next_page_token=""),
            matching=0,
            withheld_from=str(module or run.task_id),
        )
    return RunPage(
        run=run,
        report=report,
        quarantine=quarantine,
        privacy=privacy_against_targets(report),
        trend=_task_trend(run.task_id),
    )


def queue_state() -> tuple[int, float]:
    """Runs queued now, and the age in seconds of the oldest (0 when none)."""
    queued = Run.objects.filter(state=RunState.QUEUED)
    oldest = queued.order_by("queued_at").values_list("queued_at", flat=True).first()
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return queued.count(), max(0.0, age)
