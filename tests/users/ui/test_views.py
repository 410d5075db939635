"""The users admin pages: the list with roles and blocks, create a user, a user's page with
roles added and removed, Block / Unblock behind a confirmation, the login history and the
"Act as this user" form; everything ADMIN only (403, no link, nothing changed), a refused
change named at its form, empty states and bounded query counts."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from privetl.audit.models import AuditLog
from privetl.common.context import Actor
from privetl.users import services
from privetl.users.models import LoginEvent, User, UserRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client: Client, admin: Actor) -> Client:
    """The bootstrap ADMIN, signed in."""
    client.post("/ui/login/", {"user_id": "root"})
    return client


@pytest.fixture
def signed_in_bob(bob: Actor) -> Client:
    """A user without ADMIN, signed in."""
    client = Client()
    client.post("/ui/login/", {"user_id": "bob"})
    return client


def roles_of(user_id: str) -> list[str]:
    return sorted(UserRole.objects.filter(user_id=user_id).values_list("role", flat=True))


def test_the_list_shows_roles_and_blocks(
    root: Client, admin: Actor, alice: Actor, bob: Actor
) -> None:
    services.user_role_add(actor=admin, user_id="alice", role="EDIT_TASK")
    services.user_block(actor=admin, user_id="bob", reason="left")
    page = root.get("/ui/users/").content.decode()
    assert 'href="/ui/users/"' in page  # the navigation links it for an admin
    assert (
        '<td><a href="/ui/users/alice/">alice</a></td><td>Alice Requester</td>\n<td>EDIT_TASK</td>'
        in page
    )
    assert '<span class="blocked">blocked</span> <small>(left)</small>' in page
    assert "<td>ADMIN</td>" in page


def test_the_list_is_paged_with_a_bounded_query_count(
    root: Client,
    admin: Actor,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    users = [User(id=f"u{n:03d}", name=f"User {n}") for n in range(120)]
    User.objects.bulk_create(users)
    UserRole.objects.bulk_create(
        [UserRole(user_id=u.id, role="EDIT_TASK", granted_by="root") for u in users]
    )
    with django_assert_max_num_queries(7):
        first = root.get("/ui/users/").content.decode()
    assert 'href="/ui/users/root/"' in first  # "root" sorts before "u000"
    assert first.count('href="/ui/users/u') == 49
    link = re.search(r'<a href="\?page_token=([^"]+)">Next page</a>', first)
    assert link
    with django_assert_max_num_queries(7):
        second = root.get(f"/ui/users/?page_token={link.group(1)}").content.decode()
    assert 'href="/ui/users/u049/"' in second and 'href="/ui/users/u048/"' not in second


def test_a_non_admin_gets_no_link_and_403_everywhere_and_changes_nothing(
    signed_in_bob: Client, admin: Actor, alice: Actor
) -> None:
    client = signed_in_bob
    assert 'href="/ui/users/"' not in client.get("/ui/").content.decode()
    records = AuditLog.objects.filter(outcome="success").count()
    for url in ("/ui/users/", "/ui/users/alice/", "/ui/users/bob/"):
        assert client.get(url).status_code == 403
    posts = [
        ("/ui/users/create/", {"id": "eve", "name": "Eve"}),
        ("/ui/users/alice/roles/add/", {"role": "ADMIN"}),
        ("/ui/users/root/roles/remove/", {"role": "ADMIN"}),
        ("/ui/users/alice/block/", {"reason": "x"}),
        ("/ui/users/alice/unblock/", {}),
    ]
    for url, body in posts:
        response = client.post(url, body)
        assert response.status_code == 403, url
        assert "only an ADMIN" in response.content.decode()
    assert not User.objects.filter(id="eve").exists()
    assert roles_of("alice") == [] and roles_of("root") == ["ADMIN"]
    assert not User.objects.get(id="alice").blocked
    assert AuditLog.objects.filter(outcome="success").count() == records


def test_create_a_user_then_land_on_their_page(root: Client) -> None:
    response = root.post(
        "/ui/users/create/", {"id": "carol", "name": "Carol Analyst", "email": "carol@example.test"}
    )
    assert response["Location"] == "/ui/users/carol/"
    page = root.get("/ui/users/carol/").content.decode()
    assert "User carol created" in page and "Carol Analyst" in page
    assert "No roles yet" in page and "carol has not signed in yet" in page
    assert User.objects.get(id="carol").email == "carol@example.test"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"id": "bad id!", "name": "X"}, "id", "id"),
        ({"id": "alice", "name": "Again"}, "id", "already exists"),
        ({"id": "dave", "name": ""}, "name", "name"),
        ({"id": "dave", "name": "Dave", "email": "not-an-address"}, "email", "e-mail"),
    ],
)
def test_a_bad_new_user_is_named_at_its_field_and_nothing_is_created(
    root: Client, alice: Actor, body: dict[str, str], field: str, says: str
) -> None:
    users = User.objects.count()
    response = root.post("/ui/users/create/", body)
    assert response.status_code in (400, 409)
    page = response.content.decode()
    error = re.search(rf'<p class="field-error" id="error-{field}">([^<]*)</p>', page)
    assert error and says in error.group(1).lower()
    for name, value in body.items():  # what was typed is kept
        assert f'name="{name}" type="text"' in page and f'value="{value}"' in page
    assert User.objects.count() == users
    assert User.objects.get(id="alice").name == "Alice Requester"


def test_add_and_remove_a_role(root: Client, alice: Actor) -> None:
    page = root.get("/ui/users/alice/").content.decode()
    assert '<option value="MANAGE_DATA">' in page
    response = root.post("/ui/users/alice/roles/add/", {"role": "MANAGE_DATA"})
    assert response["Location"] == "/ui/users/alice/"
    assert roles_of("alice") == ["MANAGE_DATA"]
    page = root.get("/ui/users/alice/").content.decode()
    assert "alice now holds MANAGE_DATA." in page
    assert 'aria-label="Remove MANAGE_DATA from alice"' in page
    assert '<option value="MANAGE_DATA">' not in page  # held roles are not offered again
    root.post("/ui/users/alice/roles/remove/", {"role": "MANAGE_DATA"})
    assert roles_of("alice") == []
    assert "alice no longer holds MANAGE_DATA." in root.get("/ui/users/alice/").content.decode()
    changes = AuditLog.objects.filter(target_id="alice", action__startswith="user.role")
    assert [r.actor_user_id for r in changes] == ["root", "root"]


def test_an_unknown_role_is_named_at_the_form_and_nothing_changes(
    root: Client, alice: Actor
) -> None:
    response = root.post("/ui/users/alice/roles/add/", {"role": "SUPERUSER"})
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'id="error-role_add">[^<]*SUPERUSER', page)
    assert roles_of("alice") == []


def test_the_last_admin_keeps_the_role_and_is_told_why(root: Client) -> None:
    response = root.post("/ui/users/root/roles/remove/", {"role": "ADMIN"})
    assert response.status_code == 409
    assert re.search(r'id="error-role_remove">[^<]*last ADMIN', response.content.decode())
    assert roles_of("root") == ["ADMIN"]


def test_block_and_unblock_behind_a_confirmation(root: Client, alice: Actor) -> None:
    alice_client = Client()
    alice_client.post("/ui/login/", {"user_id": "alice"})
    page = root.get("/ui/users/alice/").content.decode()
    assert "<summary" in page and "Yes, block alice" in page  # asked before it is done
    response = root.post("/ui/users/alice/block/", {"reason": "left the team"})
    assert response["Location"] == "/ui/users/alice/"
    blocked = User.objects.get(id="alice")
    assert (blocked.blocked, blocked.blocked_reason) == (True, "left the team")
    page = root.get("/ui/users/alice/").content.decode()
    assert "alice is blocked" in page and "Yes, unblock alice" in page
    assert "Act as this user" not in page  # a blocked user cannot be acted as
    assert alice_client.get("/ui/")["Location"] == "/ui/login/"  # her session ends
    root.post("/ui/users/alice/unblock/")
    assert not User.objects.get(id="alice").blocked
    assert "alice is unblocked" in root.get("/ui/users/alice/").content.decode()


def test_a_bad_block_reason_is_named_at_the_confirmation_and_kept(
    root: Client, alice: Actor
) -> None:
    response = root.post("/ui/users/alice/block/", {"reason": "x" * 501})
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'<details class="confirm" open>', page)  # the confirmation stays open
    assert re.search(r'id="error-block">[^<]*reason', page)
    assert f'value="{"x" * 501}"' in page
    assert not User.objects.get(id="alice").blocked


def test_an_admin_cannot_block_themself(root: Client) -> None:
    page = root.get("/ui/users/root/").content.decode()
    assert "Yes, block root" not in page and "you cannot block yourself" in page
    response = root.post("/ui/users/root/block/", {"reason": "oops"})
    assert response.status_code == 409
    assert re.search(r'id="error-block">[^<]*cannot block yourself', response.content.decode())
    assert not User.objects.get(id="root").blocked


def test_the_page_offers_to_act_as_the_user(root: Client, alice: Actor) -> None:
    page = root.get("/ui/users/alice/").content.decode()
    form = re.search(r'<form method="post" action="/ui/impersonate/">(.*?)</form>', page, re.S)
    assert form
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert '<input type="hidden" name="user_id" value="alice">' in form.group(1)
    assert "Act as this user" in form.group(1)


def test_the_login_history_is_paged(
    root: Client,
    alice: Actor,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    LoginEvent.objects.bulk_create(
        [
            LoginEvent(
                user_id="alice",
                door="api",
                issuer="local",
                success=n % 5 != 0,
                reason="" if n % 5 else "blocked user",
                address=f"10.0.0.{n}",
            )
            for n in range(30)
        ]
    )
    with django_assert_max_num_queries(10):
        page = root.get("/ui/users/alice/").content.decode()
    assert page.count("<td>api</td>") == 20
    assert "refused</span> (blocked user)" in page and "signed in" in page
    link = re.search(r'<a href="\?logins_page_token=([^"]+)">Next page of logins</a>', page)
    assert link
    second = root.get(f"/ui/users/alice/?logins_page_token={link.group(1)}").content.decode()
    assert second.count("<td>api</td>") == 10


def test_an_unknown_user_is_404(root: Client) -> None:
    assert root.get("/ui/users/nobody/").status_code == 404
    assert root.post("/ui/users/nobody/roles/add/", {"role": "EDIT_TASK"}).status_code == 404


def test_changes_need_a_csrf_token(admin: Actor, alice: Actor) -> None:
    client = Client(enforce_csrf_checks=True)
    client.post("/ui/login/", {"user_id": "root"})
    assert client.post("/ui/users/alice/block/", {"reason": "x"}).status_code == 403
    assert not User.objects.get(id="alice").blocked
