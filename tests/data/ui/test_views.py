"""The Data Manager's UI door: the outbox for MANAGE_DATA only, scoped to readable modules,
filtered by state, with an empty state that says what fills it and a bounded query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from privetl.data.models import OutboxEntry
from tests.scripts.helpers import connection, grant, task_row, ui_login, user

pytestmark = pytest.mark.django_db


def _entry(entry_id: str, module: str, state: str = "AWAITING_REVIEW") -> None:
    OutboxEntry.objects.create(
        id=entry_id,
        run_id=f"run-{entry_id}",
        task=task_row(f"task-{entry_id}", destination=module),
        ext_datamodule_id=module,
        table="customers",
        state=state,
        rows=180,
        path="unused",
        retain_until=timezone.now() + dt.timedelta(days=7),
    )


def test_the_outbox_shows_only_modules_the_data_manager_may_read(
    client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    connection("customers")
    connection("payroll")
    user("dana", "MANAGE_DATA")
    grant("dana", "customers", "READ")
    _entry("e1", "customers")
    _entry("e2", "payroll")
    _entry("e3", "customers", state="UPLOADED")
    ui_login(client, "dana")
    assert 'href="/ui/outbox/"' in client.get("/ui/").content.decode()
    with django_assert_max_num_queries(8):
        page = client.get("/ui/outbox/").content.decode()
    assert 'href="/ui/outbox/e1/">e1</a>' in page
    assert "/ui/outbox/e2/" not in page and "payroll" not in page  # payroll: no grant
    assert ">e3</a>" not in page  # uploaded: not what waits for review
    uploaded = client.get("/ui/outbox/", {"state": "UPLOADED"}).content.decode()
    assert ">e3</a>" in uploaded and ">e1</a>" not in uploaded


def test_the_outbox_needs_manage_data_and_says_what_fills_it(client: Client) -> None:
    user("tom", "PROCESS_ETL_TASK")
    ui_login(client, "tom")
    assert 'href="/ui/outbox/"' not in client.get("/ui/").content.decode()
    assert client.get("/ui/outbox/").status_code == 403
    client.post("/ui/logout/")
    user("dana", "MANAGE_DATA")
    ui_login(client, "dana")
    assert "Nothing waits for review" in client.get("/ui/outbox/").content.decode()
    refused = client.get("/ui/outbox/", {"state": "LOST"})
    assert (
        refused.status_code == 400 and "'LOST' is not an outbox state" in refused.content.decode()
    )
