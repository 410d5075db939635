"""The platform's UI door: local login, a blocked user refused, logout, CSRF, the dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from privetl.users.models import LoginEvent, User, UserRole

pytestmark = pytest.mark.django_db


def _user(user_id: str, *, blocked: bool = False, roles: tuple[str, ...] = ()) -> User:
    user = User.objects.create(id=user_id, blocked=blocked)
    for role in roles:
        UserRole.objects.create(user=user, role=role)
    return user


def test_root_redirects_to_the_ui(client: Client) -> None:
    assert client.get("/")["Location"] == "/ui/"


def test_dashboard_needs_a_login(client: Client) -> None:
    assert client.get("/ui/")["Location"] == "/ui/login/"


def test_local_login_then_dashboard_empty_state_then_logout(client: Client) -> None:
    _user("alice", roles=("PROCESS_ETL_TASK",))
    response = client.post("/ui/login/", {"user_id": "alice"})
    assert response["Location"] == "/ui/"
    page = client.get("/ui/").content.decode()
    assert "No task yet" in page and "No run in progress" in page
    assert "alice" in page
    client.post("/ui/logout/")
    assert client.get("/ui/")["Location"] == "/ui/login/"


def test_without_run_rights_the_dashboard_says_which_role(client: Client) -> None:
    _user("bob")
    client.post("/ui/login/", {"user_id": "bob"})
    page = client.get("/ui/").content.decode()
    assert "ask an admin" in page
    assert 'href="/ui/runs/"' not in page  # no link to a page that would refuse him


def test_with_run_rights_the_navigation_links_the_runs(client: Client) -> None:
    _user("alice", roles=("MANAGE_DATA",))
    client.post("/ui/login/", {"user_id": "alice"})
    assert 'href="/ui/runs/"' in client.get("/ui/").content.decode()


def test_a_blocked_user_is_refused(client: Client) -> None:
    _user("mallory", blocked=True)
    response = client.post("/ui/login/", {"user_id": "mallory"})
    assert response.status_code == 401
    assert "blocked" in response.content.decode()
    refused = LoginEvent.objects.get(user_id="mallory")
    assert (refused.door, refused.success, refused.reason) == ("ui", False, "blocked user")


def test_a_login_is_in_the_users_login_history(client: Client) -> None:
    _user("alice")
    client.post("/ui/login/", {"user_id": "alice"})
    event = LoginEvent.objects.get(user_id="alice")
    assert (event.door, event.issuer, event.success) == ("ui", "local", True)


def test_a_user_blocked_after_login_loses_the_session(client: Client) -> None:
    user = _user("carol")
    client.post("/ui/login/", {"user_id": "carol"})
    user.blocked = True
    user.save(update_fields=["blocked"])
    assert client.get("/ui/")["Location"] == "/ui/login/"


def test_login_without_csrf_token_is_refused() -> None:
    _user("dave")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/ui/login/", {"user_id": "dave"}).status_code == 403


def test_dashboard_query_count(client: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    _user("erin", roles=("PROCESS_ETL_TASK",))
    client.post("/ui/login/", {"user_id": "erin"})
    with django_assert_max_num_queries(6):
        client.get("/ui/")


def test_an_expired_session_asks_for_a_login_again(client: Client) -> None:
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    _user("erin")
    client.post("/ui/login/", {"user_id": "erin"})
    assert client.get("/ui/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/ui/")["Location"] == "/ui/login/"


def test_htmx_and_the_stylesheet_come_from_the_platform_itself(client: Client) -> None:
    assert client.get("/static/django_htmx/htmx-2.min.js").status_code == 200
    assert client.get("/static/platform/privetl.css").status_code == 200
