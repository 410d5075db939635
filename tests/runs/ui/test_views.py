"""The runs' UI door: the role rule of the selector (403 without it), empty state, query count."""

from __future__ import annotations

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
