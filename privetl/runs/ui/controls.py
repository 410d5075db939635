"""Thin UI views of the run controls: parse, authorize (the run services' rules), call, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from privetl.common.context import Actor
from privetl.platform.ui.views import ui_page


@ui_page
def start(request: HttpRequest, actor: Actor, task_id: str) -> HttpResponse:
    """Placeholder until built."""
    return HttpResponse("not built yet", status=501)


pause = resume = stop = progress = start
