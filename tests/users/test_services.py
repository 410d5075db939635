"""The writers of the User Manager, on a real database (SQLite, and PostgreSQL in its pass)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from privetl.audit.models import AuditLog
from privetl.common.context import Actor
from privetl.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from privetl.users import selectors, services
from privetl.users.models import (
    AccessRequest,
    AccessState,
    ExternalIdentity,
    LoginEvent,
    LoginRefusal,
    User,
    UserRole,
)
from tests.users.conftest import actor_for

pytestmark = pytest.mark.django_db


# --- users ----------------------------------------------------------------------------


def test_create_user_with_chosen_id(admin: Actor) -> None:
    user = services.user_create(actor=admin, id="team.lead@corp:42", name="  Team Lead ")
    assert User.objects.get(pk="team.lead@corp:42").name == "Team Lead"
    assert user.blocked is False


@pytest.mark.parametrize(
    ("user_id", "name", "field"),
    [
        ("", "Name", "id"),
        ("x" * 65, "Name", "id"),
        ("has space", "Name", "id"),
        ("slash/no", "Name", "id"),
        ("ünïcode", "Name", "id"),
        ("ok", "", "name"),
        ("ok", "   ", "name"),
        ("ok", "n" * 201, "name"),
        ("ok", "bell\x07", "name"),
    ],
)
def test_create_user_rejects_bad_input_and_changes_nothing(
    admin: Actor, user_id: str, name: str, field: str
) -> None:
    before = User.objects.count()
    with pytest.raises(InvalidArgument) as exc:
        services.user_create(actor=admin, id=user_id, name=name)
    assert exc.value.field == field
    assert field in exc.value.message
    assert User.objects.count() == before


def test_create_user_limits_are_inclusive(admin: Actor) -> None:
    services.user_create(actor=admin, id="x" * 64, name="n" * 200)
    assert User.objects.filter(pk="x" * 64).exists()


def test_create_user_duplicate_is_already_exists(admin: Actor, alice: Actor) -> None:
    with pytest.raises(AlreadyExists) as exc:
        services.user_create(actor=admin, id="alice", name="Another Alice")
    assert exc.value.field == "id"
    assert User.objects.get(pk="alice").name == "Alice Requester"


def test_create_user_needs_admin(alice: Actor) -> None:
    with pytest.raises(PermissionDenied):
        services.user_create(actor=alice, id="mallory", name="Mallory")
    assert not User.objects.filter(pk="mallory").exists()


def test_create_user_rejects_bad_email(admin: Actor) -> None:
    with pytest.raises(InvalidArgument) as exc:
        services.user_create(actor=admin, id="eve", name="Eve", email="not-an-address")
    assert exc.value.field == "email"


def test_roles_are_a_set_and_admin_only(admin: Actor, alice: Actor) -> None:
    assert services.user_role_add(actor=admin, user_id="alice", role="EDIT_TASK").changed is True
    assert services.user_role_add(actor=admin, user_id="alice", role="MANAGE_DATA").changed is True
    assert services.user_role_add(actor=admin, user_id="alice", role="EDIT_TASK").changed is False
    assert selectors.user_get_for_auth("alice").roles == {"EDIT_TASK", "MANAGE_DATA"}
    assert services.user_role_remove(actor=admin, user_id="alice", role="EDIT_TASK").changed is True
    assert (
        services.user_role_remove(actor=admin, user_id="alice", role="EDIT_TASK").changed is False
    )
    assert selectors.user_get_for_auth("alice").roles == {"MANAGE_DATA"}
    with pytest.raises(PermissionDenied):
        services.user_role_add(
            actor=actor_for("alice", "MANAGE_DATA"), user_id="alice", role="ADMIN"
        )
    with pytest.raises(InvalidArgument) as exc:
        services.user_role_add(actor=admin, user_id="alice", role="SUPERUSER")
    assert exc.value.field == "role"
    with pytest.raises(NotFound):
        services.user_role_add(actor=admin, user_id="nobody", role="EDIT_TASK")


def test_last_admin_keeps_the_role(admin: Actor, alice: Actor) -> None:
    with pytest.raises(FailedPrecondition):
        services.user_role_remove(actor=admin, user_id="root", role="ADMIN")
    services.user_role_add(actor=admin, user_id="alice", role="ADMIN")
    assert services.user_role_remove(actor=admin, user_id="root", role="ADMIN").changed is True


def test_block_and_unblock(admin: Actor, alice: Actor) -> None:
    services.user_block(actor=admin, user_id="alice", reason="left the company")
    assert selectors.user_get_for_auth("alice").blocked is True
    with pytest.raises(FailedPrecondition):
        services.user_block(actor=admin, user_id="root")
    with pytest.raises(PermissionDenied):
        services.user_unblock(actor=alice, user_id="alice")
    services.user_unblock(actor=admin, user_id="alice")
    assert selectors.user_get_for_auth("alice").blocked is False


def test_bootstrap_admin_is_idempotent_and_promotes_existing(admin: Actor, alice: Actor) -> None:
    _, created, granted = services.user_bootstrap_admin(id="root", name="ignored")
    assert (created, granted) == (False, False)
    _, created, granted = services.user_bootstrap_admin(id="alice", name="ignored")
    assert (created, granted) == (False, True)
    assert User.objects.get(pk="alice").name == "Alice Requester"
    assert "ADMIN" in selectors.user_get_for_auth("alice").roles


# --- authentication support ------------------------------------------------------------


def test_user_get_for_auth_unknown_is_not_found(db) -> None:
    with pytest.raises(NotFound):
        selectors.user_get_for_auth("ghost")


def test_provision_from_claims_creates_once(db) -> None:
    claims = {"preferred_username": "carol", "name": "Carol C", "email": "carol@example.test"}
    first = services.user_provision_from_claims(
        issuer="https://sso.example.test/realms/x", subject="abc-1", claims=claims
    )
    again = services.user_provision_from_claims(
        issuer="https://sso.example.test/realms/x",
        subject="abc-1",
        claims={**claims, "name": "Renamed"},
    )
    assert first == again == "carol"
    user = User.objects.get(pk="carol")
    assert (user.name, user.email) == ("Carol C", "carol@example.test")
    assert ExternalIdentity.objects.filter(user=user).count() == 1
    assert not UserRole.objects.filter(user=user).exists()


def test_provision_never_takes_over_an_existing_account(admin: Actor, alice: Actor) -> None:
    user_id = services.user_provision_from_claims(
        issuer="https://idp.example.test", subject="s-99", claims={"preferred_username": "alice"}
    )
    assert user_id == "idp.example.test:s-99"
    assert User.objects.get(pk="alice").name == "Alice Requester"


def test_provision_with_unusable_subject_gets_a_valid_id(db) -> None:
    user_id = services.user_provision_from_claims(
        issuer="https://idp.example.test", subject="weird subject/with spaces", claims={}
    )
    assert services.ID_PATTERN.fullmatch(user_id)
    assert user_id == services.user_provision_from_claims(
        issuer="https://idp.example.test", subject="weird subject/with spaces", claims={}
    )


def test_provision_ignores_unverified_email(db) -> None:
    user_id = services.user_provision_from_claims(
        issuer="https://idp.example.test",
        subject="s1",
        claims={"preferred_username": "dan", "email": "dan@example.test", "email_verified": False},
    )
    assert User.objects.get(pk=user_id).email == ""


def test_login_record_appends_history(alice: Actor) -> None:
    services.login_record(
        user_id="alice", issuer="privetl", address="127.0.0.1", door="rest", success=True
    )
    services.login_record(
        user_id="alice",
        issuer="privetl",
        address=None,
        door="grpc",
        success=False,
        reason="blocked",
    )
    events = selectors.login_events_for_actor(actor=alice, user_id="alice").items
    assert [(e.door, e.success, e.reason) for e in events] == [
        ("grpc", False, "blocked"),
        ("rest", True, ""),
    ]
    with pytest.raises(PermissionDenied):
        selectors.login_events_for_actor(actor=actor_for("bob"), user_id="alice")
    assert LoginEvent.objects.count() == 2


# --- filing ---------------------------------------------------------------------------


def test_file_request_is_pending_and_not_a_grant(alice: Actor, olga: Actor) -> None:
    request = services.access_request_file(
        actor=alice,
        user_id="alice",
        ext_datamodule_id="customers",
        access_types=["READ"],
        reason="churn model",
    )
    assert request.state == AccessState.PENDING
    view = selectors.user_get_for_actor(actor=alice, user_id="alice")
    assert view.grants == []
    assert [r.id for r in view.other_requests] == [request.id]


def test_file_request_with_chosen_id_and_duplicate(alice: Actor) -> None:
    services.access_request_file(
        actor=alice,
        user_id="alice",
        ext_datamodule_id="customers",
        access_types=["READ"],
        request_id="req-1",
    )
    with pytest.raises(AlreadyExists) as exc:
        services.access_request_file(
            actor=alice,
            user_id="alice",
            ext_datamodule_id="orders",
            access_types=["READ"],
            request_id="req-1",
        )
    assert exc.value.field == "access.id"
    assert AccessRequest.objects.count() == 1
    assert AccessRequest.objects.filter(pk="req-1", ext_datamodule_id="customers").exists()


def test_identical_pending_request_is_refused(alice: Actor) -> None:
    services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["READ"]
    )
    with pytest.raises(AlreadyExists):
        services.access_request_file(
            actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["READ"]
        )
    services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["READ", "WRITE"]
    )
    assert AccessRequest.objects.filter(user_id="alice").count() == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ext_datamodule_id": ""}, "access.ext_datamodule_id"),
        ({"ext_datamodule_id": "m" * 65}, "access.ext_datamodule_id"),
        ({"access_types": []}, "access.access_types"),
        ({"access_types": ["READ", "ADMIN"]}, "access.access_types"),
        ({"expires_at": "past"}, "access.expires_at"),
        ({"expires_at": "naive"}, "access.expires_at"),
        ({"request_id": "bad id"}, "access.id"),
        ({"user_id": ""}, "user_id"),
    ],
)
def test_file_request_rejects_bad_input(alice: Actor, kwargs: dict, field: str) -> None:
    args = {"user_id": "alice", "ext_datamodule_id": "customers", "access_types": ["READ"]}
    args.update(kwargs)
    if args.get("expires_at") == "past":
        args["expires_at"] = timezone.now() - dt.timedelta(seconds=1)
    elif args.get("expires_at") == "naive":
        args["expires_at"] = dt.datetime(2999, 1, 1)
    with pytest.raises(InvalidArgument) as exc:
        services.access_request_file(actor=alice, **args)
    assert exc.value.field == field
    assert not AccessRequest.objects.exists()


def test_file_request_only_for_yourself_unless_admin(
    admin: Actor, alice: Actor, bob: Actor
) -> None:
    with pytest.raises(PermissionDenied):
        services.access_request_file(
            actor=bob, user_id="alice", ext_datamodule_id="customers", access_types=["READ"]
        )
    filed = services.access_request_file(
        actor=admin, user_id="alice", ext_datamodule_id="customers", access_types=["READ"]
    )
    assert filed.user_id == "alice"
    with pytest.raises(NotFound):
        services.access_request_file(
            actor=admin, user_id="nobody", ext_datamodule_id="customers", access_types=["READ"]
        )


# --- deciding -------------------------------------------------------------------------


def _file(
    actor: Actor, module: str = "customers", types: tuple[str, ...] = ("READ",), **kw
) -> AccessRequest:
    return services.access_request_file(
        actor=actor, user_id=actor.user_id, ext_datamodule_id=module, access_types=list(types), **kw
    )


def test_owner_approves_and_grant_appears(alice: Actor, olga: Actor) -> None:
    request = _file(alice)
    decided = services.access_request_decide(
        actor=olga,
        access_request_id=request.id,
        owner_user_id="olga",
        approve=True,
        note="ok for Q3",
    )
    assert (decided.state, decided.decided_by, decided.decision_note) == (
        "approved",
        "olga",
        "ok for Q3",
    )
    view = selectors.user_get_for_actor(actor=alice, user_id="alice")
    assert [g.id for g in view.grants] == [request.id]
    assert view.other_requests == []


def test_owner_denies(alice: Actor, olga: Actor) -> None:
    request = _file(alice)
    services.access_request_decide(
        actor=olga, access_request_id=request.id, owner_user_id="olga", approve=False
    )
    view = selectors.user_get_for_actor(actor=alice, user_id="alice")
    assert view.grants == []
    assert [selectors.access_request_effective_state(r) for r in view.other_requests] == ["denied"]


def test_forged_owner_user_id_is_permission_denied(alice: Actor, olga: Actor, bob: Actor) -> None:
    request = _file(alice)
    with pytest.raises(PermissionDenied):
        services.access_request_decide(
            actor=bob, access_request_id=request.id, owner_user_id="olga", approve=True
        )
    assert AccessRequest.objects.get(pk=request.id).state == AccessState.PENDING


def test_missing_owner_user_id_is_invalid(alice: Actor, olga: Actor) -> None:
    request = _file(alice)
    with pytest.raises(InvalidArgument) as exc:
        services.access_request_decide(
            actor=olga, access_request_id=request.id, owner_user_id="", approve=True
        )
    assert exc.value.field == "owner_user_id"


def test_non_owner_cannot_decide(alice: Actor, olga: Actor, bob: Actor) -> None:
    request = _file(alice)
    with pytest.raises(PermissionDenied):
        services.access_request_decide(
            actor=bob, access_request_id=request.id, owner_user_id="bob", approve=True
        )


def test_owner_of_another_module_cannot_decide(
    admin: Actor, alice: Actor, olga: Actor, bob: Actor
) -> None:
    first_owner = _file(alice, module="orders", types=("OWNER",))
    services.access_request_decide(
        actor=admin, access_request_id=first_owner.id, owner_user_id="root", approve=True
    )
    request = _file(bob, module="orders")
    with pytest.raises(PermissionDenied):
        services.access_request_decide(
            actor=olga, access_request_id=request.id, owner_user_id="olga", approve=True
        )
    services.access_request_decide(
        actor=alice, access_request_id=request.id, owner_user_id="alice", approve=True
    )


def test_self_approval_is_denied_even_for_owner_and_admin(admin: Actor, olga: Actor) -> None:
    more = _file(olga, types=("READ", "WRITE"))
    with pytest.raises(PermissionDenied):
        services.access_request_decide(
            actor=olga, access_request_id=more.id, owner_user_id="olga", approve=True
        )
    own = _file(admin, module="fresh", types=("OWNER",))
    with pytest.raises(PermissionDenied):
        services.access_request_decide(
            actor=admin, access_request_id=own.id, owner_user_id="root", approve=True
        )
    assert AccessRequest.objects.get(pk=own.id).state == AccessState.PENDING


def test_admin_impersonating_an_owner_cannot_approve_own_request(admin: Actor, olga: Actor) -> None:
    services.user_create(actor=admin, id="ann", name="Ann Admin")
    services.user_role_add(actor=admin, user_id="ann", role="ADMIN")
    request = _file(actor_for("ann", "ADMIN"))
    as_olga = actor_for("olga", impersonator_id="ann")
    with pytest.raises(PermissionDenied):
        services.access_request_decide(
            actor=as_olga, access_request_id=request.id, owner_user_id="olga", approve=True
        )


def test_admin_bootstraps_first_owner_only(admin: Actor, alice: Actor, olga: Actor) -> None:
    # "customers" has an owner (olga): the admin may no longer decide there.
    request = _file(alice)
    with pytest.raises(PermissionDenied):
        services.access_request_decide(
            actor=admin, access_request_id=request.id, owner_user_id="root", approve=True
        )
    # "orders" has none: the admin makes alice its first owner.
    first = _file(alice, module="orders", types=("OWNER",))
    services.access_request_decide(
        actor=admin, access_request_id=first.id, owner_user_id="root", approve=True
    )
    assert selectors.module_owner_ids("orders") == ["alice"]


def test_decided_request_cannot_be_decided_again(alice: Actor, olga: Actor) -> None:
    request = _file(alice)
    services.access_request_decide(
        actor=olga, access_request_id=request.id, owner_user_id="olga", approve=False
    )
    with pytest.raises(FailedPrecondition):
        services.access_request_decide(
            actor=olga, access_request_id=request.id, owner_user_id="olga", approve=True
        )
    assert AccessRequest.objects.get(pk=request.id).state == AccessState.DENIED


def test_unknown_request_is_not_found(olga: Actor) -> None:
    with pytest.raises(NotFound):
        services.access_request_decide(
            actor=olga, access_request_id="nope", owner_user_id="olga", approve=True
        )


# --- expiry ---------------------------------------------------------------------------


def test_grant_past_its_expiry_is_no_grant(alice: Actor, olga: Actor) -> None:
    request = _file(alice, expires_at=timezone.now() + dt.timedelta(days=1))
    services.access_request_decide(
        actor=olga, access_request_id=request.id, owner_user_id="olga", approve=True
    )
    assert [g.id for g in selectors.user_current_grants("alice")] == [request.id]
    AccessRequest.objects.filter(pk=request.id).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert selectors.user_current_grants("alice") == []
    view = selectors.user_get_for_actor(actor=alice, user_id="alice")
    assert view.grants == []
    assert [selectors.access_request_effective_state(r) for r in view.other_requests] == ["expired"]


def test_grant_expires_by_the_clock(alice: Actor, olga: Actor) -> None:
    request = _file(alice, expires_at=timezone.now() + dt.timedelta(seconds=2))
    services.access_request_decide(
        actor=olga, access_request_id=request.id, owner_user_id="olga", approve=True
    )
    assert selectors.user_get_for_actor(actor=alice, user_id="alice").grants
    time.sleep(max(0.0, (request.expires_at - timezone.now()).total_seconds()) + 0.05)
    assert not selectors.user_get_for_actor(actor=alice, user_id="alice").grants
    # an expired owner grant no longer lets its holder decide
    assert not selectors.user_is_module_owner("alice", "customers")


def test_expired_owner_cannot_decide(admin: Actor, alice: Actor, olga: Actor, bob: Actor) -> None:
    request = _file(bob)
    AccessRequest.objects.filter(user_id="olga", owner=True).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(PermissionDenied):
        services.access_request_decide(
            actor=olga, access_request_id=request.id, owner_user_id="olga", approve=True
        )
    # the module is ownerless again: the admin bootstrap applies
    services.access_request_decide(
        actor=admin, access_request_id=request.id, owner_user_id="root", approve=True
    )


def test_pending_request_past_its_expiry_cannot_be_approved(alice: Actor, olga: Actor) -> None:
    request = _file(alice, expires_at=timezone.now() + dt.timedelta(days=1))
    AccessRequest.objects.filter(pk=request.id).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(FailedPrecondition):
        services.access_request_decide(
            actor=olga, access_request_id=request.id, owner_user_id="olga", approve=True
        )


# --- removing -------------------------------------------------------------------------


def test_requester_withdraws_pending(alice: Actor, olga: Actor) -> None:
    request = _file(alice)
    [removed] = services.access_request_remove(
        actor=alice, user_id="alice", access_request_id=request.id
    )
    assert removed.state == AccessState.WITHDRAWN
    with pytest.raises(FailedPrecondition):
        services.access_request_decide(
            actor=olga, access_request_id=request.id, owner_user_id="olga", approve=True
        )
    with pytest.raises(FailedPrecondition):
        services.access_request_remove(actor=alice, user_id="alice", access_request_id=request.id)


def test_owner_may_not_withdraw_pending_but_may_revoke_grant(
    alice: Actor, olga: Actor, bob: Actor
) -> None:
    request = _file(alice)
    with pytest.raises(PermissionDenied):
        services.access_request_remove(actor=olga, user_id="alice", access_request_id=request.id)
    services.access_request_decide(
        actor=olga, access_request_id=request.id, owner_user_id="olga", approve=True
    )
    # bob may not know of alice's grant: answered as if it did not exist (issue 10, "Rights")
    with pytest.raises(NotFound):
        services.access_request_remove(actor=bob, user_id="alice", access_request_id=request.id)
    [revoked] = services.access_request_remove(
        actor=olga, user_id="alice", access_request_id=request.id
    )
    assert revoked.state == AccessState.REVOKED
    assert selectors.user_current_grants("alice") == []


def test_holder_and_admin_revoke(admin: Actor, alice: Actor, olga: Actor) -> None:
    first, second = _file(alice), _file(alice, types=("WRITE",))
    for r in (first, second):
        services.access_request_decide(
            actor=olga, access_request_id=r.id, owner_user_id="olga", approve=True
        )
    services.access_request_remove(actor=alice, user_id="alice", access_request_id=first.id)
    services.access_request_remove(actor=admin, user_id="alice", access_request_id=second.id)
    assert selectors.user_current_grants("alice") == []


def test_remove_by_module_and_types_for_old_clients(alice: Actor, olga: Actor) -> None:
    request = _file(alice, types=("READ", "WRITE"))
    services.access_request_decide(
        actor=olga, access_request_id=request.id, owner_user_id="olga", approve=True
    )
    with pytest.raises(NotFound):  # types must match exactly
        services.access_request_remove(
            actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["READ"]
        )
    [revoked] = services.access_request_remove(
        actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["WRITE", "READ"]
    )
    assert revoked.id == request.id and revoked.state == AccessState.REVOKED


def test_remove_id_of_another_user_is_not_found(alice: Actor, bob: Actor) -> None:
    request = _file(alice)
    with pytest.raises(NotFound):
        services.access_request_remove(actor=bob, user_id="bob", access_request_id=request.id)
    assert AccessRequest.objects.get(pk=request.id).state == AccessState.PENDING


def test_provision_second_issuer_on_same_host_gets_its_own_user(db) -> None:
    first = services.user_provision_from_claims(
        issuer="https://sso.example.test/realms/a", subject="42", claims={}
    )
    second = services.user_provision_from_claims(
        issuer="https://sso.example.test/realms/b", subject="42", claims={}
    )
    assert first == "sso.example.test:42"
    assert second != first and services.ID_PATTERN.fullmatch(second)
    assert (
        ExternalIdentity.objects.get(issuer="https://sso.example.test/realms/b").user_id == second
    )


# --- audit ----------------------------------------------------------------------------


def test_every_change_is_audited_with_before_and_after(
    admin: Actor, alice: Actor, olga: Actor
) -> None:
    from tests.users.audit_helpers import audit_entries

    [created] = audit_entries(action="user.create", target_id="alice")
    assert created["actor_id"] == "root" and created["before"] is None
    assert created["after"]["name"] == "Alice Requester" and "alice@example.test" not in str(
        created
    )

    services.user_role_add(actor=admin, user_id="alice", role="EDIT_TASK")
    services.user_role_add(actor=admin, user_id="alice", role="EDIT_TASK")
    added, again = audit_entries(action="user.role_add", target_id="alice")
    assert (added["before"]["roles"], added["after"]["roles"]) == ([], ["EDIT_TASK"])
    assert again["detail"] == "already held EDIT_TASK"
    services.user_role_remove(actor=admin, user_id="alice", role="EDIT_TASK")
    [removed] = audit_entries(action="user.role_remove", target_id="alice")
    assert removed["after"]["roles"] == []

    services.user_block(actor=admin, user_id="alice", reason="audit test")
    services.user_unblock(actor=admin, user_id="alice")
    [blocked] = audit_entries(action="user.block", target_id="alice")
    [unblocked] = audit_entries(action="user.unblock", target_id="alice")
    assert (blocked["before"]["blocked"], blocked["after"]["blocked"]) == (False, True)
    assert unblocked["after"]["blocked"] is False

    request = _file(alice)
    [filed] = audit_entries(action="access_request.file", target_id=request.id)
    assert filed["after"]["state"] == "pending" and filed["after"]["access_types"] == ["READ"]
    services.access_request_decide(
        actor=olga, access_request_id=request.id, owner_user_id="olga", approve=False
    )
    [denied] = audit_entries(action="access_request.deny", target_id=request.id)
    assert (denied["actor_id"], denied["before"]["state"], denied["after"]["state"]) == (
        "olga",
        "pending",
        "denied",
    )
    assert denied["detail"] == ""  # an owner's decision, not the bootstrap

    granted = _file(alice)
    services.access_request_decide(
        actor=olga, access_request_id=granted.id, owner_user_id="olga", approve=True
    )
    services.access_request_remove(actor=alice, user_id="alice", access_request_id=granted.id)
    [revoked] = audit_entries(action="access_request.revoke", target_id=granted.id)
    assert (revoked["before"]["state"], revoked["after"]["state"]) == ("approved", "revoked")
    pending = _file(alice)
    services.access_request_remove(actor=alice, user_id="alice", access_request_id=pending.id)
    [withdrawn] = audit_entries(action="access_request.withdraw", target_id=pending.id)
    assert withdrawn["after"]["state"] == "withdrawn"

    [bootstrap] = audit_entries(
        action="access_request.approve",
        target_id=AccessRequest.objects.get(user_id="olga", owner=True).id,
    )
    assert (
        bootstrap["detail"] == "bootstrap: module had no owner" and bootstrap["actor_id"] == "root"
    )

    user_id = services.user_provision_from_claims(
        issuer="https://idp.example.test", subject="z", claims={}
    )
    [provisioned] = audit_entries(action="user.provision", target_id=user_id)
    assert provisioned["actor_id"] == "system"


def test_a_refused_change_leaves_no_audit_record(admin: Actor, alice: Actor) -> None:
    from privetl.audit.models import AuditLog

    before = AuditLog.objects.count()
    with pytest.raises(InvalidArgument):
        services.access_request_file(
            actor=alice, user_id="alice", ext_datamodule_id="", access_types=["READ"]
        )
    with pytest.raises(AlreadyExists):
        services.user_create(actor=admin, id="alice", name="Again")
    assert AuditLog.objects.count() == before


def test_refusals_that_identified_nobody_are_counted_per_address_minute_and_reason(db) -> None:
    at = dt.datetime(2026, 12, 2, 8, 0, 5, tzinfo=dt.UTC)
    for offset in (0, 20, 54):  # one minute: one row
        services.login_refusal_record(
            host="10.0.0.7", reason="no credentials", at=at + dt.timedelta(seconds=offset)
        )
    services.login_refusal_record(host="10.0.0.7", reason="expired token", at=at)
    services.login_refusal_record(
        host="10.0.0.7", reason="no credentials", at=at + dt.timedelta(minutes=1)
    )
    # an IPv6 caller holds a /64: its addresses share one count
    services.login_refusal_record(host="2001:db8::1", reason="no credentials", at=at)
    services.login_refusal_record(host="[2001:db8::ffff:2]", reason="no credentials", at=at)
    rows = {(r.address, r.minute.minute, r.reason): r.count for r in LoginRefusal.objects.all()}
    assert rows == {
        ("10.0.0.7", 0, "no credentials"): 3,
        ("10.0.0.7", 0, "expired token"): 1,
        ("10.0.0.7", 1, "no credentials"): 1,
        ("2001:db8::/64", 0, "no credentials"): 2,
    }
    assert AuditLog.objects.count() == 0  # nobody's act: not in the audit chain
