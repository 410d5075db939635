"""Thin UI views of runs: parse, authorize (the selector's rule), call one selector, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from privetl.common.charts import bar_chart
from privetl.common.context import Actor
from privetl.platform.ui.views import page_context, ui_page
from privetl.runs import selectors


@ui_page
def run_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """ListRuns in the browser; the page token is the one signed cursor every list uses."""
    page = selectors.run_list_for_actor(actor=actor, page_token=request.GET.get("page_token", ""))
    return render(request, "runs/run_list.html", page_context(actor, page=page))


@ui_page
def run_detail(request: HttpRequest, actor: Actor, run_id: str) -> HttpResponse:
    """GetRun in the browser: state, rows, the stage timeline and rows affected per rule."""
    run = selectors.run_get_for_actor(actor=actor, run_id=run_id)
    report = selectors.report_of(run)
    rules = [
        (
            f"{r['table']}{'.' + r['column'] if r.get('column') else ''}: {r['rule']}",
            r["rows_affected"],
        )
        for r in report.get("rules", [])
        if r.get("rows_affected")
    ]
    context = page_context(
        actor,
        run=run,
        tables=report.get("tables", []),
        timeline=bar_chart(run.timings.items(), unit="s"),
        rules=bar_chart(rules),
    )
    return render(request, "runs/run_detail.html", context)
