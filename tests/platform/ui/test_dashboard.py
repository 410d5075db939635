"""The dashboard: what waits for each person, by their roles — tasks by state, runs in
progress, access requests to decide, outbox entries to review, recent failures — and the
Content-Security-Policy every page is served with."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from privetl.data.models import OutboxEntry
from privetl.users import services as users
from tests.scripts.helpers import actor_for, connection, grant, task_row, user

pytestmark = pytest.mark.django_db


def _login(client: Client, user_id: str) -> str:
    client.post("/ui/login/", {"user_id": user_id})
    return client.get("/ui/").content.decode()


def test_a_task_manager_sees_tasks_by_state_and_the_failures(client: Client) -> None:
    user("tom", "PROCESS_ETL_TASK")
    task_row("t-draft")
    failed = task_row("t-broken")
    failed.state, failed.last_error = "FAILED", "extract: the source refused the password"
    failed.save()
    page = _login(client, "tom")
    assert re.search(r"DRAFT</span></a></td><td class=\"num\">1<", page)
    assert re.search(r"FAILED</span></a></td><td class=\"num\">1<", page)
    assert "t-broken" in page and "the source refused the password" in page
    assert "No run in progress" in page


def test_an_owner_sees_the_access_requests_waiting_for_them(client: Client) -> None:
    connection("customers")
    user("olga")
    user("rick")
    grant("olga", "customers", "OWNER")
    users.access_request_file(
        actor=actor_for("rick"),
        user_id="rick",
        ext_datamodule_id="customers",
        access_types=["READ"],
        reason="churn model",
    )
    page = _login(client, "olga")
    assert "rick asks READ on customers" in page and "churn model" in page
    assert 'href="/ui/access-requests/"' in page
    assert "Nothing to decide" in _login(Client(), "rick")


def test_a_data_manager_sees_what_waits_for_review(client: Client) -> None:
    connection("customers")
    user("dana", "MANAGE_DATA")
    grant("dana", "customers", "READ")
    OutboxEntry.objects.create(
        id="e1",
        run_id="r1",
        task=task_row("t1"),
        ext_datamodule_id="customers",
        table="orders",
        state="AWAITING_REVIEW",
        rows=42,
        path="unused",
        retain_until=timezone.now() + dt.timedelta(days=7),
    )
    page = _login(client, "dana")
    assert "orders</a> of t1 (42 rows)" in page
    assert "Tasks by state" not in page  # MANAGE_DATA does not read tasks


def test_without_roles_the_dashboard_says_what_to_ask_for(client: Client) -> None:
    user("bob")
    page = _login(client, "bob")
    assert "ask an admin for EDIT_TASK, PROCESS_ETL_TASK or MANAGE_DATA" in page
    assert "Tasks by state" not in page and "Outbox" not in page


def test_pages_are_served_with_a_csp_that_forbids_inline_script_and_style(client: Client) -> None:
    user("tom", "PROCESS_ETL_TASK", "MANAGE_DATA", "EDIT_TASK")
    _login(client, "tom")
    for url in ("/ui/login/", "/ui/", "/ui/connections/", "/ui/runs/", "/ui/outbox/"):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy, url
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {url}"
        assert not re.search(r"\sstyle=|\son[a-z]+=", html), f"inline style/handler on {url}"
        assert '<script src="/static/django_htmx/htmx-2.min.js"' in html, url
