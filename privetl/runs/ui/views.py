"""Thin UI views of runs: parse, authorize (the selector's rule), call one selector, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render

from privetl.common.errors import PermissionDenied, PrivetlError
from privetl.platform.ui.views import session_actor
from privetl.runs import selectors


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
    return render(request, "runs/run_list.html", {"actor": actor, "page": page, "reads_runs": True})
