"""The query budget of the task and script lists on both doors: a page costs the same
whatever its size (a per-row query would blow the budget many times over)."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from privetl._gen.etl.script.manager.V1 import script_manager_pb2 as spb
from privetl._gen.etl.task.manager.V1 import task_manager_pb2 as tpb
from privetl.platform import auth
from privetl.platform.auth import token_issue
from privetl.scripts.grpc import ScriptManagerServicer
from privetl.scripts.models import Script
from privetl.tasks.grpc import EtlTaskManagerServicer
from privetl.tasks.models import Task
from tests.users.grpc_helpers import InThreadContext

ROWS = 40
PAGE = 25
BUDGET = 2
"""The caller (one query on every authenticated call), then the page: one query."""


@pytest.fixture
def data(editor) -> str:
    auth.VERIFIED_TOKENS.clear()
    now = timezone.now()
    Task.objects.bulk_create(
        Task(
            id=f"t{n:03d}",
            name=f"T {n}",
            ext_datamodule_id="customers",
            created_by="eddie",
            created_at=now,
        )
        for n in range(ROWS)
    )
    Script.objects.bulk_create(
        Script(
            id=f"s{n:03d}",
            task_id="t000",
            kind="field_rule",
            body={"field_type": "Integer", "type": "RemoveEmpty"},
            fields=[{"ext_datamodule_id": "customers", "field_name": "customers/id"}],
            created_by="eddie",
            created_at=now,
        )
        for n in range(ROWS)
    )
    token = token_issue(user_id="eddie")
    Client().get("/api/v1/tasks", HTTP_AUTHORIZATION=f"Bearer {token}")  # the first call logs in
    return token


@pytest.mark.parametrize(
    "url", [f"/api/v1/tasks?page_size={PAGE}", f"/api/v1/scripts?task_id=t000&page_size={PAGE}"]
)
def test_rest_lists_stay_in_budget(data: str, url: str) -> None:
    client = Client()
    with CaptureQueriesContext(db) as queries:
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {data}")
    assert response.status_code == 200
    assert len(queries) <= BUDGET, [q["sql"] for q in queries]
    token = response.json()["next_page_token"]
    with CaptureQueriesContext(db) as queries:
        client.get(f"{url}&page_token={token}", HTTP_AUTHORIZATION=f"Bearer {data}")
    assert len(queries) <= BUDGET


@pytest.mark.django_db(transaction=True)  # the door closes stale connections, as in a server
def test_grpc_lists_stay_in_budget(data: str) -> None:
    context = InThreadContext(data)
    EtlTaskManagerServicer().ListTasks(
        tpb.ListTasksRequest(), context
    )  # the first gRPC call logs in
    with CaptureQueriesContext(db) as queries:
        tasks = EtlTaskManagerServicer().ListTasks(tpb.ListTasksRequest(page_size=PAGE), context)
    assert len(tasks.tasks) == PAGE and len(queries) <= BUDGET
    with CaptureQueriesContext(db) as queries:
        scripts = ScriptManagerServicer().GetAllScript(
            spb.GetAllScriptRequest(etl_task_id="t000", page_size=PAGE), context
        )
    assert len(scripts.scripts) == PAGE and len(queries) <= BUDGET
