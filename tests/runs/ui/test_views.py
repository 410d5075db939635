"""The runs' UI door: the role rule of the selector (403 without it), empty state, query count."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from privetl.users.models import User, UserRole

pytestmark = pytest.mark.django_db


def _login(client: Client, user_id: str, *roles: str) -> None:
    user = User.objects.create(id=user_id)
    for role in roles:
        UserRole.objects.create(user=user, role=role)
    client.post("/ui/login/", {"user_id": user_id})


def test_runs_need_a_history_role(client: Client) -> None:
    _login(client, "bob")
    assert client.get("/ui/runs/").status_code == 403


def test_runs_empty_state_and_query_count(client: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    _login(client, "alice", "PROCESS_ETL_TASK")
    with django_assert_max_num_queries(6):
        page = client.get("/ui/runs/").content.decode()
    assert "No runs yet" in page


def _run(task_id: str = "t1") -> str:
    """A finished run row as the worker leaves it (the tasks row it belongs to included)."""
    from privetl.runs.models import Run
    from tests.scripts.helpers import task_row

    task_row(task_id)
    report = {
        "tables": [{"table": "customers", "rows_in": 200, "rows_out": 180}],
        "rules": [
            {"table": "customers", "rule": "fill", "column": "zip", "rows_affected": 4},
            {"table": "customers", "rule": "k_suppression", "column": None, "rows_affected": 16},
            {"table": "orders", "rule": "foreign_key", "column": None, "rows_affected": 0},
        ],
    }
    return Run.objects.create(
        id="r1",
        task_id=task_id,
        module_sha256="0" * 64,
        state="AWAITING_UPLOAD",
        stages_done=["extract", "clean"],
        timings={"extract": 1.5, "clean": 6.0},
        rows_in=200,
        rows_out=180,
        report_json=json.dumps(report),
        started_by="tom",
    ).id


def test_a_run_page_draws_its_stages_and_rules_with_their_figures(
    client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    run_id = _run()
    _login(client, "dana", "MANAGE_DATA")
    assert f'href="/ui/runs/{run_id}/"' in client.get("/ui/runs/").content.decode()
    with django_assert_max_num_queries(6):
        page = client.get(f"/ui/runs/{run_id}/").content.decode()
    # Bars scaled to the largest value: clean (6.0 s) fills the 400 units, extract a quarter.
    assert 'width="400.0"' in page and 'width="100.0"' in page
    assert "<td>clean</td><td>6.0 s</td>" in page  # the chart's numbers as a table
    assert "customers.zip: fill" in page and "<td>16</td>" in page
    assert "orders: foreign_key" not in page  # a rule that touched no row is no bar
    assert "<td>customers</td><td>200</td><td>180</td>" in page


def test_a_run_page_needs_a_history_role_and_an_existing_run(client: Client) -> None:
    run_id = _run()
    _login(client, "bob")
    assert client.get(f"/ui/runs/{run_id}/").status_code == 403
    client.post("/ui/logout/")
    _login(client, "tom", "PROCESS_ETL_TASK")
    assert client.get("/ui/runs/nope/").status_code == 404
    page = client.get(f"/ui/runs/{run_id}/").content.decode()
    assert "AWAITING_UPLOAD" in page
