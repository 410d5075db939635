"""``privetl createadmin`` and ``privetl token``: the command-line door of the User Manager."""

from __future__ import annotations

import io

import jwt
import pytest
from django.core.management import CommandError, call_command

from privetl.common.errors import PrivetlError
from privetl.platform.auth import authenticate_bearer, token_issue
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


def test_an_issued_token_is_audited_without_its_text(admin, alice) -> None:
    plain = _run("token", "alice", "--ttl", "120").split()[-1]
    acting = _run("token", "root", "--as", "alice").split()[-1]
    first, second = audit_entries(action="token.issue", target_id="alice")
    assert first["actor_id"] == "system"
    assert first["after"]["user_id"] == "alice" and first["after"]["impersonator_id"] is None
    assert first["after"]["ttl_seconds"] == 120
    assert second["after"]["impersonator_id"] == "root" and second["detail"] == "impersonation"
    assert second["after"]["ttl_seconds"] is None  # the configured default
    for entry, token in ((first, plain), (second, acting)):
        assert token not in str(entry)
        assert (
            entry["after"]["jti"] == jwt.decode(token, options={"verify_signature": False})["jti"]
        )


def test_a_refused_token_is_not_issued_nor_audited(admin, alice, bob) -> None:
    with pytest.raises(CommandError):
        _run("token", "bob", "--as", "alice")
    assert audit_entries(action="token.issue", target_id="alice") == []


@pytest.mark.parametrize(
    ("args", "act_as"),
    [
        (("alice",), None),
        (("root", "--as", "alice"), "alice"),
        (("bob", "--as", "alice"), "alice"),
        (("root", "--as", "carol"), "carol"),
        (("carol",), None),
        (("ghost",), None),
        (("root", "--as", "ghost"), "ghost"),
    ],
)
def test_the_command_and_authentication_apply_one_rule(admin, alice, bob, args, act_as) -> None:
    """Whatever ``privetl token`` refuses, authentication (with X-Act-As) refuses too."""
    services.user_create(actor=admin, id="carol", name="Carol")
    services.user_block(actor=admin, user_id="carol")
    try:
        _run("token", *args)
        issued = True
    except CommandError:
        issued = False
    try:
        authenticate_bearer(
            f"Bearer {token_issue(user_id=args[0])}",
            act_as=act_as,
            address=None,
            request_id="t",
            door="test",
        )
        accepted = True
    except PrivetlError:
        accepted = False
    assert issued == accepted
