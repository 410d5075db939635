"""Thin UI views: parse, authorize (the selectors' rules), call one function, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from privetl.common.context import Actor
from privetl.platform.ui.views import page_context, ui_page


@ui_page
def index(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Placeholder until the page is built."""
    return render(request, "tasks/index.html", page_context(actor))
