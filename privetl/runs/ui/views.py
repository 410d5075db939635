"""Thin UI views of runs: parse, authorize (the selector's rule), call one selector, render."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render

from privetl.common.errors import NotFound, PermissionDenied, PrivetlError
from privetl.platform.ui.views import page_context, session_actor
from privetl.runs import selectors
from privetl.runs.ui.charts import bar_chart


def run_list(request: HttpRequest) -> HttpResponse:
    """ListRuns in the browser; the page token is the one signed cursor every list uses."""
    actor = session_actor(request)
    if actor is None:
        return redirect("ui-login")
    try:
        page = selectors.run_list_for_actor(
            actor=actor, page_token=request.GET.get("page_token", "")
        )
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except PrivetlError as exc:
        return HttpResponse(exc.message, status=400)
    return render(request, "runs/run_list.html", page_context(actor, page=page))


def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    """GetRun in the browser: state, rows, the stage timeline and rows affected per rule."""
    actor = session_actor(request)
    if actor is None:
        return redirect("ui-login")
    try:
        run = selectors.run_get_for_actor(actor=actor, run_id=run_id)
    except PermissionDenied as exc:
        return HttpResponseForbidden(exc.message)
    except NotFound as exc:
        raise Http404(exc.message) from exc
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
