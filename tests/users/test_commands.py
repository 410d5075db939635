"""``privetl createadmin`` and ``privetl token``: the command-line door of the User Manager."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from privetl.platform.auth import authenticate_bearer
from privetl.users import selectors, services
from privetl.users.models import User
from tests.users.audit_helpers import audit_entries
from tests.users.conftest import actor_for

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createadmin_creates_then_is_safe_to_repeat(db) -> None:
    assert "created admin 'root'" in _run("createadmin", "root", "Root Admin")
    assert selectors.user_get_for_auth("root").roles == {"ADMIN"}
    assert "already an admin: nothing changed" in _run("createadmin", "root", "Other Name")
    assert User.objects.get(pk="root").name == "Root Admin"
    [created, repeated] = audit_entries(action="user.bootstrap_admin", target_id="root")
    assert created["actor_id"] == "system" and repeated["detail"].endswith("already ADMIN")


def test_createadmin_promotes_an_existing_user_and_says_so(admin) -> None:
    services.user_create(actor=admin, id="alice", name="Alice")
    assert "already existed: granted ADMIN" in _run("createadmin", "alice", "ignored")
    assert "ADMIN" in selectors.user_get_for_auth("alice").roles


def test_createadmin_rejects_bad_id(db) -> None:
    with pytest.raises(CommandError, match="id"):
        _run("createadmin", "bad id", "X")
    assert not User.objects.exists()


def _actor_of(token: str):
    return authenticate_bearer(
        f"Bearer {token}", act_as=None, address="127.0.0.1", request_id="t", door="test"
    )


def test_token_is_the_last_word_and_names_the_user(admin, alice) -> None:
    output = _run("token", "alice")
    actor = _actor_of(output.split()[-1])
    assert actor.user_id == "alice" and actor.impersonator_id is None


def test_token_as_another_user_needs_admin(admin, alice, bob) -> None:
    actor = _actor_of(_run("token", "root", "--as", "alice", "--ttl", "60").split()[-1])
    assert (actor.user_id, actor.impersonator_id) == ("alice", "root")
    with pytest.raises(CommandError, match="positive"):
        _run("token", "alice", "--ttl", "0")
    with pytest.raises(CommandError, match="ADMIN"):
        _run("token", "bob", "--as", "alice")
    with pytest.raises(CommandError, match="does not exist"):
        _run("token", "ghost")
    services.user_block(actor=actor_for("root", "ADMIN"), user_id="alice")
    with pytest.raises(CommandError, match="blocked"):
        _run("token", "alice")
