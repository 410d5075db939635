"""Thin UI views of runs: parse, authorize (the selector's rule), call one selector, render."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from privetl.common.charts import WIDTH, bar_chart
from privetl.common.context import Actor
from privetl.common.errors import HTTP_STATUS, PrivetlError
from privetl.platform.ui.views import page_context, ui_page
from privetl.runs import selectors
from privetl.runs.models import RunState

FILTERS = ("task", "state", "started_by", "started_from", "started_to")
"""The run history's filters, as the form and its pager links name them."""
FORM_FIELDS = {"state": "state", "started_to": "started_to", "page_token": "page_token"}
"""A selector's refusal naming one of these fields is shown at the form (its field)."""
DATE_HELP = "give a date as YYYY-MM-DD, or leave it empty"


def _day(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _trend_charts(trend: list[selectors.TrendPoint], *, current: str) -> dict[str, object]:
    """The task's latest runs as two bar charts (seconds of work, rows out), each bar named
    by when the run started and its id (``current`` marked as this run)."""

    def label(point: selectors.TrendPoint) -> str:
        mark = " (this run)" if point.run_id == current else ""
        return f"{point.queued_at:%Y-%m-%d %H:%M} {point.run_id}{mark}"

    return {
        "trend": trend,
        "current_run": current,
        "trend_seconds": bar_chart([(label(p), p.seconds) for p in trend], unit="s"),
        "trend_rows": bar_chart([(label(p), p.rows_out) for p in trend]),
    }


@ui_page
def run_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """ListRuns in the browser, filtered by task, state, who started it and the days it was
    started on. The filters stay in the form and in the pager link; the page token is the one
    signed cursor, refused (at the form) when it was made for other filters."""
    form = {name: request.GET.get(name, "").strip() for name in FILTERS}
    errors: dict[str, str] = {}
    days: dict[str, dt.date | None] = {}
    for name in ("started_from", "started_to"):
        try:
            days[name] = _day(form[name])
        except ValueError:
            days[name] = None
            errors[name] = DATE_HELP
    history = None
    try:
        history = selectors.run_history_for_actor(
            actor=actor,
            task_id=form["task"],
            state=form["state"],
            started_by=form["started_by"],
            started_from=days["started_from"],
            started_to=days["started_to"],
            page_token=request.GET.get("page_token", ""),
        )
    except PrivetlError as exc:
        if exc.field not in FORM_FIELDS:
            raise
        errors[FORM_FIELDS[exc.field]] = exc.message
        status = HTTP_STATUS[exc.code]
    else:
        status = 400 if errors else 200
    query = urlencode({name: value for name, value in form.items() if value})
    trend = history.trend if history and not errors else []
    context = page_context(
        actor,
        page=None if errors or history is None else history.page,
        **_trend_charts(trend, current=""),
        form=form,
        errors=errors,
        filtered=any(form.values()),
        query=query,
        states=RunState.values,
        paged=bool(request.GET.get("page_token")),
        trend_task=form["task"],
    )
    return render(request, "runs/run_list.html", context, status=status)


STAGE_ORDER = ("extract", "clean", "transform", "anonymize", "verify", "publish")
"""The order stages run in (a PostgreSQL JSON object does not keep its keys' order)."""


TIMELINE_LABELS = 100
"""Width of the timeline's column of stage names, in SVG user units."""


@dataclass(frozen=True)
class TimelineStage:
    """One stage on the run's timeline: when it began after the first, how long it took,
    and its bar (offset and width in the chart's coordinates)."""

    stage: str
    begins: float
    seconds: float
    executions: int
    x: float
    width: float
    y: int

    @property
    def bar_x(self) -> float:
        """Where the bar starts, right of the stage names."""
        return round(TIMELINE_LABELS + self.x, 1)

    @property
    def text_x(self) -> float:
        """Where the seconds are written, right of the bar."""
        return round(TIMELINE_LABELS + self.x + self.width + 5, 1)


def _timeline(run: selectors.RunView) -> list[TimelineStage]:
    """The stages one after the other, each bar starting where the previous one ended."""
    order = {stage: i for i, stage in enumerate(STAGE_ORDER)}
    stages = sorted(run.timings.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    total = sum(seconds for _, seconds in stages)
    timeline, begins = [], 0.0
    for i, (stage, seconds) in enumerate(stages):
        timeline.append(
            TimelineStage(
                stage=stage,
                begins=round(begins, 3),
                seconds=seconds,
                executions=run.stage_executions.get(stage, 1),
                x=round(WIDTH * begins / total, 1) if total > 0 else 0.0,
                width=round(WIDTH * seconds / total, 1) if total > 0 else 0.0,
                y=i * 22,
            )
        )
        begins += seconds
    return timeline


@ui_page
def run_detail(request: HttpRequest, actor: Actor, run_id: str) -> HttpResponse:
    """GetRun in the browser: state, rows, the stage timeline, rows affected per rule, the
    quarantine (paged, searchable), the privacy measures against their targets, and the
    duration and rows of the task's latest runs."""
    search = request.GET.get("q", "")
    found = selectors.run_page_for_actor(
        actor=actor,
        run_id=run_id,
        quarantine_search=search,
        quarantine_page_token=request.GET.get("quarantine_page_token", ""),
    )
    run, report = found.run, found.report
    rules = [
        (
            f"{r['table']}{'.' + r['column'] if r.get('column') else ''}: {r['rule']}",
            r["rows_affected"],
        )
        for r in report.get("rules", [])
        if r.get("rows_affected")
    ]
    timeline = _timeline(run)

    context = page_context(
        actor,
        run=run,
        tables=report.get("tables", []),
        timeline=timeline,
        timeline_height=len(timeline) * 22,
        timeline_total=round(sum(s.seconds for s in timeline), 3),
        durations=bar_chart([(s.stage, s.seconds) for s in timeline], unit="s"),
        rules=bar_chart(rules),
        quarantine=found.quarantine,
        quarantine_query=urlencode({"q": found.quarantine.search}) if found.quarantine.search else "",
        privacy=found.privacy,
        trend_task=run.task_id,
        **_trend_charts(found.trend, current=run.id),
    )
    return render(request, "runs/run_detail.html", context)
